import Foundation
import GRDB
import Privacy

// MARK: - Writing events

extension VeilDatabase {
    /// Stores a batch of events in one transaction, attaching each to its server-side
    /// session. Returns one outcome per event, in order.
    ///
    /// A visitor's events more than `sessionTimeoutMillis` apart start a new session.
    /// Each event carries visitor-hash candidates (today's salt, yesterday's); the first
    /// candidate with a live session wins, which lets a session continue across midnight.
    /// `rules` (per site key) decide what the rollups count as goals and click events.
    public func insert(_ events: [CleanEvent], sessionTimeoutMillis: Int64, rules analytics: [String: AnalyticsRules] = [:]) async throws(StorageError) -> [InsertOutcome] {
        let cache = seenCache
        let committed: ([InsertOutcome], [String: RollupAccumulator]) = try await Self.wrap {
            try await pool.write { db in
                var outcomes: [InsertOutcome] = []
                outcomes.reserveCapacity(events.count)
                let isDuplicate = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE site = ? AND client_id = ?")
                let newSession = try db.cachedStatement(sql: """
                    INSERT INTO sessions(site, visitor, started_at, last_seen, entry_path, exit_path, pageviews, events, referrer_host, browser, os, device,
                                         channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, screen, language, country)
                    VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let touchSession = try db.cachedStatement(sql: """
                    UPDATE sessions SET last_seen = max(last_seen, ?), started_at = min(started_at, ?),
                        exit_path = CASE WHEN ? THEN ? ELSE exit_path END,
                        pageviews = pageviews + ?, events = events + 1
                    WHERE id = ?
                    """)
                let insertEvent = try db.cachedStatement(sql: """
                    INSERT INTO events(site, ts, name, host, path, query, referrer_host, referrer_path, props, visitor, session_id, browser, os, device, client_id, user_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                var seenClientIDs = Set<String>()
                var liveSessions: [SessionKey: SessionFacts] = [:]
                var accumulators: [String: RollupAccumulator] = [:]
                // Days written to: an event's day, and every day since its visit started (the
                // visit's exit page, bounce and duration changed). Their cross rollups are dropped.
                var touched: Set<SiteDays> = []
                for event in events {
                    if let clientID = event.clientID {
                        let key = event.site + "\u{0}" + clientID
                        let stored = try Int.fetchOne(isDuplicate, arguments: [event.site, clientID]) != nil
                        if stored || seenClientIDs.contains(key) {
                            outcomes.append(.duplicate)
                            continue
                        }
                        seenClientIDs.insert(key)
                    }
                    let isPageview = event.name == "pageview"
                    var visitor = event.visitorCandidates[0]
                    var session: SessionFacts?
                    let cutoff = event.timestamp - sessionTimeoutMillis
                    for candidate in event.visitorCandidates {
                        // Events of one batch usually share a visitor: look in this
                        // transaction's sessions before asking SQLite.
                        if let live = liveSessions[SessionKey(site: event.site, visitor: candidate)], live.lastSeen >= cutoff,
                           live.startedAt <= event.timestamp + sessionTimeoutMillis {
                            session = live
                            visitor = candidate
                            break
                        }
                        if let live = try Self.liveSession(db, site: event.site, visitor: candidate, at: event.timestamp, timeout: sessionTimeoutMillis) {
                            session = live
                            visitor = candidate
                            break
                        }
                    }
                    var rollup = accumulators.removeValue(forKey: event.site) ?? RollupAccumulator(rules: analytics[event.site] ?? AnalyticsRules())
                    if session == nil {
                        let v = event.visit
                        try newSession.execute(arguments: [event.site, Data(visitor), event.timestamp, event.timestamp, event.path, event.path,
                                                           event.referrerHost, event.browser, event.os, event.device,
                                                           v.channel, v.utmSource, v.utmMedium, v.utmCampaign, v.utmTerm, v.utmContent, v.screen, v.language, v.country])
                        session = SessionFacts(newFrom: event, id: db.lastInsertedRowID)
                        rollup.addSession(session!)
                    }
                    let before = session!
                    var after = before
                    after.lastSeen = max(before.lastSeen, event.timestamp)
                    // A late event that happened before the visit's first one starts it.
                    after.startedAt = min(before.startedAt, event.timestamp)
                    if isPageview {
                        after.pageviews += 1
                        after.exit = event.path
                    }
                    rollup.touchSession(before: before, after: after)
                    liveSessions[SessionKey(site: event.site, visitor: visitor)] = after
                    try touchSession.execute(arguments: [event.timestamp, event.timestamp, isPageview, event.path, isPageview ? 1 : 0, after.id])
                    let rules = rollup.rules
                    let eventDay = rules.calendar.day(of: event.timestamp)
                    touched.insert(SiteDays(site: event.site, first: min(rules.calendar.day(of: after.startedAt), eventDay),
                                            last: max(rules.calendar.day(of: before.startedAt), eventDay)))
                    try rollup.addEvent(visitor: visitor, ts: event.timestamp, name: event.name, path: event.path, props: event.props, session: after) {
                        let vd = VisitorDay(visitor: visitor, day: rules.calendar.day(of: event.timestamp))
                        return try cache.get(site: event.site, vd) ?? Self.visitorDaySeen(db, site: event.site, visitor: visitor, ts: event.timestamp, rules: rules)
                    }
                    accumulators[event.site] = rollup
                    try insertEvent.execute(arguments: [
                        event.site, event.timestamp, event.name, event.host, event.path,
                        event.query.isEmpty ? nil : JSONWriter.object(event.query),
                        event.referrerHost, event.referrerPath,
                        event.props.isEmpty ? nil : JSONWriter.object(event.props),
                        Data(visitor), after.id, event.browser, event.os, event.device, event.clientID, event.userHash.map { Data($0) },
                    ])
                    outcomes.append(.stored)
                }
                for t in touched { try Self.invalidateCross(db, site: t.site, days: t.first...t.last) }
                for (site, var rollup) in accumulators {
                    try Self.apply(rollup.takeDeltas(), site: site, db: db)
                    accumulators[site] = rollup
                }
                return (outcomes, accumulators)
            }
        }
        // Committed: what these visitors were counted under is now the stored truth.
        for (site, rollup) in committed.1 { cache.store(site: site, rollup.seen.sets) }
        return committed.0
    }

    /// What a visitor's stored events of `ts`'s day already count under.
    static func visitorDaySeen(_ db: Database, site: String, visitor: [UInt8], ts: Int64, rules: AnalyticsRules) throws -> Set<RollupAccumulator.SeenKey> {
        let calendar = rules.calendar, day = calendar.day(of: ts)
        let statement = try db.cachedStatement(sql: """
            SELECT \(ScannedEvent.columns) FROM events e JOIN sessions s ON s.id = e.session_id
            WHERE e.site = ? AND e.visitor = ? AND e.ts >= ? AND e.ts < ?
            """)
        let reader = try ScannedEvent.Reader(statement)
        let rows = try Row.fetchAll(statement, arguments: [site, Data(visitor), calendar.start(ofDay: day), calendar.start(ofDay: day + 1)])
        return RollupAccumulator.seenSet(rows: rows.map { reader.read($0) }, rules: rules)
    }

    /// Stored props JSON → pairs (empty for NULL or anything unexpected).
    public static func decodeProps(_ json: String?) -> [(String, String)] {
        guard let json, case .object(let members)? = try? JSONParser.parse(Array(json.utf8)) else { return [] }
        return members.compactMap { k, v in v.scalarText.map { (k, $0) } }
    }

    /// `decodeProps` of the JSON as stored bytes (scans read it without making a String).
    static func decodeProps(bytes: UnsafeRawBufferPointer) -> [(String, String)] {
        guard bytes.count > 0, case .object(let members)? = try? JSONParser.parse(Array(bytes)) else { return [] }
        return members.compactMap { k, v in v.scalarText.map { (k, $0) } }
    }
}

private struct SiteDays: Hashable {
    var site: String
    var first: Int64
    var last: Int64
}

private struct SessionKey: Hashable {
    var site: String
    var visitor: [UInt8]
}

// MARK: - Reading events (tests, export)

extension VeilDatabase {
    /// The columns `event(_:)` reads, in its order.
    static let eventColumns = "id, site, ts, name, host, path, query, referrer_host, referrer_path, props, visitor, session_id, browser, os, device, client_id, user_hash"

    /// A visit's events in order (replay markers).
    public func sessionEvents(session: Int64) async throws(StorageError) -> [StoredEvent] {
        try await read { db in try Self.sessionEvents(db, session: session) }
    }

    static func sessionEvents(_ db: Database, session: Int64) throws -> [StoredEvent] {
        try Row.fetchAll(db, sql: "SELECT \(Self.eventColumns) FROM events WHERE session_id = ? ORDER BY ts, id", arguments: [session]).map(Self.event)
    }

    public func events(site: String) async throws(StorageError) -> [StoredEvent] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT \(Self.eventColumns) FROM events WHERE site = ? ORDER BY ts, id", arguments: [site]).map(Self.event)
            }
        }
    }

    public func sessions(site: String) async throws(StorageError) -> [StoredSession] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, site, visitor, started_at, last_seen, entry_path, exit_path, pageviews, events
                    FROM sessions WHERE site = ? ORDER BY started_at, id
                    """, arguments: [site]).map(Self.session)
            }
        }
    }

    public func eventCount(site: String) async throws(StorageError) -> Int {
        try await Self.wrap { try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE site = ?", arguments: [site]) ?? 0 } }
    }
}
