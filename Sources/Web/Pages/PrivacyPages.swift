import Foundation
import Privacy
import Storage

/// The per-site privacy page: policy, scrub counts, data-subject forms, audit log.
struct PrivacyPage: Sendable {
    struct Fact: Sendable { var label: String; var value: String }
    struct Scrubbed: Sendable { var kind: String; var count: Int }
    struct Kind: Sendable { var value: String; var label: String }
    struct Audit: Sendable { var when: String; var actor: String; var action: String; var subject: String; var rows: String }
    struct Confirm: Sendable { var events: Int; var sessions: Int; var subjectLabel: String; var kind: String; var value: String }
    struct Session: Sendable {
        var id: Int64; var started: String; var entry: String; var exit: String; var pageviews: Int; var duration: String
        var replayHref = ""
        var hasReplay = false
    }

    var domain: String
    var domainPath: String
    var message: String?
    var error: String?
    var facts: [Fact]
    var scrubbed: [Scrubbed]
    var hasScrubbed: Bool
    var confirm: Confirm?
    var persistent: Bool
    var kinds: [Kind]
    var audit: [Audit]
    /// The next (older) page of the audit log, when there is one.
    var olderAuditHref: String?
    var hasAudit: Bool
    var sessions: [Session]
    var hasSessions: Bool
    var csrf: String
    var username: String
    var signedIn = true
    /// The page is admin-only, so the layout's Users link always shows.
    var isAdmin = true
    var version = VeilVersion.string

    init(site: SiteRules, oldestEvent: Int64?, scrubbed: [PIIScrubber.Kind: Int], audit: [AuditEntry], auditOlder: Int64? = nil, sessions: [StoredSession] = [], recorded: Set<Int64> = [], csrf: String, username: String,
         message: String? = nil, error: String? = nil, confirm: Confirm? = nil) {
        domain = site.domain
        domainPath = site.domain.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? site.domain
        self.message = message
        self.error = error
        let identity = site.identity == .persistent
            ? "persistent (first-party ID, \(site.consentRequired ? "created only after consent" : "consent not required"))"
            : "cookieless (daily salted hash; nothing stored on the device)"
        var sdks: [String] = []
        if site.sdkKeys.posthogAPIKey != nil { sdks.append("PostHog") }
        if site.sdkKeys.segmentWriteKey != nil { sdks.append("Segment") }
        if site.sdkKeys.umamiWebsiteID != nil { sdks.append("Umami") }
        facts = [
            Fact(label: "Identity", value: identity),
            Fact(label: "Other clients", value: sdks.isEmpty ? "none" : sdks.joined(separator: ", ")
                    + (sdks == ["Umami"] ? "" : "; their IDs stored only as HMACs with the server secret; person properties kept: "
                        + (site.personProperties.isEmpty ? "none" : site.personProperties.joined(separator: ", ")))),
            Fact(label: "Do Not Track", value: site.honorDNT ? "honoured" : "ignored"),
            Fact(label: "Global Privacy Control", value: site.honorGPC ? "honoured" : "ignored"),
            Fact(label: "Events kept", value: "\(site.eventsRetentionDays) days"),
            Fact(label: "Session replay", value: site.replay.enabled
                    ? "on for \(Int((site.replay.sampleRate * 100).rounded())) % of page loads; inputs always masked; text masking: \(site.replay.maskText.rawValue); \(site.replay.eraseSelectors.count) erase and \(site.replay.blockSelectors.count) block selectors in the config"
                    : "off"),
            Fact(label: "Recordings kept", value: "\(site.replaysRetentionDays) days"),
            Fact(label: "Oldest event held", value: oldestEvent.map { DayCalendar.dateString(DayCalendar.utc.day(of: $0)) } ?? "none"),
            Fact(label: "Extra scrub patterns", value: site.scrubPatterns.isEmpty ? "none" : "\(site.scrubPatterns.count)"),
            Fact(label: "Property allowlist", value: site.propertyAllowlist.isEmpty ? "all properties kept (scrubbed)" : site.propertyAllowlist.joined(separator: ", ")),
        ]
        self.scrubbed = PIIScrubber.Kind.allCases.compactMap { kind in scrubbed[kind].map { Scrubbed(kind: kind.placeholder, count: $0) } }
        hasScrubbed = !self.scrubbed.isEmpty
        self.confirm = confirm
        persistent = site.hasPersonIDs
        kinds = [Kind(value: "session", label: "Session number")] + (persistent ? [Kind(value: "visitor", label: "Visitor ID"), Kind(value: "user", label: "User ID")] : [])
        func when(_ ms: Int64) -> String {
            DayCalendar.utc.dateTime(ms)
        }
        self.audit = audit.map {
            Audit(when: when($0.at), actor: $0.actor, action: $0.action, subject: $0.subjectKind + " " + String($0.subjectHash.prefix(16)) + "…", rows: $0.rows)
        }
        let domainPath = self.domainPath
        self.sessions = sessions.map {
            Session(id: $0.id, started: when($0.startedAt), entry: $0.entryPath, exit: $0.exitPath, pageviews: $0.pageviews,
                    duration: Format.duration(seconds: Double($0.lastSeen - $0.startedAt) / 1000),
                    replayHref: "/sites/\(domainPath)/replays?session=\($0.id)", hasReplay: recorded.contains($0.id))
        }
        hasSessions = !self.sessions.isEmpty
        hasAudit = !self.audit.isEmpty
        olderAuditHref = auditOlder.map { "/sites/\(domainPath)/privacy?audit_before=\($0)#audit" }
        self.csrf = csrf
        self.username = username
    }
}

/// "What Veil stores", from the same catalog the export header and the README use.
struct StoredPage: Sendable {
    struct Table: Sendable { var name: String; var fields: [StoredField] }
    var tables: [Table]
    var csrf: String
    var username: String
    var isAdmin: Bool
    var signedIn = true
    var version = VeilVersion.string

    init(csrf: String, username: String, isAdmin: Bool) {
        var order: [String] = []
        var byTable: [String: [StoredField]] = [:]
        for field in StoredFields.all {
            if byTable[field.table] == nil { order.append(field.table) }
            byTable[field.table, default: []].append(field)
        }
        tables = order.map { Table(name: $0, fields: byTable[$0]!) }
        self.csrf = csrf
        self.username = username
        self.isAdmin = isAdmin
    }
}
