import Foundation
import GRDB
import Privacy

/// The outbox: with `storage.backend: clickhouse` the event writer commits here (one
/// fsync'd transaction per batch, as for SQLite), and `ShippingService` moves rows to
/// ClickHouse in `seq` order.
extension VeilDatabase {
    /// Commits events to the outbox; returns once durable. `now` stamps them (lag metric).
    public func appendToOutbox(_ events: [CleanEvent], now: Int64) async throws(StorageError) -> [InsertOutcome] {
        let rows = events.map { ClickHouseRow.encode($0) }
        try await Self.wrap {
            try await pool.write { db in
                let statement = try db.cachedStatement(sql: "INSERT INTO outbox(at, row) VALUES (?, ?)")
                for row in rows { try statement.execute(arguments: [now, Data(row)]) }
            }
        }
        return Array(repeating: .stored, count: events.count)
    }

    /// The oldest unshipped rows, in order.
    public func outboxBatch(limit: Int) async throws(StorageError) -> [OutboxRow] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT seq, at, row FROM outbox ORDER BY seq LIMIT ?", arguments: [limit]).map {
                OutboxRow(seq: $0[0], at: $0[1], row: [UInt8]($0[2] as Data))
            }
        }
    }

    /// Deletes rows up to and including `seq`, once ClickHouse holds them.
    public func deleteShipped(upTo seq: Int64) async throws(StorageError) {
        try await Self.wrap { try await pool.write { db in try db.execute(sql: "DELETE FROM outbox WHERE seq <= ?", arguments: [seq]) } }
    }

    /// Unshipped rows and the commit time of the oldest (nil when empty).
    public func outboxState() async throws(StorageError) -> (depth: Int, oldestAt: Int64?) {
        try await read { db in
            let row = try Row.fetchOne(db, sql: "SELECT count(*), min(at) FROM outbox")
            return (row?[0] ?? 0, row?[1])
        }
    }
}

public struct OutboxRow: Sendable, Equatable {
    public var seq: Int64
    public var at: Int64
    public var row: [UInt8]
}

/// One event as ClickHouse's `events` table takes it (JSONEachRow), without the
/// shipping node and sequence, which the shipper prepends.
enum ClickHouseRow {
    static func encode(_ e: CleanEvent) -> [UInt8] {
        let v = e.visit
        let fields: [(String, String)] = [
            ("site", JSONWriter.string(e.site)), ("ts", String(e.timestamp)), ("name", JSONWriter.string(e.name)),
            ("host", JSONWriter.string(e.host)), ("path", JSONWriter.string(e.path)),
            ("query", JSONWriter.string(e.query.isEmpty ? "" : JSONWriter.object(e.query))),
            ("referrer_host", JSONWriter.string(e.referrerHost ?? "")), ("referrer_path", JSONWriter.string(e.referrerPath ?? "")),
            ("prop_keys", "[" + e.props.map { JSONWriter.string($0.0) }.joined(separator: ",") + "]"),
            ("prop_values", "[" + e.props.map { JSONWriter.string($0.1) }.joined(separator: ",") + "]"),
            ("visitor", JSONWriter.string(e.visitorCandidates.first?.hexString ?? "")),
            ("visitor_prev", JSONWriter.string(e.visitorCandidates.count > 1 ? e.visitorCandidates[1].hexString : "")),
            ("browser", JSONWriter.string(e.browser)), ("os", JSONWriter.string(e.os)), ("device", JSONWriter.string(e.device)),
            ("channel", JSONWriter.string(v.channel)), ("utm_source", JSONWriter.string(v.utmSource)), ("utm_medium", JSONWriter.string(v.utmMedium)),
            ("utm_campaign", JSONWriter.string(v.utmCampaign)), ("utm_term", JSONWriter.string(v.utmTerm)), ("utm_content", JSONWriter.string(v.utmContent)),
            ("screen", JSONWriter.string(v.screen)), ("language", JSONWriter.string(v.language)), ("country", JSONWriter.string(v.country)),
            ("client_id", JSONWriter.string(e.clientID ?? "")), ("user_hash", JSONWriter.string(e.userHash?.hexString ?? "")),
        ]
        return Array(fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",").utf8)
    }

    /// `{"node":…,"seq":…,<row>}` and a newline.
    static func line(node: String, seq: Int64, row: [UInt8], into out: inout [UInt8]) {
        out.append(contentsOf: "{\"node\":\(JSONWriter.string(node)),\"seq\":\(seq),".utf8)
        out.append(contentsOf: row)
        out.append(contentsOf: "}\n".utf8)
    }
}
