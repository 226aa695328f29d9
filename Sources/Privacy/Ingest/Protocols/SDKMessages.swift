import Crypto

/// What an SDK protocol adapter makes of a request: items for the one ingest pipeline.
public enum SDKItem: Sendable {
    /// An event (pageview, click or custom event), run through the pipeline like any other.
    case event(RawEvent)
    /// An identify, alias or person-properties call: links an ID to a user.
    case person(PersonUpdate)
    /// A message Veil has no use for (a group call, an SDK's internal event), acknowledged
    /// and counted as the drop reason `not_an_event`.
    case ignored(site: String, messageID: String?, name: String)

    /// The client's ID for the message (PostHog `uuid`, Segment `messageId`).
    public var messageID: String? {
        switch self {
        case .event(let e): e.clientID
        case .person(let p): p.messageID
        case .ignored(_, let id, _): id
        }
    }

    public var site: String {
        switch self {
        case .event(let e): e.site
        case .person(let p): p.site
        case .ignored(let site, _, _): site
        }
    }
}

/// "The person known by `anonymousID` is the user `userID`", with person properties.
/// Stored (by the pipeline's `person` step) only as keyed hashes and allow-listed,
/// scrubbed properties.
public struct PersonUpdate: Sendable, Equatable {
    public var site: String
    public var messageID: String?
    /// The ID the person had before (an anonymous ID, an alias); nil for a properties call.
    public var anonymousID: String?
    public var userID: String
    public var properties: [(String, String)]

    public init(site: String, messageID: String?, anonymousID: String?, userID: String, properties: [(String, String)]) {
        self.site = site
        self.messageID = messageID
        self.anonymousID = anonymousID
        self.userID = userID
        self.properties = properties
    }

    public static func == (a: PersonUpdate, b: PersonUpdate) -> Bool {
        a.site == b.site && a.messageID == b.messageID && a.anonymousID == b.anonymousID && a.userID == b.userID
            && a.properties.map { $0.0 + "=" + $0.1 } == b.properties.map { $0.0 + "=" + $0.1 }
    }
}

/// Field reading shared by the adapters: lenient where SDKs differ (IDs may be numbers),
/// bounded everywhere.
struct SDKFields {
    let limits: IngestLimits

    /// A string field, or a number as its JSON text (SDKs send numeric user IDs).
    func id(_ value: JSONValue?, _ name: String, limit: Int = 256) throws(IngestRejection) -> String? {
        guard let value else { return nil }
        let text: String
        switch value {
        case .null: return nil
        case .string(let s): text = s
        case .number, .numberText: text = value.scalarText ?? ""
        default: throw IngestRejection(.invalidField, "\(name) must be a string")
        }
        guard !text.isEmpty else { return nil }
        guard text.count <= limit else { throw IngestRejection(.valueTooLong, "\(name) is \(text.count) characters; the limit is \(limit)") }
        return text
    }

    /// The first of several places an ID may be sent in.
    func firstID(_ candidates: [(JSONValue?, String)]) throws(IngestRejection) -> String? {
        for (value, name) in candidates {
            if let id = try id(value, name) { return id }
        }
        return nil
    }

    /// A free-text field, left out when too long rather than rejecting a whole batch.
    func text(_ value: JSONValue?, limit: Int) -> String? {
        guard let s = value?.stringValue, !s.isEmpty, s.count <= limit else { return nil }
        return s
    }

    /// A message ID for dedup: as sent when short, else a digest of it.
    func messageID(_ value: JSONValue?) -> String? {
        guard let raw = value?.stringValue ?? value?.scalarText, !raw.isEmpty else { return nil }
        return raw.count <= 64 ? raw : "sha256:" + Array(SHA256.hash(data: Array(raw.utf8)).prefix(24)).hexString
    }

    /// A time: ISO-8601 text, or a number of milliseconds since 1970.
    func time(_ value: JSONValue?) -> Int64? {
        switch value {
        case .string(let s)?: return ClientTime.parseISO8601(s)
        case .number(let d)? where d.isFinite && abs(d) < 1e15: return Int64(d)
        default: return nil
        }
    }

    /// Properties flattened within the limits; what does not fit is left out.
    func properties(_ value: JSONValue?, dropping skip: (String) -> Bool = { _ in false }) -> [(String, String)] {
        guard case .object(let members)? = value else { return [] }
        let kept = members.filter { !skip($0.0) }
        return (try? PropertyFlattener(limits: limits, strict: false).flatten(kept, path: ""))?.props ?? []
    }

    /// A whole number of pixels.
    func width(_ value: JSONValue?) -> Int? {
        guard case .number(let d)? = value, d >= 0, d <= 100_000 else { return nil }
        return Int(d)
    }
}
