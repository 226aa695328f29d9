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

    /// One JSON document with every row held about the subject and what each field means.
    public func export(site: String, subject: Subject, actor: String) async throws(StorageError) -> String {
        let records = try await database.records(site: site, subject: subject)
        try await audit(action: "export", site: site, subject: subject, actor: actor, rows: ["events": records.events.count, "sessions": records.sessions.count])
        return Self.document(site: site, subject: subject, records: records, generatedAt: clock.nowMillis())
    }

    public func erase(site: String, subject: Subject, actor: String) async throws(StorageError) -> [String: Int] {
        let counts = try await database.erase(site: site, subject: subject)
        try await audit(action: "erase", site: site, subject: subject, actor: actor, rows: counts)
        return counts
    }

    private func audit(action: String, site: String, subject: Subject, actor: String, rows: [String: Int]) async throws(StorageError) {
        let json = "{" + rows.sorted { $0.key < $1.key }.map { "\(JSONWriter.string($0.key)):\($0.value)" }.joined(separator: ",") + "}"
        try await database.appendAudit(AuditEntry(at: clock.nowMillis(), actor: actor, action: action, site: site, subjectHash: subject.auditHash, rows: json))
    }

    static func document(site: String, subject: Subject, records: SubjectRecords, generatedAt: Int64) -> String {
        func s(_ v: String?) -> String { v.map(JSONWriter.string) ?? "null" }
        let fields = StoredFields.all.filter { $0.table == "events" || $0.table == "sessions" }.map {
            "\(JSONWriter.string($0.table + "." + $0.column)):{\"meaning\":\(JSONWriter.string($0.meaning)),\"source\":\(JSONWriter.string($0.source)),\"kept\":\(JSONWriter.string($0.kept))}"
        }.joined(separator: ",")
        let sessions = records.sessions.map {
            "{\"id\":\($0.id),\"site\":\(s($0.site)),\"visitor\":\(s($0.visitor.hexString)),\"started_at\":\($0.startedAt),\"last_seen\":\($0.lastSeen),\"entry_path\":\(s($0.entryPath)),\"exit_path\":\(s($0.exitPath)),\"pageviews\":\($0.pageviews),\"events\":\($0.events)}"
        }.joined(separator: ",")
        let events = records.events.map {
            "{\"id\":\($0.id),\"site\":\(s($0.site)),\"ts\":\($0.timestamp),\"name\":\(s($0.name)),\"host\":\(s($0.host)),\"path\":\(s($0.path)),\"query\":\($0.query ?? "null"),\"referrer_host\":\(s($0.referrerHost)),\"referrer_path\":\(s($0.referrerPath)),\"props\":\($0.props ?? "null"),\"visitor\":\(s($0.visitor.hexString)),\"session_id\":\($0.sessionID),\"browser\":\(s($0.browser)),\"os\":\(s($0.os)),\"device\":\(s($0.device)),\"client_id\":\(s($0.clientID))}"
        }.joined(separator: ",")
        return """
        {"veil_export":{"version":1,"generated_at":\(generatedAt),"site":\(s(site)),"subject":\(s(subject.description)),\
        "note":"Every row Veil holds about this subject. Times are milliseconds since 1970 (UTC). Veil stores no IP address, no user-agent string and no cookie."},\
        "fields":{\(fields)},"sessions":[\(sessions)],"events":[\(events)]}
        """
    }
}
