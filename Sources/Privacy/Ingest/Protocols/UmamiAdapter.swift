/// Umami's `POST /api/send`: `{type: "event", payload: {website, hostname, url, referrer,
/// screen, language, title, name, data}}`. A payload without `name` is a pageview; with
/// one, a custom event whose `data` are its properties. `website` selects the site
/// through its `umami.website_id`. Visitors are counted the cookieless way.
public struct UmamiAdapter: Sendable {
    let fields: SDKFields
    let keys: [String: String]

    public init(limits: IngestLimits, keys: SDKKeyMap) {
        self.fields = SDKFields(limits: limits)
        self.keys = keys.umami
    }

    public func items(_ root: JSONValue) throws(IngestRejection) -> [SDKItem] {
        guard case .object = root else { throw IngestRejection(.invalidField, "the body must be a JSON object") }
        let type = root["type"]?.stringValue ?? "event"
        guard type == "event" || type == "identify" else { throw IngestRejection(.invalidField, "type must be event or identify") }
        guard let payload = root["payload"], case .object = payload else { throw IngestRejection(.missingField, "payload is required") }
        guard let website = payload["website"]?.stringValue, !website.isEmpty else { throw IngestRejection(.missingField, "payload.website is required") }
        guard let site = keys[website.lowercased()] else {
            throw IngestRejection(.invalidAPIKey, "no site has umami.website_id \"\(LogText.clean(String(website.prefix(40))))\"")
        }
        if type == "identify" { return [.ignored(site: site, messageID: nil, name: "identify")] }
        let limits = fields.limits
        guard var url = payload["url"]?.stringValue, !url.isEmpty else { throw IngestRejection(.missingField, "payload.url is required") }
        if url.hasPrefix("/") {
            // Umami's tracker sends the path and the host apart.
            let host = fields.text(payload["hostname"], limit: 253) ?? site
            url = "https://" + host + url
        }
        guard url.count <= limits.urlLength else { throw IngestRejection(.valueTooLong, "payload.url is \(url.count) characters; the limit is \(limits.urlLength)") }
        var raw: RawEvent
        if let name = payload["name"]?.stringValue, !name.isEmpty {
            guard name.count <= limits.nameLength else { throw IngestRejection(.valueTooLong, "payload.name is \(name.count) characters; the limit is \(limits.nameLength)") }
            raw = RawEvent(site: site, name: name, url: url, props: fields.properties(payload["data"]))
        } else {
            raw = RawEvent(site: site, name: "pageview", url: url)
        }
        raw.referrer = fields.text(payload["referrer"], limit: limits.urlLength)
        raw.language = fields.text(payload["language"], limit: 35)
        if let screen = payload["screen"]?.stringValue, let width = screen.split(separator: "x").first.flatMap({ Int($0) }), width >= 0, width <= 100_000 {
            raw.screenWidth = width
        }
        return [.event(raw)]
    }
}
