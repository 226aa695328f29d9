/// Segment's tracking API (analytics.js, analytics-python, analytics-node and the other
/// sources): `/v1/batch` and the single calls `/v1/track`, `page`, `screen`, `identify`,
/// `group`, `alias`.
///
/// Mapping: `page` → pageview (url from `properties.url` or `context.page.url`), `screen`
/// → pageview of `/<name>` on the site, `track` → a custom event with its properties,
/// `identify` and `alias` → person updates, `group` → ignored. The visitor is the
/// `userId` when there is one, else the `anonymousId`.
public struct SegmentAdapter: Sendable {
    /// Segment's own limits: 32 KB per call (and per message in a batch), 500 KB per batch.
    public static let callBytes = 32 * 1024
    public static let batchBytes = 500 * 1024
    static let types: Set<String> = ["track", "page", "screen", "identify", "group", "alias"]

    let fields: SDKFields
    let keys: [String: String]

    public init(limits: IngestLimits, keys: SDKKeyMap) {
        self.fields = SDKFields(limits: limits)
        self.keys = keys.segment
    }

    /// `call` is the single call's type from the path, nil for `/v1/batch`; `basicKey` the
    /// user name of HTTP Basic auth.
    public func items(_ root: JSONValue, call: String?, basicKey: String?, receivedAt: Int64) throws(IngestRejection) -> [SDKItem] {
        guard case .object = root else { throw IngestRejection(.invalidField, "the body must be a JSON object") }
        let messages: [JSONValue]
        if call == nil {
            guard case .array(let list)? = root["batch"] else { throw IngestRejection(.missingField, "batch is required and must be an array") }
            messages = list
        } else {
            messages = [root]
        }
        guard messages.count <= fields.limits.batchEvents else {
            throw IngestRejection(.tooManyEvents, "\(messages.count) messages in one batch; the limit is \(fields.limits.batchEvents)")
        }
        let bodyKey = try fields.firstID([(root["writeKey"], "writeKey")])
        let key = basicKey ?? bodyKey
        guard let key else { throw IngestRejection(.invalidAPIKey, "the write key is required (HTTP Basic user name, or writeKey in the body)") }
        guard let site = keys[key] else { throw IngestRejection(.invalidAPIKey, "no site has segment.write_key \"\(LogText.clean(String(key.prefix(40))))\"") }
        let batchSentAt = fields.time(root["sentAt"])
        var items: [SDKItem] = []
        for (i, message) in messages.enumerated() {
            let p = call == nil ? "batch[\(i)]." : ""
            guard case .object = message else { throw IngestRejection(.invalidField, "\(p.isEmpty ? "the body" : String(p.dropLast())) must be an object") }
            if call == nil, JSONWriter.value(message).utf8.count > Self.callBytes {
                throw IngestRejection(.bodyTooLarge, "\(p.dropLast()) is larger than Segment's limit of \(Self.callBytes) bytes per message")
            }
            let type = call ?? message["type"]?.stringValue ?? ""
            guard Self.types.contains(type) else {
                throw IngestRejection(.invalidField, "\(p)type must be one of track, page, screen, identify, group, alias")
            }
            items.append(try item(message, type: type, site: site, p: p, sentAt: fields.time(message["sentAt"]) ?? batchSentAt, receivedAt: receivedAt))
        }
        return items
    }

    private func item(_ m: JSONValue, type: String, site: String, p: String, sentAt: Int64?, receivedAt: Int64) throws(IngestRejection) -> SDKItem {
        let userID = try fields.id(m["userId"], "\(p)userId")
        let anonymousID = try fields.id(m["anonymousId"], "\(p)anonymousId")
        let messageID = fields.messageID(m["messageId"])
        let properties = m["properties"], context = m["context"]
        switch type {
        case "identify":
            guard let userID else {
                // Traits of an anonymous person: nothing to link.
                guard anonymousID != nil else { throw IngestRejection(.missingField, "\(p)userId or anonymousId is required") }
                return .ignored(site: site, messageID: messageID, name: "identify")
            }
            return .person(PersonUpdate(site: site, messageID: messageID, anonymousID: anonymousID, userID: userID,
                                        properties: fields.properties(m["traits"] ?? context?["traits"])))
        case "alias":
            guard let userID else { throw IngestRejection(.missingField, "\(p)userId is required") }
            let previous = try fields.id(m["previousId"], "\(p)previousId")
            guard let previous else { throw IngestRejection(.missingField, "\(p)previousId is required") }
            return .person(PersonUpdate(site: site, messageID: messageID, anonymousID: previous, userID: userID, properties: []))
        case "group":
            guard userID != nil || anonymousID != nil else { throw IngestRejection(.missingField, "\(p)userId or anonymousId is required") }
            return .ignored(site: site, messageID: messageID, name: "group")
        default:
            break
        }
        guard let person = userID ?? anonymousID else { throw IngestRejection(.missingField, "\(p)userId or anonymousId is required") }
        let page = context?["page"]
        let limit = fields.limits.urlLength
        var raw: RawEvent
        switch type {
        case "page":
            let url = fields.text(properties?["url"], limit: limit) ?? fields.text(page?["url"], limit: limit)
                ?? "https://\(site)" + (fields.text(properties?["path"], limit: limit) ?? fields.text(page?["path"], limit: limit) ?? "/")
            raw = RawEvent(site: site, name: "pageview", url: url)
            raw.referrer = fields.text(properties?["referrer"], limit: limit) ?? fields.text(page?["referrer"], limit: limit)
        case "screen":
            let name = fields.text(m["name"], limit: 200) ?? fields.text(properties?["name"], limit: 200) ?? ""
            raw = RawEvent(site: site, name: "pageview", url: "https://\(site)/" + name.trimmingPrefix("/"))
        default:
            guard let name = m["event"]?.stringValue, !name.isEmpty else { throw IngestRejection(.missingField, "\(p)event is required for a track call") }
            guard name.count <= fields.limits.nameLength else {
                throw IngestRejection(.valueTooLong, "\(p)event is \(name.count) characters; the limit is \(fields.limits.nameLength)")
            }
            raw = RawEvent(site: site, name: name, url: fields.text(page?["url"], limit: limit) ?? "https://\(site)/", props: fields.properties(properties))
            raw.referrer = fields.text(page?["referrer"], limit: limit)
        }
        raw.clientID = messageID
        raw.sdkIdentity = person
        raw.userID = userID
        raw.payloadUserAgent = fields.text(context?["userAgent"], limit: 1024)
        raw.payloadIP = fields.text(context?["ip"], limit: 64)
        raw.language = fields.text(context?["locale"], limit: 35)
        raw.screenWidth = fields.width(context?["screen"]?["width"])
        // Segment's rule: originalTimestamp corrected by the sentAt skew; else timestamp.
        if let original = fields.time(m["originalTimestamp"]) {
            raw.clientTime = ClientTime.corrected(original, sentAt: sentAt, receivedAt: receivedAt)
        } else if let time = fields.time(m["timestamp"]) {
            raw.clientTime = ClientTime.corrected(time, sentAt: sentAt, receivedAt: receivedAt)
        }
        return .event(raw)
    }
}
