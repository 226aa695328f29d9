import Crypto
import Foundation
import GRDB
import Privacy

extension VeilDatabase {
    /// Stores one chunk. The recording is found by page (later chunks of a page load),
    /// else by the visitor's current server-side session, else by the visitor's recent
    /// unattached recording; otherwise a new one starts.
    /// A chunk that would take an existing recording past `caps` is refused and the
    /// recording marked capped; the first chunk always fits (the config enforces it).
    public func appendReplayChunk(_ chunk: ReplayChunk, sessionTimeoutMillis: Int64, caps: ReplayCaps = ReplayCaps()) async throws(StorageError) -> ReplayAppendOutcome {
        let data = Zlib.compress(chunk.encoded.lines) ?? []
        let styles = chunk.encoded.styles.map { ($0.hash, Zlib.compress(Array($0.text.utf8)) ?? [], $0.text.utf8.count) }
        return try await Self.wrap {
            try await pool.write { db in
                let site = chunk.site
                let since = chunk.receivedAt - sessionTimeoutMillis
                let candidates = chunk.visitorCandidates.map { Data($0) }
                var session: (id: Int64, visitor: Data)?
                for visitor in chunk.visitorCandidates {
                    if let live = try Self.liveSession(db, site: site, visitor: visitor, at: chunk.receivedAt, timeout: sessionTimeoutMillis) {
                        session = (live.id, Data(visitor))
                        break
                    }
                }
                var recording = try Int64.fetchOne(db, sql: """
                    SELECT p.recording_id FROM replay_pages p JOIN recordings r ON r.id = p.recording_id WHERE p.page = ? AND r.site = ? LIMIT 1
                    """, arguments: [chunk.page, site])
                if recording == nil, let session {
                    recording = try Int64.fetchOne(db, sql: "SELECT id FROM recordings WHERE site = ? AND session_id = ? ORDER BY id DESC LIMIT 1", arguments: [site, session.id])
                }
                if recording == nil {
                    for visitor in candidates where recording == nil {
                        recording = try Int64.fetchOne(db, sql: """
                            SELECT id FROM recordings WHERE site = ? AND visitor = ? AND session_id IS NULL AND received_at >= ? ORDER BY received_at DESC LIMIT 1
                            """, arguments: [site, visitor, since])
                    }
                }
                let id: Int64
                if let recording {
                    id = recording
                    let row = try Row.fetchOne(db, sql: "SELECT raw_bytes, stored_bytes, events, capped_at FROM recordings WHERE id = ?", arguments: [id])
                    let raw: Int = row?[0] ?? 0, storedSoFar: Int = row?[1] ?? 0, events: Int = row?[2] ?? 0, cappedAt: Int64? = row?[3]
                    // Stylesheets may already be stored; counting them all keeps the check one read.
                    let incoming = data.count + styles.reduce(0) { $0 + $1.1.count }
                    let cap: ReplayCaps.Cap? = cappedAt != nil ? .earlier
                        : raw + chunk.rawBytes > caps.rawBytes ? .rawBytes
                        : storedSoFar + incoming > caps.storedBytes ? .storedBytes
                        : events + chunk.events > caps.events ? .events : nil
                    if let cap {
                        if cappedAt == nil { try db.execute(sql: "UPDATE recordings SET capped_at = ? WHERE id = ?", arguments: [chunk.receivedAt, id]) }
                        return .capped(recording: id, cap: cap)
                    }
                } else {
                    try db.execute(sql: """
                        INSERT INTO recordings(site, visitor, session_id, started_at, last_at, received_at, entry_url, width, height)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [site, session?.visitor ?? candidates.first ?? Data(), session?.id, chunk.firstTimestamp, chunk.lastTimestamp,
                                         chunk.receivedAt, chunk.url, chunk.width, chunk.height])
                    id = db.lastInsertedRowID
                }
                try db.execute(sql: "INSERT OR IGNORE INTO replay_chunks(recording_id, page, seq, first_ts, last_ts, events, raw_bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [id, chunk.page, chunk.seq, chunk.firstTimestamp, chunk.lastTimestamp, chunk.events, chunk.rawBytes, Data(data)])
                if db.changesCount == 0 { return .duplicate(recording: id) }
                var stored = data.count
                for (hash, text, bytes) in styles {
                    try db.execute(sql: "INSERT OR IGNORE INTO replay_styles(hash, text, bytes, refs) VALUES (?, ?, ?, 0)", arguments: [Data(hash), Data(text), bytes])
                    try db.execute(sql: "INSERT OR IGNORE INTO replay_style_refs(recording_id, hash) VALUES (?, ?)", arguments: [id, Data(hash)])
                    if db.changesCount > 0 {
                        try db.execute(sql: "UPDATE replay_styles SET refs = refs + 1 WHERE hash = ?", arguments: [Data(hash)])
                        stored += text.count
                    }
                }
                try db.execute(sql: "INSERT OR IGNORE INTO replay_pages(page, recording_id, url, started_at) VALUES (?, ?, ?, ?)",
                               arguments: [chunk.page, id, chunk.url, chunk.firstTimestamp])
                let newPage = db.changesCount
                try db.execute(sql: """
                    UPDATE recordings SET
                        session_id = coalesce(session_id, ?),
                        started_at = min(started_at, ?), last_at = max(last_at, ?), received_at = ?,
                        pages = pages + ?, events = events + ?, raw_bytes = raw_bytes + ?, stored_bytes = stored_bytes + ?,
                        clicks = clicks + ?, rage_clicks = rage_clicks + ?,
                        width = CASE WHEN ? > 0 THEN ? ELSE width END, height = CASE WHEN ? > 0 THEN ? ELSE height END
                    WHERE id = ?
                    """, arguments: [session?.id, chunk.firstTimestamp, chunk.lastTimestamp, chunk.receivedAt, newPage, chunk.events, chunk.rawBytes, stored,
                                     chunk.clicks, chunk.rageClicks, chunk.width, chunk.width, chunk.height, chunk.height, id])
                try Self.addHeatmap(db, recording: id, site: site, page: chunk.page, facts: chunk.heatmap, fallbackWidth: chunk.width)
                return .stored(recording: id, bytes: stored)
            }
        }
    }

    /// The columns `recording(_:)` reads by name: the recording and its visit's facts.
    static let recordingColumns = """
        r.id AS id, r.site AS site, r.session_id AS session_id, r.started_at AS started_at, r.last_at AS last_at, r.pages AS pages, r.events AS events,
        r.raw_bytes AS raw_bytes, r.stored_bytes AS stored_bytes, r.clicks AS clicks, r.rage_clicks AS rage_clicks, r.entry_url AS entry_url,
        r.width AS width, r.height AS height, r.capped_at AS capped_at,
        coalesce(s.browser, '') AS browser, coalesce(s.os, '') AS os, coalesce(s.device, '') AS device, coalesce(s.country, '') AS country,
        coalesce(s.channel, '') AS channel, coalesce(s.entry_path, '') AS entry_path, coalesce(s.pageviews, 0) AS pageviews
        """

    static func recording(_ row: Row) -> RecordingSummary {
        RecordingSummary(id: row["id"], site: row["site"], sessionID: row["session_id"], startedAt: row["started_at"], lastAt: row["last_at"],
                         pages: row["pages"], events: row["events"], rawBytes: row["raw_bytes"], storedBytes: row["stored_bytes"],
                         clicks: row["clicks"], rageClicks: row["rage_clicks"], entryURL: row["entry_url"], width: row["width"], height: row["height"],
                         browser: row["browser"], os: row["os"], device: row["device"], country: row["country"], channel: row["channel"],
                         entryPath: row["entry_path"], pageviews: row["pageviews"], cappedAt: row["capped_at"])
    }

    /// Recordings of a site, newest first, with their session's facts.
    /// `rules` resolve the filter's goal.
    public func recordings(site: String, filter: RecordingFilter, rules: AnalyticsRules = AnalyticsRules()) async throws(StorageError) -> [RecordingSummary] {
        try await read { db in try Self.recordings(db, site: site, filter: filter, rules: rules) }
    }

    static func recordings(_ db: Database, site: String, filter: RecordingFilter, rules: AnalyticsRules) throws -> [RecordingSummary] {
        var sql = "SELECT \(Self.recordingColumns) FROM recordings r LEFT JOIN sessions s ON s.id = r.session_id WHERE r.site = ? AND r.started_at >= ? AND r.started_at < ?"
        var args: [any DatabaseValueConvertible] = [site, filter.from, filter.to]
        if filter.minDurationMillis > 0 { sql += " AND r.last_at - r.started_at >= ?"; args.append(filter.minDurationMillis) }
        if filter.rageClicksOnly { sql += " AND r.rage_clicks > 0" }
        if let device = filter.device { sql += " AND s.device = ?"; args.append(device) }
        if let id = filter.sessionID { sql += " AND r.session_id = ?"; args.append(id) }
        if let path = filter.path {
            if path.contains("*") {
                sql += " AND EXISTS (SELECT 1 FROM events e WHERE e.session_id = r.session_id AND e.path GLOB ?)"
                args.append(Self.glob(path))
            } else {
                sql += " AND EXISTS (SELECT 1 FROM events e WHERE e.session_id = r.session_id AND e.path = ?)"
                args.append(path)
            }
        }
        if let event = filter.event { sql += " AND EXISTS (SELECT 1 FROM events e WHERE e.session_id = r.session_id AND e.name = ?)"; args.append(event) }
        sql += " ORDER BY r.started_at DESC, r.id DESC"
        let goal = filter.goal.flatMap { rules.goal(named: $0) }
        let missed = filter.withoutGoal.flatMap { rules.goal(named: $0) }
        if filter.goal != nil && goal == nil || filter.withoutGoal != nil && missed == nil { return [] }
        if goal == nil {
            sql += " LIMIT ? OFFSET ?"
            args += [filter.limit, filter.offset]
        }
        let cursor = try Row.fetchCursor(db, sql: sql, arguments: StatementArguments(args))
        var out: [RecordingSummary] = []
        var skipped = 0
        while let row = try cursor.next() {
            let summary = Self.recording(row)
            if let goal {
                guard let sid = summary.sessionID, try Self.sessionConverted(db, session: sid, goal: goal) else { continue }
                if let missed, try Self.sessionConverted(db, session: sid, goal: missed) { continue }
                if skipped < filter.offset { skipped += 1; continue }
            }
            out.append(summary)
            if out.count >= filter.limit { break }
        }
        return out
    }

    static func sessionConverted(_ db: Database, session: Int64, goal: Goal) throws -> Bool {
        for row in try Row.fetchAll(db, sql: "SELECT name, path, props FROM events WHERE session_id = ?", arguments: [session]) {
            if goal.matches(name: row["name"], path: row["path"], props: decodeProps(row["props"])) { return true }
        }
        return false
    }

    /// `*` patterns as GLOB patterns (other GLOB metacharacters made literal).
    static func glob(_ pattern: String) -> String {
        var out = ""
        for c in pattern {
            switch c {
            case "?": out += "[?]"
            case "[": out += "[[]"
            default: out.append(c)
            }
        }
        return out
    }

    public func recording(site: String? = nil, id: Int64) async throws(StorageError) -> RecordingSummary? {
        try await read { db in try Self.recording(db, site: site, id: id) }
    }

    static func recording(_ db: Database, site: String?, id: Int64) throws -> RecordingSummary? {
        try Row.fetchOne(db, sql: "SELECT \(Self.recordingColumns) FROM recordings r LEFT JOIN sessions s ON s.id = r.session_id WHERE r.id = ? AND (? IS NULL OR r.site = ?)",
                         arguments: [id, site, site]).map(Self.recording)
    }

    public func recordingPages(id: Int64) async throws(StorageError) -> [RecordingPage] {
        try await read { db in try Self.recordingPages(db, id: id) }
    }

    static func recordingPages(_ db: Database, id: Int64) throws -> [RecordingPage] {
        try Row.fetchAll(db, sql: "SELECT url, started_at FROM replay_pages WHERE recording_id = ? ORDER BY started_at, page", arguments: [id])
            .map { RecordingPage(url: $0["url"], startedAt: $0["started_at"]) }
    }

    /// The recording's events in order (page loads by start, chunks by number), with
    /// node IDs and stylesheets restored, each as one line of JSON, handed to `body` a
    /// few stored chunks at a time: playback and export hold one batch, never the whole
    /// recording. A recording deleted meanwhile simply ends early.
    public func streamRecordingEvents(id: Int64, chunksPerRead: Int = 4, _ body: ([String]) async throws -> Void) async throws {
        var after: (startedAt: Int64, page: String, seq: Int) = (.min, "", -1)
        while true {
            let cursor = after
            let (lines, last) = try await Self.wrap {
                try await pool.read { db -> ([String], (Int64, String, Int)?) in
                    // Stylesheets are looked up as the chunks name them, so only this batch's are held.
                    var styles: [String: String] = [:]
                    func style(_ hex: String) -> String? {
                        if let known = styles[hex] { return known }
                        guard let hash = [UInt8](hex: hex),
                              let text = try? Data.fetchOne(db, sql: """
                                SELECT s.text FROM replay_style_refs r JOIN replay_styles s ON s.hash = r.hash WHERE r.recording_id = ? AND r.hash = ?
                                """, arguments: [id, Data(hash)]) else { return nil }
                        let plain = String(decoding: Zlib.decompress([UInt8](text)) ?? [], as: UTF8.self)
                        styles[hex] = plain
                        return plain
                    }
                    var lines: [String] = []
                    var last: (Int64, String, Int)?
                    let rows = try Row.fetchCursor(db, sql: """
                        SELECT c.data AS data, p.started_at AS started_at, c.page AS page, c.seq AS seq FROM replay_chunks c JOIN replay_pages p ON p.page = c.page AND p.recording_id = c.recording_id
                        WHERE c.recording_id = ? AND (p.started_at, c.page, c.seq) > (?, ?, ?) ORDER BY p.started_at, c.page, c.seq LIMIT ?
                        """, arguments: [id, cursor.startedAt, cursor.page, cursor.seq, chunksPerRead])
                    while let row = try rows.next() {
                        let blob: Data = row["data"]
                        guard let plain = Zlib.decompress([UInt8](blob)) else { throw StorageError.database("recording \(id) has a damaged chunk") }
                        for event in try ReplayCodec.decode(lines: plain, style: style) { lines.append(JSONWriter.value(event)) }
                        last = (row["started_at"], row["page"], row["seq"])
                    }
                    return (lines, last)
                }
            }
            guard let last else { return }
            after = last
            if !lines.isEmpty { try await body(lines) }
        }
    }

    /// The whole recording's event lines in memory: for tests and benchmarks only.
    public func recordingEventLines(id: Int64) async throws -> [String] {
        var all: [String] = []
        try await streamRecordingEvents(id: id) { all += $0 }
        return all
    }

    /// The player's markers for a recording's visit: its custom events and the goals
    /// they meet, in time order.
    public func replayMarkers(session: Int64, rules: AnalyticsRules) async throws(StorageError) -> [ReplayMarker] {
        try await read { db in try Self.replayMarkers(db, session: session, rules: rules) }
    }

    static func replayMarkers(_ db: Database, session: Int64, rules: AnalyticsRules) throws -> [ReplayMarker] {
        var marks: [ReplayMarker] = []
        for e in try sessionEvents(db, session: session) {
            let props = Self.decodeProps(e.props)
            if e.name != "pageview" { marks.append(ReplayMarker(timestamp: e.timestamp, kind: .custom, label: "Event: " + rules.effectiveName(name: e.name, props: props))) }
            for goal in rules.goalsMet(name: e.name, path: e.path, props: props) { marks.append(ReplayMarker(timestamp: e.timestamp, kind: .goal, label: "Goal: " + goal)) }
        }
        return marks
    }

    /// Deletes recordings and frees stylesheets no other recording references.
    static func deleteRecordings(_ db: Database, ids: [Int64]) throws -> Int {
        var deleted = 0
        for id in ids {
            let hashes = try Data.fetchAll(db, sql: "SELECT hash FROM replay_style_refs WHERE recording_id = ?", arguments: [id])
            for hash in hashes {
                try db.execute(sql: "UPDATE replay_styles SET refs = refs - 1 WHERE hash = ?", arguments: [hash])
                try db.execute(sql: "DELETE FROM replay_styles WHERE hash = ? AND refs <= 0", arguments: [hash])
            }
            try db.execute(sql: "DELETE FROM replay_style_refs WHERE recording_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM replay_chunks WHERE recording_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM replay_pages WHERE recording_id = ?", arguments: [id])
            try deleteHeatmap(db, recording: id)
            try db.execute(sql: "DELETE FROM recordings WHERE id = ?", arguments: [id])
            deleted += db.changesCount
        }
        return deleted
    }

    /// Deletes one recording; false when it does not exist (for that site, when given).
    public func deleteRecording(id: Int64, site: String? = nil) async throws(StorageError) -> Bool {
        let n = try await Self.wrap {
            try await pool.write { db in
                guard try Int64.fetchOne(db, sql: "SELECT id FROM recordings WHERE id = ? AND (? IS NULL OR site = ?)", arguments: [id, site, site]) != nil else { return 0 }
                return try Self.deleteRecordings(db, ids: [id])
            }
        }
        return n > 0
    }

    /// Deletes recordings last received before `cutoff` (retention).
    public func purgeRecordings(site: String, cutoff: Int64) async throws(StorageError) -> Int {
        try await Self.wrap {
            try await pool.write { db in
                let ids = try Int64.fetchAll(db, sql: "SELECT id FROM recordings WHERE site = ? AND received_at < ?", arguments: [site, cutoff])
                return try Self.deleteRecordings(db, ids: ids)
            }
        }
    }

    /// Which of these sessions have a recording (links from session lists).
    public func recordedSessions(ids: [Int64]) async throws(StorageError) -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return try await Self.wrap {
            try await pool.read { db in
                Set(try Int64.fetchAll(db, sql: "SELECT DISTINCT session_id FROM recordings WHERE session_id IN (\(ids.map { _ in "?" }.joined(separator: ",")))",
                                       arguments: StatementArguments(ids)))
            }
        }
    }

    /// Recording IDs of a visitor (data-subject requests).
    static func recordingIDs(_ db: Database, site: String, visitor: Data) throws -> [Int64] {
        try Int64.fetchAll(db, sql: "SELECT id FROM recordings WHERE site = ? AND visitor = ? ORDER BY started_at, id", arguments: [site, visitor])
    }

    /// Sizes for BENCHMARKS and the privacy page: raw JSON received and bytes stored
    /// (compressed chunks plus each shared stylesheet once).
    public func replayStorageTotals() async throws(StorageError) -> (raw: Int, chunks: Int, styles: Int) {
        try await Self.wrap {
            try await pool.read { db in
                let raw = try Int.fetchOne(db, sql: "SELECT coalesce(sum(raw_bytes), 0) FROM replay_chunks") ?? 0
                let chunks = try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(data)), 0) FROM replay_chunks") ?? 0
                let styles = try Int.fetchOne(db, sql: "SELECT coalesce(sum(length(text)), 0) FROM replay_styles") ?? 0
                return (raw, chunks, styles)
            }
        }
    }

    /// Stylesheets and their reference counts (tests check they are freed).
    public func replayStyleRefs() async throws(StorageError) -> [String: Int] {
        try await Self.wrap {
            try await pool.read { db in
                var out: [String: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT hash, refs FROM replay_styles") {
                    let hash: Data = row["hash"]
                    out[[UInt8](hash).hexString] = row["refs"]
                }
                return out
            }
        }
    }
}
