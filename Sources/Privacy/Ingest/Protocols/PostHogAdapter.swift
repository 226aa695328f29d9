/// PostHog's capture protocol (posthog-js, posthog-python and the other SDKs), v0
/// (`/batch/`, `/capture/`, `/e/`, `/i/v0/e/`, `/track/`), v1 (`/i/v1/analytics/events`)
/// and `/engage/`, from the body's JSON (transport encodings are undone before).
///
/// Mapping: `$pageview`/`$screen` → pageview, `$autocapture` clicks → Veil's `$click`,
/// `$identify`/`$set`/`$set_once`/`$create_alias`/`$merge_dangerously` and `/engage/` →
/// person updates, other `$` events (SDK internals such as `$pageleave`) → ignored, any
/// other name → a custom event. `$`-prefixed properties are the SDK's own and are not
/// stored; the caller's properties are flattened within the limits.
public struct PostHogAdapter: Sendable {
    public enum Endpoint: Sendable { case capture, engage, v1 }

    let fields: SDKFields
    let keys: [String: String]

    public init(limits: IngestLimits, keys: SDKKeyMap) {
        self.fields = SDKFields(limits: limits)
        self.keys = keys.posthog
    }

    static let personEvents: Set<String> = ["$identify", "$set", "$set_once", "$create_alias", "$merge_dangerously"]

    /// The request's items, or why it is refused (`invalid_api_key` is a 401). `querySentAt`
    /// is posthog-js's `_` parameter: when the browser sent the request, for skew correction.
    public func items(_ root: JSONValue, endpoint: Endpoint, bearer: String?, queryKey: String?, querySentAt: Int64? = nil,
                      receivedAt: Int64) throws(IngestRejection) -> [SDKItem] {
        let messages: [JSONValue]
        switch root {
        case .array(let list): messages = list
        case .object:
            if case .array(let list)? = root["batch"] { messages = list } else if root["batch"] != nil {
                throw IngestRejection(.invalidField, "batch must be an array")
            } else { messages = [root] }
        default: throw IngestRejection(.invalidField, "the body must be an event object, an array of events or {\"batch\": [...]}")
        }
        guard messages.count <= fields.limits.batchEvents else {
            throw IngestRejection(.tooManyEvents, "\(messages.count) events in one request; the limit is \(fields.limits.batchEvents)")
        }
        let envelopeKey = try fields.firstID([(root["api_key"], "api_key"), (root["token"], "token")])
        let sentAt = fields.time(root["sent_at"]) ?? fields.time(root["created_at"]) ?? querySentAt
        var items: [SDKItem] = []
        items.reserveCapacity(messages.count)
        for (i, message) in messages.enumerated() {
            let p = messages.count > 1 || root["batch"] != nil ? "batch[\(i)]." : ""
            guard case .object = message else { throw IngestRejection(.invalidField, "\(p.isEmpty ? "the event" : String(p.dropLast())) must be an object") }
            let properties = message["properties"]
            let key = try fields.firstID([(message["api_key"], "\(p)api_key"), (message["token"], "\(p)token"),
                                          (properties?["token"], "\(p)properties.token"), (message["$token"], "\(p)$token")])
                ?? envelopeKey ?? bearer ?? queryKey
            guard let key else { throw IngestRejection(.invalidAPIKey, "api_key is required (the project key in the body, or a Bearer token)") }
            guard let site = keys[key] else {
                throw IngestRejection(.invalidAPIKey, "no site has posthog.api_key \"\(LogText.clean(String(key.prefix(40))))\"")
            }
            if endpoint == .engage {
                items.append(try engage(message, site: site, p: p))
                continue
            }
            items.append(try event(message, site: site, p: p, sentAt: sentAt, receivedAt: receivedAt))
        }
        return items
    }

    /// `/engage/`: `{"$distinct_id", "$set": {...}, "$set_once": {...}}`.
    private func engage(_ message: JSONValue, site: String, p: String) throws(IngestRejection) -> SDKItem {
        guard let user = try fields.firstID([(message["$distinct_id"], "\(p)$distinct_id"), (message["distinct_id"], "\(p)distinct_id")]) else {
            throw IngestRejection(.missingField, "\(p)$distinct_id is required")
        }
        return .person(PersonUpdate(site: site, messageID: fields.messageID(message["uuid"]), anonymousID: nil, userID: user,
                                    properties: personProperties(message, properties: nil)))
    }

    private func event(_ message: JSONValue, site: String, p: String, sentAt: Int64?, receivedAt: Int64) throws(IngestRejection) -> SDKItem {
        guard let name = message["event"]?.stringValue, !name.isEmpty else { throw IngestRejection(.missingField, "\(p)event is required") }
        guard name.count <= fields.limits.nameLength else {
            throw IngestRejection(.valueTooLong, "\(p)event is \(name.count) characters; the limit is \(fields.limits.nameLength)")
        }
        let properties = message["properties"]
        switch properties {
        case nil, .null?, .object?: break
        default: throw IngestRejection(.invalidField, "\(p)properties must be an object")
        }
        guard let distinctID = try fields.firstID([(message["distinct_id"], "\(p)distinct_id"), (properties?["distinct_id"], "\(p)properties.distinct_id"),
                                                   (message["$distinct_id"], "\(p)$distinct_id")]) else {
            throw IngestRejection(.missingField, "\(p)distinct_id is required")
        }
        let messageID = fields.messageID(message["uuid"])
        if Self.personEvents.contains(name) {
            let anonymous: String?, user: String
            switch name {
            case "$identify":
                anonymous = try fields.id(properties?["$anon_distinct_id"], "\(p)properties.$anon_distinct_id")
                user = distinctID
            case "$create_alias":
                // alias(previous_id=A, distinct_id=B) sends distinct_id A and alias B.
                anonymous = distinctID
                user = try fields.firstID([(properties?["alias"], "\(p)properties.alias")]) ?? distinctID
            case "$merge_dangerously":
                anonymous = try fields.id(properties?["alias"], "\(p)properties.alias")
                user = distinctID
            default:
                anonymous = nil
                user = distinctID
            }
            return .person(PersonUpdate(site: site, messageID: messageID, anonymousID: anonymous == user ? nil : anonymous, userID: user,
                                        properties: personProperties(message, properties: properties)))
        }
        var raw: RawEvent
        let url = fields.text(properties?["$current_url"], limit: fields.limits.urlLength) ?? "https://\(site)/"
        switch name {
        case "$pageview", "$screen":
            var pageURL = url
            if name == "$screen", let screen = fields.text(properties?["$screen_name"], limit: 200) {
                pageURL = "https://\(site)/" + screen.trimmingPrefix("/")
            }
            raw = RawEvent(site: site, name: "pageview", url: pageURL)
            raw.screenWidth = fields.width(properties?["$screen_width"])
            raw.language = fields.text(properties?["$browser_language"], limit: 35)
        case "$autocapture":
            guard properties?["$event_type"]?.stringValue ?? "click" == "click" else { return .ignored(site: site, messageID: messageID, name: name) }
            raw = RawEvent(site: site, name: ClickDefinition.autocaptureName, url: url, props: Self.clickProperties(properties))
        default:
            if name.hasPrefix("$") { return .ignored(site: site, messageID: messageID, name: name) }
            raw = RawEvent(site: site, name: name, url: url, props: fields.properties(properties) { $0.hasPrefix("$") || $0 == "token" || $0 == "distinct_id" })
        }
        if let referrer = fields.text(properties?["$referrer"], limit: fields.limits.urlLength), referrer != "$direct" { raw.referrer = referrer }
        raw.clientID = messageID
        raw.sdkIdentity = distinctID
        // posthog-js marks anonymous IDs; the server SDKs' distinct_id is the caller's user ID.
        if properties?["$is_identified"] != .bool(false) { raw.userID = distinctID }
        raw.payloadUserAgent = fields.text(properties?["$raw_user_agent"], limit: 1024) ?? fields.text(properties?["$user_agent"], limit: 1024)
        raw.payloadIP = fields.text(properties?["$ip"], limit: 64)
        if let time = fields.time(message["timestamp"]) {
            let noSkew = properties?["$ignore_sent_at"] == .bool(true) || message["options"]?["disable_skew_correction"] == .bool(true)
            raw.clientTime = ClientTime.corrected(time, sentAt: noSkew ? nil : sentAt, receivedAt: receivedAt)
        } else if case .number(let offset)? = message["offset"], offset >= 0, offset < 1e12 {
            raw.clientTime = receivedAt - Int64(offset)
        }
        return .event(raw)
    }

    /// `$set` and `$set_once`, top level (v0) or inside properties (v1, posthog-js).
    private func personProperties(_ message: JSONValue, properties: JSONValue?) -> [(String, String)] {
        var out: [(String, String)] = []
        for key in ["$set", "$set_once"] {
            out += fields.properties(message[key] ?? properties?[key]) { $0.hasPrefix("$") }
        }
        return out
    }

    /// Veil's click properties from the first of `$elements` (the clicked element): tag,
    /// id, classes, link and a short CSS path. Its text is not kept.
    static func clickProperties(_ properties: JSONValue?) -> [(String, String)] {
        if properties?["$elements"] == nil, let chain = properties?["$elements_chain"]?.stringValue {
            return clickProperties(.object([("$elements", .array(Self.elements(chain: chain)))]))
        }
        guard case .array(let elements)? = properties?["$elements"], let first = elements.first else { return [] }
        var props: [(String, String)] = []
        func add(_ key: String, _ value: JSONValue?, limit: Int) {
            let text: String?
            if case .array(let items)? = value { text = items.compactMap(\.stringValue).joined(separator: " ") } else { text = value?.stringValue }
            if let text, !text.isEmpty { props.append((key, String(text.prefix(limit)))) }
        }
        add("tag", first["tag_name"], limit: 40)
        add("id", first["attr__id"] ?? first["attr_id"], limit: 100)
        add("classes", first["attr__class"] ?? first["classes"], limit: 200)
        if let href = (first["attr__href"] ?? first["href"])?.stringValue, let parts = URLParts.clean(href, allowedQuery: []) {
            props.append(("href", parts.path))
        }
        let path = elements.prefix(4).reversed().compactMap { $0["tag_name"]?.stringValue }.joined(separator: " > ")
        if !path.isEmpty { props.append(("path", String(path.prefix(300)))) }
        return props
    }

    /// Newer posthog-js sends the clicked element and its ancestors as one string:
    /// `tag.class1.class2:attr__id="x"attr__href="/y"nth-child="1";parent…`. Read into the
    /// `$elements` shape: tag, classes, id and href of the first four.
    static func elements(chain: String) -> [JSONValue] {
        chain.split(separator: ";", omittingEmptySubsequences: true).prefix(4).map { segment in
            let head = segment.prefix { $0 != ":" }
            let parts = head.split(separator: ".", omittingEmptySubsequences: true)
            var element: [(String, JSONValue)] = [("tag_name", .string(String(parts.first ?? "")))]
            if parts.count > 1 { element.append(("attr__class", .string(parts.dropFirst().joined(separator: " ")))) }
            for name in ["attr__id", "attr__href"] {
                guard let start = segment.range(of: name + "=\"") else { continue }
                let value = segment[start.upperBound...].prefix { $0 != "\"" }
                element.append((name, .string(String(value))))
            }
            return .object(element)
        }
    }
}
