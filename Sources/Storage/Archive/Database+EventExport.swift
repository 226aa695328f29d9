import Foundation
import GRDB
import Privacy

// MARK: - Raw-event export and import

extension VeilDatabase {
    /// Events of a site in `[from, to)` (ms), for a progress total.
    public func eventCount(site: String, from: Int64, to: Int64) async throws(StorageError) -> Int {
        try await Self.wrap {
            try await pool.read { db in
                try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE site = ? AND ts >= ? AND ts < ?", arguments: [site, from, to]) ?? 0
            }
        }
    }

    /// Streams a site's events in `[from, to)` as export lines (`EventLine`), in time order,
    /// `pageSize` at a time: each page is one short read from where the last ended, so
    /// memory stays that of one page however many events there are, and ingest is never
    /// held up.
    public func exportEvents(site: String, from: Int64, to: Int64, pageSize: Int = 2000, _ emit: ([String]) async throws -> Void) async throws {
        var after: (ts: Int64, id: Int64) = (from - 1, Int64.max)
        while true {
            let cursor = after
            let (page, last): ([String], (ts: Int64, id: Int64)?) = try await Self.wrap {
                try await pool.read { db in
                    let statement = try db.cachedStatement(sql: """
                        SELECT \(EventLine.columns) FROM events e LEFT JOIN sessions s ON s.id = e.session_id
                        WHERE e.site = ? AND e.ts < ? AND (e.ts, e.id) > (?, ?) ORDER BY e.ts, e.id LIMIT ?
                        """)
                    let rows = try Row.fetchAll(statement, arguments: [site, to, cursor.ts, cursor.id, pageSize])
                    return (rows.map(Self.exportLine), rows.last.map { ($0[2], $0[0]) })
                }
            }
            guard let last, !page.isEmpty else { return }
            try await emit(page)
            guard page.count == pageSize else { return }
            after = last
        }
    }

    private static func exportLine(_ row: Row) -> String {
        func blob(_ i: Int) -> [UInt8]? { (row[i] as Data?).map { [UInt8]($0) } }
        var session: [(String, JSONValue)] = []
        if let sessionID = row[11] as Int64?, let started = row[17] as Int64? {
            let lastSeen: Int64 = row[18] ?? started
            session = [("id", .number(Double(sessionID))), ("started_at", .number(Double(started))), ("duration_ms", .number(Double(lastSeen - started))),
                       ("entry_path", .string(row[19] ?? "")), ("exit_path", .string(row[20] ?? "")),
                       ("pageviews", .number(Double(row[21] as Int64? ?? 0))), ("events", .number(Double(row[22] as Int64? ?? 0))),
                       ("referrer_host", (row[23] as String?).map(JSONValue.string) ?? .null)]
            for (i, key) in ["channel", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "screen", "language", "country"].enumerated() {
                session.append((key, .string(row[24 + i] ?? "")))
            }
        }
        return EventLine.encode(EventLine.Row(
            id: row[0], site: row[1], ts: row[2], name: row[3], host: row[4], path: row[5], query: row[6], referrerHost: row[7], referrerPath: row[8],
            props: row[9], visitor: blob(10) ?? [], sessionID: row[11], browser: row[12], os: row[13], device: row[14], clientID: row[15],
            userHash: blob(16), session: session))
    }

    /// Stores imported events, skipping any already held: by event ID (a re-import), and
    /// for IDs the export derived, by the row they were derived from (importing a folder's
    /// own export into it). Returns how many were stored and skipped.
    public func importEvents(_ events: [CleanEvent], sessionTimeoutMillis: Int64, rules: [String: AnalyticsRules]) async throws(StorageError) -> (stored: Int, skipped: Int) {
        let fresh: [CleanEvent] = try await Self.wrap {
            try await pool.read { db in
                let sameRow = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE site = ? AND visitor = ? AND ts = ? AND name = ? AND path = ? LIMIT 1")
                return try events.filter { e in
                    guard e.clientID?.hasPrefix("veil:") == true else { return true }
                    return try Int.fetchOne(sameRow, arguments: [e.site, Data(e.visitorCandidates[0]), e.timestamp, e.name, e.path]) == nil
                }
            }
        }
        let outcomes = try await insert(fresh, sessionTimeoutMillis: sessionTimeoutMillis, rules: rules)
        let stored = outcomes.filter { $0 == .stored }.count
        return (stored, events.count - stored)
    }
}
