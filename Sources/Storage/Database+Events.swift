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
    public func insert(_ events: [CleanEvent], sessionTimeoutMillis: Int64) async throws(StorageError) -> [InsertOutcome] {
        try await Self.wrap {
            try await pool.write { db in
                var outcomes: [InsertOutcome] = []
                outcomes.reserveCapacity(events.count)
                let findSession = try db.cachedStatement(sql: """
                    SELECT id, started_at, last_seen FROM sessions
                    WHERE site = ? AND visitor = ? AND last_seen >= ? ORDER BY last_seen DESC LIMIT 1
                    """)
                let isDuplicate = try db.cachedStatement(sql: "SELECT 1 FROM events WHERE site = ? AND client_id = ?")
                let newSession = try db.cachedStatement(sql: """
                    INSERT INTO sessions(site, visitor, started_at, last_seen, entry_path, exit_path, pageviews, events, referrer_host, browser, os, device)
                    VALUES (?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)
                    """)
                let touchSession = try db.cachedStatement(sql: """
                    UPDATE sessions SET last_seen = max(last_seen, ?),
                        exit_path = CASE WHEN ? THEN ? ELSE exit_path END,
                        pageviews = pageviews + ?, events = events + 1
                    WHERE id = ?
                    """)
                let insertEvent = try db.cachedStatement(sql: """
                    INSERT INTO events(site, ts, name, host, path, query, referrer_host, referrer_path, props, visitor, session_id, browser, os, device, client_id, user_hash)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                var seenClientIDs = Set<String>()
                var liveSessions: [SessionKey: (id: Int64, lastSeen: Int64)] = [:]
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
                    var sessionID: Int64?
                    let cutoff = event.timestamp - sessionTimeoutMillis
                    for candidate in event.visitorCandidates {
                        // Events of one batch usually share a visitor: look in this
                        // transaction's sessions before asking SQLite.
                        if let live = liveSessions[SessionKey(site: event.site, visitor: candidate)], live.lastSeen >= cutoff {
                            sessionID = live.id
                            visitor = candidate
                            break
                        }
                        if let row = try Row.fetchOne(findSession, arguments: [event.site, Data(candidate), cutoff]) {
                            sessionID = row[0]
                            visitor = candidate
                            break
                        }
                    }
                    if sessionID == nil {
                        try newSession.execute(arguments: [event.site, Data(visitor), event.timestamp, event.timestamp, event.path, event.path,
                                                           event.referrerHost, event.browser, event.os, event.device])
                        sessionID = db.lastInsertedRowID
                    }
                    let key = SessionKey(site: event.site, visitor: visitor)
                    liveSessions[key] = (sessionID!, max(liveSessions[key]?.lastSeen ?? event.timestamp, event.timestamp))
                    try touchSession.execute(arguments: [event.timestamp, isPageview, event.path, isPageview ? 1 : 0, sessionID])
                    try insertEvent.execute(arguments: [
                        event.site, event.timestamp, event.name, event.host, event.path,
                        event.query.isEmpty ? nil : JSONWriter.object(event.query),
                        event.referrerHost, event.referrerPath,
                        event.props.isEmpty ? nil : JSONWriter.object(event.props),
                        Data(visitor), sessionID, event.browser, event.os, event.device, event.clientID, event.userHash.map { Data($0) },
                    ])
                    outcomes.append(.stored)
                }
                return outcomes
            }
        }
    }
}

private struct SessionKey: Hashable {
    var site: String
    var visitor: [UInt8]
}

// MARK: - Reading events (tests, export)

extension VeilDatabase {
    public func events(site: String) async throws(StorageError) -> [StoredEvent] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, site, ts, name, host, path, query, referrer_host, referrer_path, props, visitor, session_id, browser, os, device, client_id, user_hash
                    FROM events WHERE site = ? ORDER BY ts, id
                    """, arguments: [site]).map(Self.event)
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
