/// Server-side privacy and safety pass over rrweb events, as defence in depth behind the
/// recorder (which masks before anything leaves the browser) and ahead of the player
/// (which sanitises again when it rebuilds a page).
///
/// What it does to every recording, whatever the client claims to have done:
/// - input values (`value` attributes of inputs and textareas, textarea text, Input
///   events) are replaced by a fixed mask that does not reveal their length;
/// - text is scrubbed with the PII scrubber (`mask_text: pii`), masked (`all`) or kept (`none`);
/// - elements matching an erase selector (or carrying `data-veil-erase`) lose their text,
///   values, `title`/`alt`/`placeholder`/`aria-label` and image sources; block selectors
///   (or `data-veil-block`) reduce an element to an empty box with its size;
/// - `<script>` contents, `on*` attributes, `srcdoc`, `javascript:`/`vbscript:` URLs and
///   recorded canvas or image data are removed; console-log, canvas and plugin events dropped.
///
/// Selectors are matched on one node at a time, so only the simple forms of
/// `SimpleSelector` apply here; erasure inherited from an ancestor is applied within one
/// snapshot or one added subtree (the recorder applies it everywhere).
public struct ReplaySanitizer: Sendable {
    public struct Report: Sendable, Equatable {
        public var scrubbed: [PIIScrubber.Kind: Int] = [:]
        public var maskedValues = 0
        public var erased = 0
        public var blocked = 0
        public var removedAttributes = 0
        public var droppedEvents = 0
        /// Bytes of text the scrubber may still read for this chunk (`limits.scrub_bytes`).
        public var scrubBudget: ScrubBudget
        public init(scrubBudget: ScrubBudget = .unlimited) {
            self.scrubBudget = scrubBudget
        }
    }

    public static let valueMask = "******"
    let rules: ReplayRules
    let erase: [SimpleSelector]
    let block: [SimpleSelector]
    let extraPatterns: [String]
    let scrubber = PIIScrubber()

    public init(rules: ReplayRules, extraSelectors: [String] = [], scrubPatterns: [String] = []) {
        self.rules = rules
        erase = (rules.eraseSelectors + extraSelectors).flatMap { SimpleSelector.list($0) ?? [] }
        block = rules.blockSelectors.flatMap { SimpleSelector.list($0) ?? [] }
        extraPatterns = scrubPatterns
    }

    /// Incremental sources kept: everything a player needs; not Log (11) or
    /// CanvasMutation (9), which can carry arbitrary page data.
    static let keptSources: Set<Int> = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15, 16]

    public func sanitize(_ events: [JSONValue], report: inout Report) -> [JSONValue] {
        var out: [JSONValue] = []
        out.reserveCapacity(events.count)
        for event in events {
            guard case .object = event, let type = event["type"]?.intValue else { report.droppedEvents += 1; continue }
            switch type {
            case 0, 1:
                out.append(event)
            case 2:
                out.append(event.replacing("data") { data in
                    data.replacing("node") { sanitize(node: $0, context: NodeContext(), report: &report) }
                })
            case 3:
                guard let source = event["data"]?["source"]?.intValue, Self.keptSources.contains(source) else { report.droppedEvents += 1; continue }
                out.append(event.replacing("data") { incremental($0, source: source, report: &report) })
            case 4:
                out.append(event.replacing("data") { data in data.replacing("href") { scrubURL($0, report: &report) } })
            case 5:
                out.append(event.replacing("data") { data in data.replacing("payload") { scrubDeep($0, report: &report) } })
            default:
                report.droppedEvents += 1
            }
        }
        return out
    }

    struct NodeContext {
        var erased = false
        var parentTag = ""
    }

    func incremental(_ data: JSONValue, source: Int, report: inout Report) -> JSONValue {
        switch source {
        case 0:
            var d = data
            d = d.replacing("adds") { adds in
                adds.mapArray { add in add.replacing("node") { sanitize(node: $0, context: NodeContext(), report: &report) } }
            }
            d = d.replacing("texts") { texts in
                texts.mapArray { t in t.replacing("value") { v in
                    guard case .string(let s) = v else { return v }
                    return .string(maskText(s, report: &report))
                } }
            }
            d = d.replacing("attributes") { list in
                list.mapArray { item in item.replacing("attributes") { attrs in
                    sanitize(attributes: attrs, erased: false, report: &report)
                } }
            }
            return d
        case 5:
            return data.replacing("text") { v in
                guard case .string(let s) = v, !s.isEmpty else { return v }
                report.maskedValues += 1
                return .string(Self.valueMask)
            }
        default:
            return data
        }
    }

    // MARK: nodes

    func sanitize(node: JSONValue, context: NodeContext, report: inout Report) -> JSONValue {
        guard let type = node["type"]?.intValue else { return node }
        switch type {
        case 2:
            return element(node, context: context, report: &report)
        case 3:
            return node.replacing("textContent") { v in
                guard case .string(let s) = v else { return v }
                if node["isStyle"] == .bool(true) || context.parentTag == "style" { return v }
                if context.parentTag == "script" { return .string("") }
                if context.parentTag == "textarea" {
                    if s.isEmpty { return v }
                    report.maskedValues += 1
                    return .string(Self.valueMask)
                }
                if context.erased { return .string(Self.fill(s)) }
                return .string(maskText(s, report: &report))
            }
        case 5:
            return node.replacing("textContent") { _ in .string("") }
        default:
            return node.replacing("childNodes") { children in
                children.mapArray { sanitize(node: $0, context: context, report: &report) }
            }
        }
    }

    func element(_ node: JSONValue, context: NodeContext, report: inout Report) -> JSONValue {
        let tag = (node["tagName"]?.stringValue ?? "").lowercased()
        let attrs = node["attributes"] ?? .object([])
        func attribute(_ name: String) -> String? {
            guard case .object(let members) = attrs else { return nil }
            for (k, v) in members where k.lowercased() == name { return v.scalarText ?? "" }
            return nil
        }
        if attribute(ReplayRules.blockAttribute) != nil || block.contains(where: { $0.matches(tag: tag, attribute: attribute) }) {
            report.blocked += 1
            var kept: [(String, JSONValue)] = []
            if case .object(let members) = attrs {
                for (k, v) in members where ["id", "class", "rr_width", "rr_height"].contains(k.lowercased()) { kept.append((k, v)) }
            }
            return node.replacing("attributes") { _ in .object(kept) }.replacing("childNodes") { _ in .array([]) }
        }
        var inner = context
        if !inner.erased, attribute(ReplayRules.eraseAttribute) != nil || erase.contains(where: { $0.matches(tag: tag, attribute: attribute) }) {
            inner.erased = true
            report.erased += 1
        }
        inner.parentTag = tag
        let type = (attribute("type") ?? "").lowercased()
        let isField = tag == "textarea" || tag == "select" || (tag == "input" && !["submit", "button", "reset", "checkbox", "radio", "image"].contains(type))
        return node
            .replacing("attributes") { sanitize(attributes: $0, erased: inner.erased, isField: isField, report: &report) }
            .replacing("childNodes") { children in
                if tag == "script" { return .array([]) }
                return children.mapArray { sanitize(node: $0, context: inner, report: &report) }
            }
    }

    static let labelAttributes: Set<String> = ["title", "alt", "placeholder", "aria-label"]
    static let mediaSources: Set<String> = ["src", "srcset", "poster", "background"]
    static let urlAttributes: Set<String> = ["href", "src", "action", "poster", "background", "cite", "data"]

    func sanitize(attributes: JSONValue, erased: Bool, isField: Bool = true, report: inout Report) -> JSONValue {
        guard case .object(let members) = attributes else { return attributes }
        var out: [(String, JSONValue)] = []
        out.reserveCapacity(members.count)
        for (key, value) in members {
            let name = key.lowercased()
            if name.hasPrefix("on") || name == "srcdoc" || name == "rr_dataurl" || name == "formaction" {
                report.removedAttributes += 1
                continue
            }
            guard case .string(let s) = value else { out.append((key, value)); continue }
            if Self.isScriptURL(s) {
                report.removedAttributes += 1
                continue
            }
            if name == "_csstext" || name == "style" { out.append((key, value)); continue }
            if name == "value" && isField {
                if !s.isEmpty { report.maskedValues += 1 }
                out.append((key, .string(s.isEmpty ? "" : Self.valueMask)))
                continue
            }
            if erased || rules.maskText == .all, Self.labelAttributes.contains(name) {
                out.append((key, .string(erased ? Self.fill(s) : Self.mask(s))))
                continue
            }
            if erased, Self.mediaSources.contains(name) {
                report.removedAttributes += 1
                continue
            }
            out.append((key, Self.urlAttributes.contains(name) ? scrubURL(value, report: &report) : scrubString(value, report: &report)))
        }
        return .object(out)
    }

    /// `javascript:`, `vbscript:` and HTML `data:` URLs, however they are disguised
    /// with case, whitespace or control characters (browsers ignore those).
    public static func isScriptURL(_ value: String) -> Bool {
        var prefix = ""
        for scalar in value.unicodeScalars {
            if scalar.value <= 0x20 { continue }
            prefix.unicodeScalars.append(scalar)
            if prefix.utf8.count >= 14 { break }
        }
        let p = prefix.lowercased()
        return p.hasPrefix("javascript:") || p.hasPrefix("vbscript:") || p.hasPrefix("data:text/html")
    }

    // MARK: text

    /// Every character except whitespace becomes `*`: layout keeps its shape, no text survives.
    public static func mask(_ text: String) -> String {
        String(text.map { $0.isWhitespace ? $0 : "*" })
    }

    /// Erased text: as many characters as before in a fixed pattern (five `*`, a space), so
    /// the element keeps its size and wraps alike, but the words' number and lengths are
    /// gone. Whitespace around the text stays: it is layout, not content.
    public static func fill(_ text: String) -> String {
        let chars = Array(text)
        guard let first = chars.firstIndex(where: { !$0.isWhitespace }), let last = chars.lastIndex(where: { !$0.isWhitespace }) else { return text }
        var out = String(chars[..<first])
        for i in 0...(last - first) { out.append(i % 6 == 5 ? " " : "*") }
        out.append(contentsOf: chars[(last + 1)...])
        return out
    }

    func maskText(_ text: String, report: inout Report) -> String {
        switch rules.maskText {
        case .none: return text
        case .all: return Self.mask(text)
        case .pii: return scrub(text, report: &report)
        }
    }

    func scrub(_ text: String, report: inout Report) -> String {
        // Fast path: nothing a pattern can match is shorter than 7 visible characters.
        if text.utf8.count < 7 && extraPatterns.isEmpty { return text }
        // Beyond the chunk's budget, text is masked unread (its layout kept).
        let result = scrubber.scrub(text, extraPatterns: extraPatterns, budget: &report.scrubBudget, mask: Self.mask)
        for (kind, n) in result.counts { report.scrubbed[kind, default: 0] += n }
        return result.text
    }

    func scrubString(_ value: JSONValue, report: inout Report) -> JSONValue {
        guard case .string(let s) = value else { return value }
        return .string(scrub(s, report: &report))
    }

    /// A URL's scheme and host are the site's, not the visitor's (and an IP host must
    /// keep working for the replay to load its images); the rest is scrubbed.
    func scrubURL(_ value: JSONValue, report: inout Report) -> JSONValue {
        guard case .string(let s) = value, let scheme = s.range(of: "://") else { return scrubString(value, report: &report) }
        guard let slash = s[scheme.upperBound...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else { return value }
        return .string(String(s[..<slash]) + scrub(String(s[slash...]), report: &report))
    }

    func scrubDeep(_ value: JSONValue, report: inout Report) -> JSONValue {
        switch value {
        case .string: return scrubString(value, report: &report)
        case .array(let items): return .array(items.map { scrubDeep($0, report: &report) })
        case .object(let members): return .object(members.map { ($0.0, scrubDeep($0.1, report: &report)) })
        default: return value
        }
    }
}

extension JSONValue {
    public var intValue: Int? {
        if case .number(let d) = self, d.rounded() == d, abs(d) < 9e15 { return Int(d) }
        return nil
    }

    /// The same object with `key`'s value transformed (unchanged when absent).
    public func replacing(_ key: String, _ transform: (JSONValue) -> JSONValue) -> JSONValue {
        guard case .object(var members) = self else { return self }
        for i in members.indices where members[i].0 == key {
            members[i].1 = transform(members[i].1)
            return .object(members)
        }
        return self
    }

    public func mapArray(_ transform: (JSONValue) -> JSONValue) -> JSONValue {
        guard case .array(let items) = self else { return self }
        return .array(items.map(transform))
    }
}
