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
        try await exportEventBytes(site: site, from: from, to: to, pageSize: pageSize) { bytes, _ in
            try await emit(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
        }
    }

    /// `exportEvents` as one buffer of lines per page (newline-terminated) and the page's count.
    public func exportEventBytes(site: String, from: Int64, to: Int64, pageSize: Int = 2000, _ emit: ([UInt8], Int) async throws -> Void) async throws {
        var after: (ts: Int64, id: Int64) = (from - 1, Int64.max)
        while true {
            let cursor = after
            let (page, count, last): ([UInt8], Int, (ts: Int64, id: Int64)?) = try await Self.wrap {
                try await pool.read { db in
                    let statement = try db.cachedStatement(sql: """
                        SELECT \(EventLine.columns) FROM events e LEFT JOIN sessions s ON s.id = e.session_id
                        WHERE e.site = ? AND e.ts < ? AND (e.ts, e.id) > (?, ?) ORDER BY e.ts, e.id LIMIT ?
                        """)
                    var out = LineBuilder()
                    out.bytes.reserveCapacity(pageSize * 800)
                    var count = 0
                    var last: (Int64, Int64)?
                    let rows = try Row.fetchCursor(statement, arguments: [site, to, cursor.ts, cursor.id, pageSize])
                    while let row = try rows.next() {
                        EventLine.encode(Self.exportRow(row), into: &out)
                        count += 1
                        last = (row[2], row[0])
                    }
                    return (out.bytes, count, last)
                }
            }
            guard let last, count > 0 else { return }
            try await emit(page, count)
            guard count == pageSize else { return }
            after = last
        }
    }

    private static func exportRow(_ row: Row) -> EventLine.Row {
        func blob(_ i: Int) -> [UInt8]? { (row[i] as Data?).map { [UInt8]($0) } }
        var session: EventLine.Session?
        if let sessionID = row[11] as Int64?, let started = row[17] as Int64? {
            session = EventLine.Session(id: sessionID, startedAt: started, lastSeen: row[18] ?? started, entryPath: row[19] ?? "", exitPath: row[20] ?? "",
                                        pageviews: row[21] ?? 0, events: row[22] ?? 0, referrerHost: row[23],
                                        attributes: (24..<33).map { (row[$0] as String?) ?? "" })
        }
        return EventLine.Row(id: row[0], site: row[1], ts: row[2], name: row[3], host: row[4], path: row[5], query: row[6], referrerHost: row[7],
                             referrerPath: row[8], props: row[9], visitor: blob(10) ?? [], browser: row[12], os: row[13], device: row[14],
                             clientID: row[15], userHash: blob(16), session: session)
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
