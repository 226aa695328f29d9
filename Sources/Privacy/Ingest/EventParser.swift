/// The `parse` step: body bytes → validated `RawEvent`s, or a typed rejection.
public struct EventParser: Sendable {
    public var limits: IngestLimits

    public init(limits: IngestLimits) {
        self.limits = limits
    }

    /// `POST /api/event`: one event object.
    public func parseSingle(_ body: [UInt8]) throws(IngestRejection) -> RawEvent {
        guard body.count <= limits.eventBodyBytes else {
            throw IngestRejection(.bodyTooLarge, "body is \(body.count) bytes; the limit is \(limits.eventBodyBytes)")
        }
        let root = try parseJSON(body)
        return try event(from: root, site: nil, path: "")
    }

    /// `POST /api/event` as served: Veil's event object, or Plausible's `{n, u, d, …}`
    /// (which may name several sites, one event each).
    public func parseEventBody(_ body: [UInt8]) throws(IngestRejection) -> [RawEvent] {
        guard body.count <= limits.eventBodyBytes else {
            throw IngestRejection(.bodyTooLarge, "body is \(body.count) bytes; the limit is \(limits.eventBodyBytes)")
        }
        let root = try parseJSON(body)
        if PlausibleAdapter.recognizes(root) { return try PlausibleAdapter(limits: limits).events(root) }
        return [try event(from: root, site: nil, path: "")]
    }

    /// `POST /api/batch`: `{"site", "events": [...]}`; an event may override `site`.
    public func parseBatch(_ body: [UInt8]) throws(IngestRejection) -> [RawEvent] {
        guard body.count <= limits.batchBodyBytes else {
            throw IngestRejection(.bodyTooLarge, "body is \(body.count) bytes; the limit is \(limits.batchBodyBytes)")
        }
        let root = try parseJSON(body)
        guard case .object = root else { throw IngestRejection(.invalidField, "the body must be a JSON object") }
        let site = root["site"]?.stringValue
        guard let eventsValue = root["events"] else { throw IngestRejection(.missingField, "events is required") }
        guard case .array(let items) = eventsValue else { throw IngestRejection(.invalidField, "events must be an array") }
        guard items.count <= limits.batchEvents else {
            throw IngestRejection(.tooManyEvents, "\(items.count) events in one batch; the limit is \(limits.batchEvents)")
        }
        var events: [RawEvent] = []
        events.reserveCapacity(items.count)
        for (i, item) in items.enumerated() {
            events.append(try event(from: item, site: site, path: "events[\(i)]."))
        }
        return events
    }

    private func parseJSON(_ body: [UInt8]) throws(IngestRejection) -> JSONValue {
        do {
            return try JSONParser.parse(body)
        } catch {
            switch error {
            case .invalidUTF8: throw IngestRejection(.invalidUTF8, "the body is not valid UTF-8")
            case .tooDeep: throw IngestRejection(.invalidJSON, "the body nests too deeply")
            case .syntax(let offset, let expected): throw IngestRejection(.invalidJSON, "expected \(expected) at byte \(offset)")
            case .duplicateKey(let key): throw IngestRejection(.duplicateKey, "the key \"\(key.prefix(64))\" appears twice in one object")
            }
        }
    }

    private func event(from value: JSONValue, site defaultSite: String?, path p: String) throws(IngestRejection) -> RawEvent {
        guard case .object = value else { throw IngestRejection(.invalidField, "\(p.isEmpty ? "the body" : String(p.dropLast())) must be a JSON object") }
        let site = try optionalString(value, "site", p, limit: 253) ?? defaultSite
        guard let site, !site.isEmpty else { throw IngestRejection(.missingField, "\(p)site is required") }
        guard let name = try optionalString(value, "name", p, limit: limits.nameLength), !name.isEmpty else {
            throw IngestRejection(.missingField, "\(p)name is required")
        }
        guard let url = try optionalString(value, "url", p, limit: limits.urlLength), !url.isEmpty else {
            throw IngestRejection(.missingField, "\(p)url is required")
        }
        let referrer = try optionalString(value, "referrer", p, limit: limits.urlLength)
        let clientID = try optionalString(value, "id", p, limit: 64)
        let visitorID = try optionalString(value, "vid", p, limit: 64)
        let userID = try optionalString(value, "uid", p, limit: 256)
        let language = try optionalString(value, "l", p, limit: 35)
        var screenWidth: Int?
        if let w = value["w"] {
            switch w {
            case .null: break
            case .number(let n):
                guard n >= 0, n <= 100_000, let v = Int(exactly: n) else { throw IngestRejection(.invalidField, "\(p)w must be a whole number of pixels") }
                screenWidth = v
            default: throw IngestRejection(.invalidField, "\(p)w must be a number")
            }
        }
        var props: [(String, String)] = []
        if let propsValue = value["props"] {
            switch propsValue {
            case .null: break
            case .object(let members):
                props = try PropertyFlattener(limits: limits, strict: true).flatten(members, path: p).props
            default:
                throw IngestRejection(.invalidField, "\(p)props must be an object")
            }
        }
        return RawEvent(site: site, name: name, url: url, referrer: referrer, props: props, clientID: clientID, visitorID: visitorID, userID: userID,
                        screenWidth: screenWidth, language: language)
    }

    private func optionalString(_ object: JSONValue, _ key: String, _ p: String, limit: Int) throws(IngestRejection) -> String? {
        guard let value = object[key] else { return nil }
        switch value {
        case .null: return nil
        case .string(let s):
            guard s.count <= limit else {
                throw IngestRejection(.valueTooLong, "\(p)\(key) is \(s.count) characters; the limit is \(limit)")
            }
            return s
        default:
            throw IngestRejection(.invalidField, "\(p)\(key) must be a string")
        }
    }
}
