import Foundation
import Privacy
import Storage

/// Data-subject export and erasure, shared by the JSON API and `veil privacy`. Every
/// request is written to the audit log with a hash of the subject, never the identifier.
public struct PrivacyRequests: Sendable {
    let database: VeilDatabase
    let clock: TimeSource
    let secret: [UInt8]

    public init(database: VeilDatabase, clock: TimeSource, secret: [UInt8]) {
        self.database = database
        self.clock = clock
        self.secret = secret
    }

    /// Turns what a person can name (a session number, the visitor ID their browser shows,
    /// the site's user ID) into a subject. Raw IDs are hashed here and never stored.
    public func subject(site: String, session: String?, visitor: String?, user: String?) throws(APIError) -> Subject {
        let given = [session, visitor, user].compactMap { $0 }.filter { !$0.isEmpty }
        guard given.count == 1 else { throw APIError(.badRequest, "missing_subject", "name exactly one of session, visitor or user") }
        if let session, !session.isEmpty {
            guard let id = Int64(session), id > 0 else { throw APIError(.badRequest, "invalid_subject", "session must be a session number") }
            return .session(id)
        }
        if let visitor, !visitor.isEmpty { return .visitor(IdentityHasher.visitor(secret: secret, site: site, visitorID: visitor)) }
        return .user(IdentityHasher.user(secret: secret, site: site, userID: user ?? ""))
    }

    /// An export: one JSON document, or for large subjects a zip of NDJSON files.
    public enum ExportFile: Sendable {
        case json(String)
        case zip([UInt8])

        public var fileExtension: String { if case .zip = self { return "zip" }; return "json" }
        public var bytes: [UInt8] {
            switch self {
            case .json(let text): return Array(text.utf8)
            case .zip(let bytes): return bytes
            }
        }
    }

    /// Every row held about the subject and what each field means: one JSON document, or
    /// above `zipAboveEvents` events a zip of `export.json` (header), `sessions.ndjson`
    /// and `events.ndjson`, so very large subjects stream into tools line by line.
    public func export(site: String, subject: Subject, actor: String, zipAboveEvents: Int = 10_000) async throws(StorageError) -> ExportFile {
        let records = try await database.records(site: site, subject: subject)
        try await audit(action: "export", site: site, subject: subject, actor: actor, rows: ["events": records.events.count, "sessions": records.sessions.count, "recordings": records.recordings.count])
        let now = clock.nowMillis()
        guard records.events.count > zipAboveEvents else {
            return .json(Self.document(site: site, subject: subject, records: records, generatedAt: now))
        }
        var zip = ZipWriter()
        zip.add("export.json", Array(("{" + Self.header(site: site, subject: subject, generatedAt: now) + ",\"files\":[\"sessions.ndjson\",\"events.ndjson\",\"recordings.ndjson\",\"replay_pages.ndjson\"" + records.recordings.map { ",\"recording-\($0.0.id).ndjson\"" }.joined() + "],\"recordings\":[" + records.recordings.map { Self.json($0.0) }.joined(separator: ",") + "]}\n").utf8))
        for (name, rows) in records.tables { zip.add("\(name).ndjson", Array(rows.map { $0 + "\n" }.joined().utf8)) }
        for (summary, lines) in records.recordings {
            zip.add("recording-\(summary.id).ndjson", Array(lines.map { $0 + "\n" }.joined().utf8))
        }
        return .zip(zip.finish())
    }

    public func erase(site: String, subject: Subject, actor: String) async throws(StorageError) -> [String: Int] {
        let counts = try await database.erase(site: site, subject: subject)
        try await audit(action: "erase", site: site, subject: subject, actor: actor, rows: counts)
        return counts
    }

    private func audit(action: String, site: String, subject: Subject, actor: String, rows: [String: Int]) async throws(StorageError) {
        let json = "{" + rows.sorted { $0.key < $1.key }.map { "\(JSONWriter.string($0.key)):\($0.value)" }.joined(separator: ",") + "}"
        try await database.appendAudit(AuditEntry(at: clock.nowMillis(), actor: actor, action: action, site: site, subjectKind: subject.kind,
                                                  subjectHash: subject.auditHash, rows: json))
    }

    /// The tables an export holds rows of, whole.
    static let exportedTables: Set<String> = ["sessions", "events", "recordings", "replay_pages"]

    static func s(_ v: String?) -> String { v.map(JSONWriter.string) ?? "null" }

    /// `"veil_export":{…},"fields":{…}`: what the export is and what each field means.
    static func header(site: String, subject: Subject, generatedAt: Int64) -> String {
        let fields = StoredFields.all.filter { exportedTables.contains($0.table) }.map {
            "\(JSONWriter.string($0.table + "." + $0.column)):{\"meaning\":\(JSONWriter.string($0.meaning)),\"source\":\(JSONWriter.string($0.source)),\"kept\":\(JSONWriter.string($0.kept))}"
        }.joined(separator: ",")
        return """
        "veil_export":{"version":1,"generated_at":\(generatedAt),"site":\(s(site)),"subject":\(s(subject.description)),\
        "note":"Every row Veil holds about this subject. Times are milliseconds since 1970 (UTC). Veil stores no IP address, no user-agent string and no cookie."},\
        "fields":{\(fields)}
        """
    }

    /// A recording's facts (the zip's header lists them).
    static func json(_ x: RecordingSummary) -> String {
        "{\"id\":\(x.id),\"site\":\(s(x.site)),\"session_id\":\(x.sessionID.map(String.init) ?? "null"),\"started_at\":\(x.startedAt),\"last_at\":\(x.lastAt),\"pages\":\(x.pages),\"event_count\":\(x.events),\"stored_bytes\":\(x.storedBytes),\"entry_url\":\(s(x.entryURL))}"
    }

    static func document(site: String, subject: Subject, records: SubjectRecords, generatedAt: Int64) -> String {
        var out = "{" + header(site: site, subject: subject, generatedAt: generatedAt)
        for (name, rows) in records.tables { out += ",\(JSONWriter.string(name)):[" + rows.joined(separator: ",") + "]" }
        // Each recording's rrweb events as stored (masked), by recording ID.
        out += ",\"recording_events\":{" + records.recordings.map { "\"\($0.0.id)\":[" + $0.1.joined(separator: ",") + "]" }.joined(separator: ",") + "}}"
        return out
    }
}
