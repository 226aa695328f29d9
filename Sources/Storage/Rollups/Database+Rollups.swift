import Foundation
import GRDB
import Privacy

// MARK: - Rollup maintenance

extension VeilDatabase {
    /// What the cells mean, beyond the rules: 2 added bounces and duration to session-level
    /// cells. A data folder built with another format has its rollups recomputed at start,
    /// like a change of goals.
    static let rollupFormat = 2

    /// What `rollup_state.fingerprint` records: the format and the rules' fingerprint.
    static func rollupStamp(_ rules: AnalyticsRules) -> String { "format \(rollupFormat)\n" + rules.fingerprint }

    /// Whether a site's rollups were built with these rules and this format (reads check
    /// it before answering a filtered question from the cells).
    static func rollupsCurrent(_ db: Database, site: String, rules: AnalyticsRules) throws -> Bool {
        try String.fetchOne(db, sql: "SELECT fingerprint FROM rollup_state WHERE site = ?", arguments: [site]) == rollupStamp(rules)
    }

    static func apply(_ deltas: [RollupKey: RollupCounts], site: String, db: Database) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO rollups(site, dim, bucket, value, visitors, hits, pageviews, sessions, bounces, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(site, dim, bucket, value) DO UPDATE SET
                visitors = visitors + excluded.visitors, hits = hits + excluded.hits, pageviews = pageviews + excluded.pageviews,
                sessions = sessions + excluded.sessions, bounces = bounces + excluded.bounces, duration = duration + excluded.duration
            """)
        for (key, c) in deltas where !c.isZero {
            try upsert.execute(arguments: [site, key.dim, key.bucket, key.value, c.visitors, c.hits, c.pageviews, c.sessions, c.bounces, c.duration])
        }
    }

    /// Recomputes one UTC day of a site's rollups from its stored events and sessions,
    /// in the caller's transaction.
    static func rebuildDay(_ db: Database, site: String, day: Int64, rules: AnalyticsRules) throws {
        let calendar = rules.calendar
        let from = calendar.start(ofDay: day), to = calendar.start(ofDay: day + 1)
        try db.execute(sql: """
            DELETE FROM rollups WHERE site = ? AND ((dim <> 'hour' AND bucket = ?) OR (dim = 'hour' AND bucket >= ? AND bucket < ?))
            """, arguments: [site, day, calendar.hours(ofDay: day).lowerBound, calendar.hours(ofDay: day).upperBound])
        try dropCross(db, site: site, day: day)
        var acc = RollupAccumulator(rules: rules)
        let eventsSQL = try db.makeStatement(sql: """
            SELECT \(ScannedEvent.columns) FROM events e JOIN sessions s ON s.id = e.session_id
            WHERE e.site = ? AND e.ts >= ? AND e.ts < ? ORDER BY e.id
            """)
        let event = try ScannedEvent.Reader(eventsSQL)
        let events = try Row.fetchCursor(eventsSQL, arguments: [site, from, to])
        while let row = try events.next() {
            let e = event.read(row)
            acc.addEvent(visitor: e.visitor, ts: e.ts, name: e.name, path: e.path, props: e.props, session: e.session) { [] }
        }
        let sessionsSQL = try db.makeStatement(sql: "SELECT \(SessionFacts.columns) FROM sessions s WHERE s.site = ? AND s.started_at >= ? AND s.started_at < ?")
        let session = try SessionFacts.Reader(ColumnIndex(sessionsSQL))
        let sessions = try Row.fetchCursor(sessionsSQL, arguments: [site, from, to])
        while let row = try sessions.next() { acc.addSession(session.read(row)) }
        try apply(acc.takeDeltas(), site: site, db: db)
    }

    /// Recomputes the given days in one transaction.
    public func rebuildRollups(site: String, days: [Int64], rules: AnalyticsRules) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                for day in days { try Self.rebuildDay(db, site: site, day: day, rules: rules) }
            }
        }
        seenCache.clear()
    }

    /// The days (on `calendar`) on which a site has events or sessions starting.
    public func daysWithData(site: String, calendar: DayCalendar = .utc) async throws(StorageError) -> [Int64] {
        try await Self.wrap {
            try await pool.read { db in
                guard let range = try Row.fetchOne(db, sql: "SELECT min(ts) AS first, max(ts) AS last FROM events WHERE site = ?", arguments: [site]),
                      let lo: Int64 = range["first"], let hi: Int64 = range["last"] else { return [] }
                let first = min(calendar.day(of: lo), calendar.day(of: try Int64.fetchOne(db, sql: "SELECT min(started_at) FROM sessions WHERE site = ?", arguments: [site]) ?? lo))
                return Array(first...calendar.day(of: hi))
            }
        }
    }

    /// Sites (keys of `rules`) whose rollups were built with other goal rules (or never
    /// built) and hold data.
    public func sitesNeedingRollupRebuild(rules: [String: AnalyticsRules]) async throws(StorageError) -> [String] {
        try await Self.wrap {
            try await pool.read { db in
                try rules.keys.sorted().filter { site in
                    let stored = try String.fetchOne(db, sql: "SELECT fingerprint FROM rollup_state WHERE site = ?", arguments: [site])
                    let wanted = Self.rollupStamp(rules[site]!)
                    if stored == wanted { return false }
                    let hasData = try Int.fetchOne(db, sql: "SELECT 1 FROM events WHERE site = ? LIMIT 1", arguments: [site]) != nil
                    return hasData || stored != nil
                }
            }
        }
    }

    /// Records that a site's rollups match its current rules.
    public func markRollupsCurrent(site: String, rules: AnalyticsRules) async throws(StorageError) {
        let fingerprint = Self.rollupStamp(rules)
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO rollup_state(site, fingerprint) VALUES (?, ?) ON CONFLICT(site) DO UPDATE SET fingerprint = excluded.fingerprint",
                               arguments: [site, fingerprint])
            }
        }
    }

    /// Sites the rollups were never built for start out current (nothing to rebuild).
    public func adoptRollupState(rules: [String: AnalyticsRules]) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                for (site, siteRules) in rules {
                    let hasData = try Int.fetchOne(db, sql: "SELECT 1 FROM events WHERE site = ? LIMIT 1", arguments: [site]) != nil
                    if !hasData {
                        try db.execute(sql: "INSERT INTO rollup_state(site, fingerprint) VALUES (?, ?) ON CONFLICT(site) DO NOTHING",
                                       arguments: [site, Self.rollupStamp(siteRules)])
                    }
                }
            }
        }
    }

    /// Every rollup row of a site (tests compare it with a recomputation).
    public func rollupRows(site: String) async throws(StorageError) -> [RollupRow] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT dim, bucket, value, visitors, hits, pageviews, sessions, bounces, duration FROM rollups
                    WHERE site = ? AND NOT (visitors = 0 AND hits = 0 AND pageviews = 0 AND sessions = 0 AND bounces = 0 AND duration = 0)
                    ORDER BY dim, bucket, value
                    """, arguments: [site]).map {
                    RollupRow(dim: $0["dim"], bucket: $0["bucket"], value: $0["value"], visitors: $0["visitors"], hits: $0["hits"], pageviews: $0["pageviews"],
                              sessions: $0["sessions"], bounces: $0["bounces"], duration: $0["duration"])
                }
            }
        }
    }
}

/// One stored rollup cell (tests and diagnostics).
public struct RollupRow: Sendable, Equatable, CustomStringConvertible {
    public var dim: String
    public var bucket: Int64
    public var value: String
    public var visitors: Int
    public var hits: Int
    public var pageviews: Int
    public var sessions: Int
    public var bounces: Int
    public var duration: Int64

    public var description: String { "\(dim)[\(bucket)]\(value)=v\(visitors)/h\(hits)/p\(pageviews)/s\(sessions)/b\(bounces)/d\(duration)" }
}
