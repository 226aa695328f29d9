import Crypto
import Foundation
import GRDB
import Privacy

/// Who a data-subject request is about.
public enum Subject: Sendable, Equatable, CustomStringConvertible {
    /// A server-side session number. For cookieless sites the session's visitor hash is
    /// the person for that day, so every session and event with that hash is included.
    case session(Int64)
    /// Persistent identity: the HMAC of a raw visitor ID (from `veil.visitorId()`).
    case visitor([UInt8])
    /// Persistent identity: the HMAC of the site's user ID (from `veil.identify`).
    case user([UInt8])

    public var description: String {
        switch self {
        case .session(let id): return "session:\(id)"
        case .visitor(let hash): return "visitor:\(hash.hexString)"
        case .user(let hash): return "user:\(hash.hexString)"
        }
    }

    /// The kind of identifier, for the audit log.
    public var kind: String {
        switch self {
        case .session: return "session"
        case .visitor: return "visitor"
        case .user: return "user"
        }
    }

    /// What the audit log stores instead of the identifier.
    public var auditHash: String { SHA256.hash(data: Array(description.utf8)).hexString }
}

/// Everything held about one subject.
public struct SubjectRecords: Sendable {
    public var sessions: [StoredSession] = []
    public var events: [StoredEvent] = []
    /// Every column of every row held about the subject, by table, each row a JSON
    /// object keyed by column name (`SELECT *`, so a new column is exported at once).
    public var tables: [(name: String, rows: [String])] = []
    /// Session recordings; their events are streamed (`streamRecordingEvents`), never
    /// loaded here.
    public var recordings: [RecordingSummary] = []
}

public struct AuditEntry: Sendable, Equatable {
    public var at: Int64
    public var actor: String
    public var action: String
    public var site: String
    public var subjectKind: String
    public var subjectHash: String
    public var rows: String
    /// Row number: the paging cursor of the privacy page.
    public var id: Int64 = 0

    public init(at: Int64, actor: String, action: String, site: String, subjectKind: String, subjectHash: String, rows: String) {
        self.at = at
        self.actor = actor
        self.action = action
        self.site = site
        self.subjectKind = subjectKind
        self.subjectHash = subjectHash
        self.rows = rows
    }
}

// MARK: - Data-subject requests

extension VeilDatabase {
    /// The visitor hashes a subject resolves to (empty when nothing is held).
    private static func visitors(_ db: Database, site: String, subject: Subject) throws -> [Data] {
        switch subject {
        case .session(let id):
            return try Data.fetchAll(db, sql: "SELECT visitor FROM sessions WHERE site = ? AND id = ?", arguments: [site, id])
        case .visitor(let hash):
            return try Data.fetchAll(db, sql: """
                SELECT visitor FROM events WHERE site = ? AND visitor = ? UNION SELECT visitor FROM recordings WHERE site = ? AND visitor = ?
                UNION SELECT visitor FROM feedback WHERE site = ? AND visitor = ? LIMIT 1
                """, arguments: [site, Data(hash), site, Data(hash), site, Data(hash)])
        case .user(let hash):
            // Every visitor ID the user was seen with: the person's events on all their devices,
            // and the IDs an SDK's identify or alias call linked to them.
            return try Data.fetchAll(db, sql: "SELECT DISTINCT visitor FROM events WHERE site = ? AND user_hash = ?", arguments: [site, Data(hash)])
                + linkedVisitors(db, site: site, userHash: hash)
        }
    }

    public func records(site: String, subject: Subject) async throws(StorageError) -> SubjectRecords {
        let (fetched, recordingIDs): (SubjectRecords, [Int64]) = try await Self.wrap {
            try await pool.read { db in
                var seen = Set<Data>()
                let visitors = try Self.visitors(db, site: site, subject: subject).filter { seen.insert($0).inserted }
                var sessions: [Row] = [], events: [Row] = [], recordings: [Row] = [], pages: [Row] = [], links: [Row] = [], feedback: [Row] = []
                var ids: [Int64] = []
                for visitor in visitors {
                    sessions += try Row.fetchAll(db, sql: "SELECT * FROM sessions WHERE site = ? AND visitor = ? ORDER BY started_at, id", arguments: [site, visitor])
                    events += try Row.fetchAll(db, sql: "SELECT * FROM events WHERE site = ? AND visitor = ? ORDER BY ts, id", arguments: [site, visitor])
                    links += try Row.fetchAll(db, sql: "SELECT * FROM identity_links WHERE site = ? AND visitor = ? ORDER BY first_seen", arguments: [site, visitor])
                    feedback += try Row.fetchAll(db, sql: "SELECT * FROM feedback WHERE site = ? AND visitor = ? ORDER BY received_at, id", arguments: [site, visitor])
                    ids += try Self.recordingIDs(db, site: site, visitor: visitor)
                }
                for id in ids {
                    recordings += try Row.fetchAll(db, sql: "SELECT * FROM recordings WHERE id = ?", arguments: [id])
                    pages += try Row.fetchAll(db, sql: "SELECT * FROM replay_pages WHERE recording_id = ? ORDER BY started_at, page", arguments: [id])
                }
                // One read of each row serves both the typed values and the export by column name.
                let records = SubjectRecords(sessions: sessions.map(Self.session), events: events.map(Self.event),
                                             tables: [("sessions", sessions.map(Self.json)), ("events", events.map(Self.json)),
                                                      ("recordings", recordings.map(Self.json)), ("replay_pages", pages.map(Self.json)),
                                                      ("identity_links", links.map(Self.json)), ("feedback", feedback.map(Self.json))])
                return (records, ids)
            }
        }
        var records = fetched
        for id in recordingIDs {
            if let summary = try await recording(id: id) { records.recordings.append(summary) }
        }
        return records
    }

    /// A row as a JSON object by column name: blobs as hex, the JSON columns (`props`,
    /// `query`) inlined as the JSON they hold.
    static func json(_ row: Row) -> String {
        var fields: [String] = []
        for (column, value) in row {
            let json: String
            switch value.storage {
            case .null: json = "null"
            case .int64(let i): json = String(i)
            case .double(let d): json = d.isFinite ? String(d) : "null"
            case .string(let text):
                json = (column == "props" || column == "query") && text.hasPrefix("{") ? text : JSONWriter.string(text)
            case .blob(let data): json = JSONWriter.string([UInt8](data).hexString)
            }
            fields.append(JSONWriter.string(column) + ":" + json)
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// Deletes every row about the subject, then truncates the WAL so the deleted bytes
    /// (overwritten by `secure_delete`) do not survive in it. Returns rows per table.
    /// `rules` recompute the rollups of the days the subject touched.
    public func erase(site: String, subject: Subject, rules: AnalyticsRules) async throws(StorageError) -> [String: Int] {
        let counts = try await Self.wrap {
            try await pool.write { db in
                var events = 0, sessions = 0, recordings = 0, links = 0, feedback = 0
                var days = Set<Int64>()
                for visitor in try Self.visitors(db, site: site, subject: subject) {
                    recordings += try Self.deleteRecordings(db, ids: try Self.recordingIDs(db, site: site, visitor: visitor))
                    // Rollups of every day the subject touched are recomputed without them.
                    for ts in try Int64.fetchAll(db, sql: "SELECT ts FROM events WHERE site = ? AND visitor = ? UNION SELECT started_at FROM sessions WHERE site = ? AND visitor = ?",
                                                 arguments: [site, visitor, site, visitor]) {
                        days.insert(rules.calendar.day(of: ts))
                    }
                    try db.execute(sql: "DELETE FROM events WHERE site = ? AND visitor = ?", arguments: [site, visitor])
                    events += db.changesCount
                    try db.execute(sql: "DELETE FROM sessions WHERE site = ? AND visitor = ?", arguments: [site, visitor])
                    sessions += db.changesCount
                    try db.execute(sql: "DELETE FROM identity_links WHERE site = ? AND visitor = ?", arguments: [site, visitor])
                    links += db.changesCount
                    try db.execute(sql: "DELETE FROM feedback WHERE site = ? AND visitor = ?", arguments: [site, visitor])
                    feedback += db.changesCount
                }
                if case .user(let hash) = subject {
                    try db.execute(sql: "DELETE FROM identity_links WHERE site = ? AND user_hash = ?", arguments: [site, Data(hash)])
                    links += db.changesCount
                }
                for day in days.sorted() { try Self.rebuildDay(db, site: site, day: day, rules: rules) }
                return ["events": events, "sessions": sessions, "recordings": recordings, "identity_links": links, "feedback": feedback]
            }
        }
        seenCache.clear()
        try await checkpoint()
        return counts
    }

    /// The latest sessions of a site (to find the number a data-subject request needs).
    public func recentSessions(site: String, limit: Int) async throws(StorageError) -> [StoredSession] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT id, site, visitor, started_at, last_seen, entry_path, exit_path, pageviews, events
                    FROM sessions WHERE site = ? ORDER BY last_seen DESC, id DESC LIMIT ?
                    """, arguments: [site, limit]).map(Self.session)
            }
        }
    }

    public func appendAudit(_ entry: AuditEntry) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO audit_log(at, actor, action, site, subject_kind, subject_hash, rows) VALUES (?, ?, ?, ?, ?, ?, ?)",
                               arguments: [entry.at, entry.actor, entry.action, entry.site, entry.subjectKind, entry.subjectHash, entry.rows])
            }
        }
    }

    /// One site's audit entries, newest first, `limit` at a time: entries older than the
    /// row `before` (the last ID of the previous page). Filtered in SQL, so a quiet site
    /// shows its entries however busy the others are.
    public func auditLog(site: String, limit: Int, before: Int64? = nil) async throws(StorageError) -> [AuditEntry] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT at, actor, action, site, subject_kind, subject_hash, rows, id FROM audit_log WHERE site = ? AND id < ? ORDER BY id DESC LIMIT ?",
                                 arguments: [site, before ?? Int64.max, limit])
                    .map(AuditEntry.init(row:))
            }
        }
    }

    public func auditLog(limit: Int = 200) async throws(StorageError) -> [AuditEntry] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT at, actor, action, site, subject_kind, subject_hash, rows, id FROM audit_log ORDER BY at DESC, id DESC LIMIT ?", arguments: [limit])
                    .map(AuditEntry.init(row:))
            }
        }
    }

    /// Columns of every table, as SQLite reports them (to check `StoredFields`).
    public func schemaColumns() async throws(StorageError) -> [String: [String]] {
        try await Self.wrap {
            try await pool.read { db in
                var out: [String: [String]] = [:]
                let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'grdb_migrations'")
                for table in tables {
                    out[table] = try db.columns(in: table).map(\.name)
                }
                return out
            }
        }
    }

    static func session(_ row: Row) -> StoredSession {
        StoredSession(id: row["id"], site: row["site"], visitor: [UInt8](row["visitor"] as Data), startedAt: row["started_at"], lastSeen: row["last_seen"],
                      entryPath: row["entry_path"], exitPath: row["exit_path"], pageviews: row["pageviews"], events: row["events"])
    }

    static func event(_ row: Row) -> StoredEvent {
        StoredEvent(id: row["id"], site: row["site"], timestamp: row["ts"], name: row["name"], host: row["host"], path: row["path"], query: row["query"],
                    referrerHost: row["referrer_host"], referrerPath: row["referrer_path"], props: row["props"], visitor: [UInt8](row["visitor"] as Data),
                    sessionID: row["session_id"], browser: row["browser"], os: row["os"], device: row["device"], clientID: row["client_id"],
                    userHash: (row["user_hash"] as Data?).map { [UInt8]($0) })
    }
}

extension AuditEntry {
    /// From a row selecting the `audit_log` columns by name.
    init(row: Row) {
        self.init(at: row["at"], actor: row["actor"], action: row["action"], site: row["site"], subjectKind: row["subject_kind"],
                  subjectHash: row["subject_hash"], rows: row["rows"])
        id = row["id"]
    }
}
