import Crypto
import Foundation
import Privacy

/// One stored event as a line of Veil's raw-event export (NDJSON, schema 1): the event
/// with its session's attributes, for warehouses, archives and `veil import`.
///
/// Fields (README, "Raw-event export"): `schema`, `event_id`, `site`, `time` (ISO-8601 UTC),
/// `ts` (ms), `name`, `host`, `path`, `query`, `referrer_host`, `referrer_path`, `props`,
/// `visitor` and `user` (hex hashes, as stored), `browser`, `os`, `device`, and `session`
/// (`id`, `started_at`, `entry_path`, `exit_path`, `pageviews`, `events`, `duration_ms`,
/// `referrer_host`, `channel`, `utm_*`, `screen`, `language`, `country`).
public enum EventLine {
    public static let schema = 1

    /// Columns the export reads, in this order (see `encode`).
    static let columns = """
        e.id, e.site, e.ts, e.name, e.host, e.path, e.query, e.referrer_host, e.referrer_path, e.props, e.visitor, e.session_id,
        e.browser, e.os, e.device, e.client_id, e.user_hash, s.started_at, s.last_seen, s.entry_path, s.exit_path, s.pageviews, s.events,
        s.referrer_host, s.channel, s.utm_source, s.utm_medium, s.utm_campaign, s.utm_term, s.utm_content, s.screen, s.language, s.country
        """

    /// The event's ID in the export: its client ID when it has one, else a digest of what
    /// identifies the row, so exporting the same folder twice gives the same IDs.
    static func eventID(site: String, id: Int64, ts: Int64, visitor: [UInt8], name: String, path: String) -> String {
        var message = Array(site.utf8) + [0]
        message += Array(String(id).utf8) + [0] + Array(String(ts).utf8) + [0] + visitor + [0]
        message += Array(name.utf8) + [0] + Array(path.utf8)
        return "veil:" + Array(SHA256.hash(data: message).prefix(16)).hexString
    }

    /// ISO-8601 UTC with milliseconds.
    public static func iso8601(_ ms: Int64) -> String {
        let day = DayCalendar.floorDiv(ms, 86_400_000)
        let rest = ms - day * 86_400_000
        return DayCalendar.dateString(day) + String(format: "T%02d:%02d:%02d.%03dZ", rest / 3_600_000, rest / 60_000 % 60, rest / 1000 % 60, rest % 1000)
    }

    struct Row {
        var id: Int64, site: String, ts: Int64, name: String, host: String, path: String
        var query: String?, referrerHost: String?, referrerPath: String?, props: String?
        var visitor: [UInt8], sessionID: Int64?, browser: String, os: String, device: String, clientID: String?, userHash: [UInt8]?
        var session: [(String, JSONValue)]
    }

    static func encode(_ r: Row) -> String {
        var out = "{\"schema\":\(schema),\"event_id\":"
        out += JSONWriter.string(r.clientID ?? eventID(site: r.site, id: r.id, ts: r.ts, visitor: r.visitor, name: r.name, path: r.path))
        out += ",\"site\":" + JSONWriter.string(r.site) + ",\"time\":\"" + iso8601(r.ts) + "\",\"ts\":\(r.ts)"
        out += ",\"name\":" + JSONWriter.string(r.name) + ",\"host\":" + JSONWriter.string(r.host) + ",\"path\":" + JSONWriter.string(r.path)
        out += ",\"query\":" + (r.query ?? "{}")
        out += ",\"referrer_host\":" + (r.referrerHost.map(JSONWriter.string) ?? "null") + ",\"referrer_path\":" + (r.referrerPath.map(JSONWriter.string) ?? "null")
        out += ",\"props\":" + (r.props ?? "{}")
        out += ",\"visitor\":\"" + r.visitor.hexString + "\",\"user\":" + (r.userHash.map { "\"" + $0.hexString + "\"" } ?? "null")
        out += ",\"browser\":" + JSONWriter.string(r.browser) + ",\"os\":" + JSONWriter.string(r.os) + ",\"device\":" + JSONWriter.string(r.device)
        out += ",\"session\":" + JSONWriter.value(.object(r.session)) + "}"
        return out
    }

    /// A line read back: the event ready to store, or why it cannot be.
    public static func decode(_ line: [UInt8]) -> Result<CleanEvent, LineError> {
        guard let root = try? JSONParser.parse(line), case .object = root else { return .failure(.notJSON) }
        guard root["schema"]?.intValue == schema else { return .failure(.schema) }
        func text(_ key: String) -> String? { root[key]?.stringValue }
        guard let site = text("site"), let ts = root["ts"]?.intValue, let name = text("name"), let host = text("host"), let path = text("path"),
              let eventID = text("event_id"), let visitor = text("visitor").flatMap({ [UInt8](hex: $0) }), visitor.count == VisitorHasher.byteCount,
              let browser = text("browser"), let os = text("os"), let device = text("device") else { return .failure(.missingField) }
        func pairs(_ value: JSONValue?) -> [(String, String)] {
            guard case .object(let members)? = value else { return [] }
            return members.compactMap { k, v in v.scalarText.map { (k, $0) } }
        }
        var event = CleanEvent(site: site, timestamp: Int64(ts), name: name, host: host, path: path, query: pairs(root["query"]),
                               referrerHost: text("referrer_host"), referrerPath: text("referrer_path"), props: pairs(root["props"]),
                               clientID: eventID, visitorCandidates: [visitor], browser: browser, os: os, device: device)
        event.userHash = text("user").flatMap { [UInt8](hex: $0) }
        let s = root["session"]
        func session(_ key: String) -> String { s?[key]?.stringValue ?? "" }
        var visit = VisitAttributes()
        if let channel = s?["channel"]?.stringValue { visit.channel = channel }
        visit.utmSource = session("utm_source")
        visit.utmMedium = session("utm_medium")
        visit.utmCampaign = session("utm_campaign")
        visit.utmTerm = session("utm_term")
        visit.utmContent = session("utm_content")
        visit.screen = session("screen")
        visit.language = session("language")
        visit.country = session("country")
        event.visit = visit
        return .success(event)
    }

    public enum LineError: String, Error, Sendable {
        case notJSON = "not_json"
        case schema = "unknown_schema"
        case missingField = "missing_field"
        case unknownSite = "unknown_site"
    }
}
