/// Plausible's event shape on `POST /api/event`: `{n, u, d, r, p, w}` (name, URL,
/// domain(s), referrer, properties, screen width), as its script and Events API send
/// it. `d` may list several sites separated by commas: the event is counted for each.
/// Visitors are counted the cookieless way, as for Veil's own tag.
public struct PlausibleAdapter: Sendable {
    let fields: SDKFields

    public init(limits: IngestLimits) {
        self.fields = SDKFields(limits: limits)
    }

    /// Whether a parsed `/api/event` body is in Plausible's shape rather than Veil's.
    public static func recognizes(_ root: JSONValue) -> Bool {
        root["n"] != nil && root["u"] != nil && root["name"] == nil && root["url"] == nil
    }

    public func events(_ root: JSONValue) throws(IngestRejection) -> [RawEvent] {
        let limits = fields.limits
        guard let name = root["n"]?.stringValue, !name.isEmpty else { throw IngestRejection(.missingField, "n (the event name) is required") }
        guard name.count <= limits.nameLength else { throw IngestRejection(.valueTooLong, "n is \(name.count) characters; the limit is \(limits.nameLength)") }
        guard let url = root["u"]?.stringValue, !url.isEmpty else { throw IngestRejection(.missingField, "u (the page URL) is required") }
        guard url.count <= limits.urlLength else { throw IngestRejection(.valueTooLong, "u is \(url.count) characters; the limit is \(limits.urlLength)") }
        guard let domains = root["d"]?.stringValue, !domains.isEmpty else { throw IngestRejection(.missingField, "d (the site domain) is required") }
        let sites = domains.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !sites.isEmpty, sites.count <= 10, sites.allSatisfy({ $0.count <= 253 }) else {
            throw IngestRejection(.invalidField, "d must name one to ten domains separated by commas")
        }
        // `p` is an object, or (older scripts) that object as a JSON string.
        var props: JSONValue? = root["p"]
        if case .string(let text)? = props {
            guard let parsed = try? JSONParser.parse(Array(text.utf8)), case .object = parsed else { throw IngestRejection(.invalidField, "p must be an object") }
            props = parsed
        }
        let isPageview = name == "pageview"
        var referrer = fields.text(root["r"], limit: limits.urlLength)
        if referrer == "null" { referrer = nil }
        return sites.map { site in
            var raw = RawEvent(site: site, name: isPageview ? "pageview" : name, url: url, referrer: referrer,
                               props: isPageview ? [] : fields.properties(props))
            raw.screenWidth = fields.width(root["w"])
            return raw
        }
    }
}
