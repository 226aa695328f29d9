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
        var out = LineBuilder()
        out.iso8601(ms)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    /// A stored event and its session, as the export reads them.
    struct Row {
        var id: Int64, site: String, ts: Int64, name: String, host: String, path: String
        var query: String?, referrerHost: String?, referrerPath: String?, props: String?
        var visitor: [UInt8], browser: String, os: String, device: String, clientID: String?, userHash: [UInt8]?
        var session: Session?
    }

    struct Session {
        var id: Int64, startedAt: Int64, lastSeen: Int64, entryPath: String, exitPath: String, pageviews: Int64, events: Int64
        var referrerHost: String?
        /// channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, screen, language, country.
        var attributes: [String]
        static let attributeNames = ["channel", "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "screen", "language", "country"]
    }

    /// The line's bytes, newline included. Written byte by byte: the export of ten million
    /// events spends its time here.
    static func encode(_ r: Row, into out: inout LineBuilder) {
        out.raw("{\"schema\":"); out.int(Int64(schema))
        out.raw(",\"event_id\":"); out.string(r.clientID ?? eventID(site: r.site, id: r.id, ts: r.ts, visitor: r.visitor, name: r.name, path: r.path))
        out.raw(",\"site\":"); out.string(r.site)
        out.raw(",\"time\":\""); out.iso8601(r.ts); out.raw("\",\"ts\":"); out.int(r.ts)
        out.raw(",\"name\":"); out.string(r.name)
        out.raw(",\"host\":"); out.string(r.host)
        out.raw(",\"path\":"); out.string(r.path)
        // The stored JSON objects are Veil's own compact JSON: inlined as they are.
        out.raw(",\"query\":"); out.raw(r.query ?? "{}")
        out.raw(",\"referrer_host\":"); out.optional(r.referrerHost)
        out.raw(",\"referrer_path\":"); out.optional(r.referrerPath)
        out.raw(",\"props\":"); out.raw(r.props ?? "{}")
        out.raw(",\"visitor\":\""); out.hex(r.visitor); out.raw("\"")
        out.raw(",\"user\":")
        if let user = r.userHash { out.raw("\""); out.hex(user); out.raw("\"") } else { out.raw("null") }
        out.raw(",\"browser\":"); out.string(r.browser)
        out.raw(",\"os\":"); out.string(r.os)
        out.raw(",\"device\":"); out.string(r.device)
        out.raw(",\"session\":")
        if let s = r.session {
            out.raw("{\"id\":"); out.int(s.id)
            out.raw(",\"started_at\":"); out.int(s.startedAt)
            out.raw(",\"duration_ms\":"); out.int(s.lastSeen - s.startedAt)
            out.raw(",\"entry_path\":"); out.string(s.entryPath)
            out.raw(",\"exit_path\":"); out.string(s.exitPath)
            out.raw(",\"pageviews\":"); out.int(s.pageviews)
            out.raw(",\"events\":"); out.int(s.events)
            out.raw(",\"referrer_host\":"); out.optional(s.referrerHost)
            for (name, value) in zip(Session.attributeNames, s.attributes) {
                out.raw(",\""); out.raw(name); out.raw("\":"); out.string(value)
            }
            out.raw("}")
        } else {
            out.raw("{}")
        }
        out.raw("}\n")
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

/// JSON text built as bytes.
struct LineBuilder {
    var bytes: [UInt8] = []
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    mutating func raw(_ text: String) { bytes += text.utf8 }

    mutating func int(_ value: Int64) { bytes += String(value).utf8 }

    mutating func optional(_ text: String?) {
        if let text { string(text) } else { raw("null") }
    }

    mutating func hex(_ data: [UInt8]) {
        let digits = Self.digits
        for byte in data {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 0x0F)])
        }
    }

    /// A JSON string: `"` and `\\` escaped, control characters as `\\uXXXX`; other UTF-8 as is.
    mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0..<0x20:
                bytes += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), Self.digits[Int(byte >> 4)], Self.digits[Int(byte & 0x0F)]]
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    mutating func iso8601(_ ms: Int64) {
        let day = DayCalendar.floorDiv(ms, 86_400_000)
        let rest = ms - day * 86_400_000
        let (y, m, d) = DayCalendar.civil(day)
        func digits(_ v: Int64, _ count: Int) {
            var v = v
            var tmp = [UInt8](repeating: UInt8(ascii: "0"), count: count)
            for i in stride(from: count - 1, through: 0, by: -1) {
                tmp[i] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
            }
            bytes += tmp
        }
        digits(Int64(y), 4); bytes.append(UInt8(ascii: "-")); digits(Int64(m), 2); bytes.append(UInt8(ascii: "-")); digits(Int64(d), 2)
        bytes.append(UInt8(ascii: "T")); digits(rest / 3_600_000, 2); bytes.append(UInt8(ascii: ":")); digits(rest / 60_000 % 60, 2)
        bytes.append(UInt8(ascii: ":")); digits(rest / 1000 % 60, 2); bytes.append(UInt8(ascii: ".")); digits(rest % 1000, 3); bytes.append(UInt8(ascii: "Z"))
    }
}
