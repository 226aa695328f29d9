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

    /// Commits one survey row to the outbox (its `feedback` table); returns once durable.
    public func appendFeedbackToOutbox(_ entry: FeedbackEntry, now: Int64) async throws(StorageError) {
        let row = ClickHouseRow.encode(entry)
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO outbox(at, row, dest) VALUES (?, ?, ?)", arguments: [now, Data(row), OutboxRow.Destination.feedback.rawValue])
            }
        }
    }

    /// The oldest unshipped rows, in order.
    public func outboxBatch(limit: Int) async throws(StorageError) -> [OutboxRow] {
        try await read { db in
            try Row.fetchAll(db, sql: "SELECT seq, at, row, dest FROM outbox ORDER BY seq LIMIT ?", arguments: [limit]).map {
                OutboxRow(seq: $0[0], at: $0[1], row: [UInt8]($0[2] as Data), destination: OutboxRow.Destination(rawValue: $0[3]) ?? .events)
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
    /// The ClickHouse table a row goes to.
    public enum Destination: String, Sendable, CaseIterable {
        case events, feedback
    }

    public var seq: Int64
    public var at: Int64
    public var row: [UInt8]
    public var destination: Destination = .events
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

    /// One survey row as ClickHouse's `feedback` table takes it. Several visitor hashes
    /// (yesterday's, while a visit runs over midnight) keep the first two, as events do.
    static func encode(_ f: FeedbackEntry) -> [UInt8] {
        let fields: [(String, String)] = [
            ("site", JSONWriter.string(f.site)), ("ts", String(f.receivedAt)),
            ("visitor", JSONWriter.string(f.visitorCandidates.first?.hexString ?? "")),
            ("visitor_prev", JSONWriter.string(f.visitorCandidates.count > 1 ? f.visitorCandidates[1].hexString : "")),
            ("kind", JSONWriter.string(f.kind.rawValue)), ("score", String(f.score ?? -1)),
            ("comment", JSONWriter.string(f.comment ?? "")), ("has_comment", f.comment == nil ? "0" : "1"),
            ("path", JSONWriter.string(f.path)), ("device", JSONWriter.string(f.device)), ("country", JSONWriter.string(f.country)),
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
