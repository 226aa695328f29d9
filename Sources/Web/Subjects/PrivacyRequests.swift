import Foundation
import Privacy
import Storage

/// Data-subject export and erasure, shared by the JSON API and `veil privacy`. Every
/// request is written to the audit log with a hash of the subject, never the identifier.
public struct PrivacyRequests: Sendable {
    let database: VeilDatabase
    let clock: TimeSource
    let secret: [UInt8]
    /// Each site's rules, by site key: an erasure recomputes rollups with them.
    let rules: [String: AnalyticsRules]
    /// With `storage.backend: clickhouse`, where the subject's events live.
    let clickhouse: ClickHouseSubjects?

    public init(database: VeilDatabase, clock: TimeSource, secret: [UInt8], rules: [String: AnalyticsRules], clickhouse: ClickHouseSubjects? = nil) {
        self.database = database
        self.clock = clock
        self.secret = secret
        self.rules = rules
        self.clickhouse = clickhouse
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

    /// An export: one JSON document, or for large subjects a zip of NDJSON files. The
    /// rows are read when it is made; recordings' events are read while it is written,
    /// a few chunks at a time, so a long recording never sits whole in memory.
    public struct Export: Sendable {
        public enum Format: Sendable { case json, zip }
        public let format: Format
        let site: String
        let subject: Subject
        let generatedAt: Int64
        let records: SubjectRecords
        let database: VeilDatabase

        public var fileExtension: String { format == .zip ? "zip" : "json" }

        /// Writes the export piece by piece into `sink` (a response body, a file).
        public func write(_ sink: ([UInt8]) async throws -> Void) async throws {
            let header = PrivacyRequests.header(site: site, subject: subject, generatedAt: generatedAt)
            switch format {
            case .json:
                var out = "{" + header
                for (name, rows) in records.tables { out += ",\(JSONWriter.string(name)):[" + rows.joined(separator: ",") + "]" }
                // Each recording's rrweb events as stored (masked), by recording ID.
                out += ",\"recording_events\":{"
                try await sink(Array(out.utf8))
                for (i, recording) in records.recordings.enumerated() {
                    try await sink(Array(((i > 0 ? "," : "") + "\"\(recording.id)\":[").utf8))
                    var first = true
                    try await database.streamRecordingEvents(id: recording.id) { lines in
                        try await sink(Array(((first ? "" : ",") + lines.joined(separator: ",")).utf8))
                        first = false
                    }
                    try await sink(Array("]".utf8))
                }
                try await sink(Array("}}".utf8))
            case .zip:
                var zip = ZipStream()
                let files = ["sessions.ndjson", "events.ndjson", "recordings.ndjson", "replay_pages.ndjson"] + records.recordings.map { "recording-\($0.id).ndjson" }
                let index = "{" + header + ",\"files\":" + JSONWriter.strings(files) + ",\"recordings\":["
                    + records.recordings.map(PrivacyRequests.json).joined(separator: ",") + "]}\n"
                try await sink(try zip.file("export.json", Array(index.utf8)))
                for (name, rows) in records.tables { try await sink(try zip.file("\(name).ndjson", Array(rows.map { $0 + "\n" }.joined().utf8))) }
                for recording in records.recordings {
                    try await sink(zip.begin("recording-\(recording.id).ndjson"))
                    try await database.streamRecordingEvents(id: recording.id) { lines in
                        try await sink(zip.data(Array(lines.map { $0 + "\n" }.joined().utf8)))
                    }
                    try await sink(try zip.end())
                }
                try await sink(try zip.finish())
            }
        }

        /// The whole export in memory (tests and the CLI's standard output).
        public func bytes() async throws -> [UInt8] {
            var out: [UInt8] = []
            try await write { out += $0 }
            return out
        }
    }

    /// Every row held about the subject and what each field means: one JSON document, or
    /// above `zipAboveEvents` events a zip of `export.json` (header), `sessions.ndjson`,
    /// `events.ndjson`, … so very large subjects stream into tools line by line.
    public func export(site: String, subject: Subject, actor: String, zipAboveEvents: Int = 10_000) async throws(StorageError) -> Export {
        var records = try await database.records(site: site, subject: subject)
        var counts = ["events": records.events.count, "sessions": records.sessions.count, "recordings": records.recordings.count]
        if let clickhouse {
            let rows = try await clickhouse.events(site: site, subject: subject)
            records.tables.append(("clickhouse_events", rows))
            counts["clickhouse_events"] = rows.count
            let answers = try await clickhouse.feedback(site: site, subject: subject)
            records.tables.append(("clickhouse_feedback", answers))
            counts["clickhouse_feedback"] = answers.count
        }
        try await audit(action: "export", site: site, subject: subject, actor: actor, rows: counts)
        return Export(format: records.events.count > zipAboveEvents ? .zip : .json, site: site, subject: subject, generatedAt: clock.nowMillis(),
                      records: records, database: database)
    }

    public func erase(site: String, subject: Subject, actor: String) async throws(StorageError) -> [String: Int] {
        var counts = try await database.erase(site: site, subject: subject, rules: rules[site] ?? AnalyticsRules())
        if let clickhouse { counts.merge(try await clickhouse.erase(site: site, subject: subject)) { $1 } }
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
}
