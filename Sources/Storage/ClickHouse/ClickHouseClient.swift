import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// ClickHouse's HTTP interface: statements in, TabSeparated rows out. One client per
/// process (AsyncHTTPClient's shared pool keeps connections alive between calls).
public struct ClickHouseClient: Sendable {
    public let settings: ClickHouseSettings
    private let endpoint: String
    private let authorization: String
    /// A statement's answer larger than this is refused (a runaway query must not hold
    /// the node's memory); every Veil query aggregates, so real answers are far smaller.
    static let maxResponseBytes = 256 << 20
    /// ClickHouse's default limit on a statement's length.
    static let defaultMaxQuerySize = 256 << 10
    let timeout: TimeAmount
    /// Where every statement and its answer are also written, when set: the compatibility
    /// check replays them on another ClickHouse version. Nil in production.
    var log: ClickHouseStatementLog?

    public init(settings: ClickHouseSettings, timeout: TimeAmount = .seconds(60)) throws(StorageError) {
        guard ClickHouseSQL.isIdentifier(settings.database) else {
            throw .cannotOpen(path: settings.url, reason: "clickhouse.database must be letters, digits and _ (got \(settings.database))")
        }
        guard let url = URL(string: settings.url), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil else {
            throw .cannotOpen(path: settings.url, reason: "clickhouse.url must be an http:// or https:// address")
        }
        self.settings = settings
        endpoint = settings.url.hasSuffix("/") ? String(settings.url.dropLast()) : settings.url
        authorization = "Basic " + Data("\(settings.user):\(settings.password)".utf8).base64EncodedString()
        self.timeout = timeout
    }

    /// Runs a statement that returns nothing (DDL, ALTER, INSERT … SELECT).
    public func execute(_ sql: String, database: Bool = true) async throws(StorageError) {
        _ = try await post(query: nil, body: Array(sql.utf8), database: database)
    }

    /// Runs a SELECT and returns its rows as unescaped TabSeparated fields.
    func rows(_ sql: String) async throws(StorageError) -> [[String]] {
        let bytes = try await post(query: nil, body: Array((sql + "\nFORMAT TabSeparated").utf8), database: true)
        return TabSeparated.parse(bytes)
    }

    /// Runs a statement and returns its whole answer as text (its own FORMAT clause).
    func text(_ sql: String) async throws(StorageError) -> String {
        String(decoding: try await post(query: nil, body: Array(sql.utf8), database: true), as: UTF8.self)
    }

    /// Inserts JSONEachRow lines (one object per line) into `table`.
    func insert(table: String, jsonLines: [UInt8]) async throws(StorageError) {
        _ = try await post(query: "INSERT INTO \(table) FORMAT JSONEachRow", body: jsonLines, database: true)
    }

    /// `ALTER TABLE … DELETE WHERE condition` (a mutation, run in the background). On a
    /// cluster it goes to every shard's replicated table, since a distributed table takes
    /// no mutations.
    func delete(from table: String, where condition: String) async throws(StorageError) {
        if let cluster = settings.cluster {
            try await execute("ALTER TABLE \(settings.database).\(table)_local ON CLUSTER \(cluster) DELETE WHERE \(condition)", database: false)
        } else {
            try await execute("ALTER TABLE \(table) DELETE WHERE \(condition)")
        }
    }

    /// The server's version string (a reachability check).
    public func version() async throws(StorageError) -> String {
        try await rows("SELECT version()").first?.first ?? ""
    }

    private func post(query: String?, body: [UInt8], database: Bool) async throws(StorageError) -> [UInt8] {
        var params: [String] = []
        // On a cluster every insert through a distributed table is forwarded before the
        // answer, so a 200 means the shard holds the rows (the outbox deletes a batch on it),
        // and reads and writes go to the first healthy replica of each shard, so a node reads
        // what another just wrote (a salt proposal) before replication catches up (a
        // server that holds a replica itself would otherwise read its own).
        if settings.cluster != nil { params += ["insert_distributed_sync=1", "load_balancing=in_order", "prefer_localhost_replica=0"] }
        if database { params.append("database=" + settings.database) }
        if let query { params.append("query=" + (query.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? "")) }
        // A statement (not insert data) longer than ClickHouse's default max_query_size
        // (256 KiB), such as an erasure naming thousands of visitor hashes, raises it for
        // itself alone rather than being refused.
        if query == nil, body.count > Self.defaultMaxQuerySize - 1024 { params.append("max_query_size=\(body.count + 1024)") }
        var request = HTTPClientRequest(url: endpoint + "/" + (params.isEmpty ? "" : "?" + params.joined(separator: "&")))
        request.method = .POST
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: timeout)
            let buffer = try await response.body.collect(upTo: Self.maxResponseBytes)
            let bytes = Array(buffer.readableBytesView)
            log?.append(ClickHouseStatementLog.Entry(query: query, body: body, status: Int(response.status.code), answer: bytes))
            guard response.status == .ok else {
                throw StorageError.clickhouse(status: Int(response.status.code), message: String(decoding: bytes.prefix(2000), as: UTF8.self))
            }
            return bytes
        } catch let error as StorageError {
            throw error
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw .clickhouseUnreachable("\(error)")
        }
    }
}

/// ClickHouse's TabSeparated text: rows end in \n, fields split by \t, with backslash
/// escapes inside fields.
enum TabSeparated {
    static func parse(_ bytes: [UInt8]) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            switch b {
            case 0x5C where i + 1 < bytes.count:
                i += 1
                switch bytes[i] {
                case UInt8(ascii: "n"): field.append(0x0A)
                case UInt8(ascii: "t"): field.append(0x09)
                case UInt8(ascii: "r"): field.append(0x0D)
                case UInt8(ascii: "0"): field.append(0)
                case UInt8(ascii: "b"): field.append(0x08)
                case UInt8(ascii: "f"): field.append(0x0C)
                default: field.append(bytes[i])
                }
            case 0x09:
                row.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true)
            case 0x0A:
                row.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true)
                rows.append(row); row.removeAll(keepingCapacity: true)
            default:
                field.append(b)
            }
            i += 1
        }
        return rows
    }
}
