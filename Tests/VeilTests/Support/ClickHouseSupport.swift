import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import Storage

/// A ClickHouse server of the test's own (Debian's clickhouse-server, started by
/// `scripts/clickhouse-test-server.sh` with a temporary configuration and data folder on
/// a free loopback port). Tests that need one are enabled only when the binary exists;
/// CI installs it (`.ci/run`), and there a missing binary fails the `ciHasClickHouse` test.
final class ClickHouseTestServer: Sendable {
    static let binary = "/usr/sbin/clickhouse-server"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let script = SharedFixtures.projectRoot.appendingPathComponent("scripts/clickhouse-test-server.sh").path

    let dir: TempDir
    let port: Int
    /// Given to the start script (a cluster member's native port and extra configuration).
    let environment: [String: String]

    init(port: Int? = nil, environment: [String: String] = [:]) throws {
        dir = TempDir()
        self.port = try port ?? Self.freePort()
        self.environment = environment
        try start()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func settings(database: String = "veil_\(UInt32.random(in: 0...UInt32.max))", node: String = "test-node") -> ClickHouseSettings {
        ClickHouseSettings(url: url, user: "veil", password: "veiltest", database: database, shipBatchEvents: 500, node: node)
    }

    func start() throws {
        let errors = dir.path + "/start-errors"
        let status = Self.run(["bash", Self.script, "start", dir.path + "/ch", String(port)], errors: errors, environment: environment)
        // The folder goes with the test, so what the script said goes into the failure itself.
        try #require(status == 0, "clickhouse-server did not start on port \(port): \((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
    }

    func stop() {
        _ = Self.run(["bash", Self.script, "stop", dir.path + "/ch"])
    }

    deinit { stop() }

    static func run(_ arguments: [String], errors: String? = nil, environment: [String: String] = [:]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        if let errors, FileManager.default.createFile(atPath: errors, contents: nil), let handle = FileHandle(forWritingAtPath: errors) {
            process.standardError = handle
        }
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(ok, "no free port")
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

extension ClickHouseTestServer {
    /// A client of a new, migrated database on this server.
    func client(node: String = "test-node") async throws -> ClickHouseClient {
        let client = try ClickHouseClient(settings: settings(node: node))
        _ = try await ClickHouseSchema(settings: client.settings).migrate(client)
        return client
    }
}

/// Two ClickHouse servers as one shard of two replicas (`veil_cluster`), with a ZooKeeper
/// of the test's own (Debian's zookeeper): what `clickhouse.cluster` creates replicated
/// and distributed tables on. CI installs both packages.
final class ClickHouseTestCluster: Sendable {
    static let zookeeperScript = SharedFixtures.projectRoot.appendingPathComponent("scripts/zookeeper-test-server.sh").path
    static var available: Bool {
        ClickHouseTestServer.available && FileManager.default.isExecutableFile(atPath: "/usr/share/zookeeper/bin/zkServer.sh")
    }
    static let name = "veil_cluster"

    let zookeeper: TempDir
    let servers: [ClickHouseTestServer]

    init() throws {
        zookeeper = TempDir()
        let zkPort = try ClickHouseTestServer.freePort()
        let errors = zookeeper.path + "/start-errors"
        let status = ClickHouseTestServer.run(["bash", Self.zookeeperScript, "start", zookeeper.path + "/zk", String(zkPort)], errors: errors)
        try #require(status == 0, "zookeeper did not start: \((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
        let ports = try (0..<2).map { _ in (http: try ClickHouseTestServer.freePort(), tcp: try ClickHouseTestServer.freePort(), interserver: try ClickHouseTestServer.freePort()) }
        let replicas = ports.map { "<replica><host>127.0.0.1</host><port>\($0.tcp)</port><user>veil</user><password>veiltest</password></replica>" }.joined()
        var servers: [ClickHouseTestServer] = []
        for (i, p) in ports.enumerated() {
            let extra = """
                <zookeeper><node><host>127.0.0.1</host><port>\(zkPort)</port></node></zookeeper>
                <remote_servers><\(Self.name)><shard><internal_replication>true</internal_replication>\(replicas)</shard></\(Self.name)></remote_servers>
                <macros><shard>01</shard><replica>r\(i + 1)</replica></macros>
                <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
                <interserver_http_host>127.0.0.1</interserver_http_host><interserver_http_port>\(p.interserver)</interserver_http_port>
                """
            servers.append(try ClickHouseTestServer(port: p.http, environment: ["CLICKHOUSE_TCP_PORT": String(p.tcp), "CLICKHOUSE_EXTRA_CONFIG": extra]))
        }
        self.servers = servers
    }

    func stop() {
        for server in servers { server.stop() }
        _ = ClickHouseTestServer.run(["bash", Self.zookeeperScript, "stop", zookeeper.path + "/zk"])
    }

    deinit { stop() }

    /// Settings of a node on replica `i` with `clickhouse.cluster` set.
    func settings(replica i: Int, database: String, node: String) -> ClickHouseSettings {
        var settings = servers[i].settings(database: database, node: node)
        settings.cluster = Self.name
        return settings
    }
}

/// A request to a live test server that may take longer than the test client's 20 s read
/// timeout: an erasure waits for ClickHouse's mutation, which on a loaded machine (the
/// whole suite at once) has taken more. Bearer-authorised; JSON body when given.
func slowRequest(port: Int, _ method: String, _ path: String, body: String? = nil, timeout: TimeInterval = 180) async throws -> (status: Int, text: String) {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, timeoutInterval: timeout)
    request.httpMethod = method
    request.setValue("Bearer \(TestData.apiToken)", forHTTPHeaderField: "Authorization")
    if let body {
        request.httpBody = Data(body.utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let (data, response) = try await URLSession.shared.data(for: request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}
