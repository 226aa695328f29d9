import Privacy
import Yams

/// Parsing of a site's `goals`, `funnels` and `click_events`, with line numbers.
extension ConfigLoader {
    private func items(_ node: Node, key: String, source: String) throws(ConfigError) -> [(Node, [String: Node])] {
        guard case .sequence(let seq) = node else { throw ConfigError(source: source, line: line(node), key: key, message: "expected a list") }
        var out: [(Node, [String: Node])] = []
        for item in seq {
            guard case .mapping(let m) = item else { throw ConfigError(source: source, line: line(item), key: key, message: "expected a mapping with a name") }
            var fields: [String: Node] = [:]
            for (k, v) in m { fields[k.scalar?.string ?? ""] = v }
            out.append((item, fields))
        }
        return out
    }

    private func text(_ fields: [String: Node], _ name: String, key: String, source: String, allowed: [String]) throws(ConfigError) -> String? {
        guard let node = fields[name] else { return nil }
        guard let s = node.scalar?.string, !s.isEmpty else { throw ConfigError(source: source, line: line(node), key: "\(key).\(name)", message: "expected a non-empty text") }
        return s
    }

    private func checkKeys(_ fields: [String: Node], allowed: [String], key: String, source: String) throws(ConfigError) {
        for (name, node) in fields where !allowed.contains(name) {
            throw ConfigError(source: source, line: line(node), key: "\(key).\(name)", message: "unknown key; expected \(allowed.joined(separator: ", "))")
        }
    }

    func parseGoals(_ node: Node, key: String, source: String) throws(ConfigError) -> [Goal] {
        var goals: [Goal] = []
        let allowed = ["name", "page", "event", "props"]
        for (i, (item, f)) in try items(node, key: key, source: source).enumerated() {
            let k = "\(key)[\(i)]"
            try checkKeys(f, allowed: allowed, key: k, source: source)
            guard let name = try text(f, "name", key: k, source: source, allowed: allowed) else {
                throw ConfigError(source: source, line: line(item), key: k, message: "name is required")
            }
            let page = try text(f, "page", key: k, source: source, allowed: allowed)
            let event = try text(f, "event", key: k, source: source, allowed: allowed)
            guard (page == nil) != (event == nil) else {
                throw ConfigError(source: source, line: line(item), key: k, message: "a goal has either page (a path pattern, * allowed) or event (a custom event name)")
            }
            var props: [(String, String)] = []
            if let p = f["props"] {
                guard event != nil, case .mapping(let m) = p else {
                    throw ConfigError(source: source, line: line(p), key: "\(k).props", message: "props (a mapping of property: value) belong to event goals")
                }
                for (pk, pv) in m {
                    guard let a = pk.scalar?.string, let b = pv.scalar?.string else {
                        throw ConfigError(source: source, line: line(pk), key: "\(k).props", message: "expected property: value pairs")
                    }
                    props.append((a, b))
                }
            }
            guard !goals.contains(where: { $0.name == name }) else { throw ConfigError(source: source, line: line(item), key: k, message: "goal \(quoteYAML(name)) is listed twice") }
            goals.append(Goal(name: name, page: page, event: event, props: props))
        }
        return goals
    }

    func parseFunnels(_ node: Node, key: String, source: String) throws(ConfigError) -> [Funnel] {
        var funnels: [Funnel] = []
        for (i, (item, f)) in try items(node, key: key, source: source).enumerated() {
            let k = "\(key)[\(i)]"
            try checkKeys(f, allowed: ["name", "steps", "window_minutes"], key: k, source: source)
            guard let name = try text(f, "name", key: k, source: source, allowed: []) else { throw ConfigError(source: source, line: line(item), key: k, message: "name is required") }
            guard let stepsNode = f["steps"], case .sequence(let seq) = stepsNode, seq.count >= 2, seq.count <= 10 else {
                throw ConfigError(source: source, line: line(f["steps"] ?? item), key: "\(k).steps", message: "expected a list of 2 to 10 goal names")
            }
            let steps = seq.compactMap { $0.scalar?.string }
            var window: Int?
            if let w = f["window_minutes"] {
                guard let n = w.scalar.flatMap({ Int($0.string) }), (1...525_600).contains(n) else {
                    throw ConfigError(source: source, line: line(w), key: "\(k).window_minutes", message: "expected a number of minutes from 1 to 525600")
                }
                window = n
            }
            funnels.append(Funnel(name: name, steps: steps, windowMinutes: window))
        }
        return funnels
    }

    func parseClickEvents(_ node: Node, key: String, source: String) throws(ConfigError) -> [ClickDefinition] {
        var out: [ClickDefinition] = []
        for (i, (item, f)) in try items(node, key: key, source: source).enumerated() {
            let k = "\(key)[\(i)]"
            try checkKeys(f, allowed: ["name", "selector", "href"], key: k, source: source)
            guard let name = try text(f, "name", key: k, source: source, allowed: []) else { throw ConfigError(source: source, line: line(item), key: k, message: "name is required") }
            let selector = try text(f, "selector", key: k, source: source, allowed: [])
            let href = try text(f, "href", key: k, source: source, allowed: [])
            guard selector != nil || href != nil else { throw ConfigError(source: source, line: line(item), key: k, message: "give a selector, an href pattern, or both") }
            if let selector, ClickDefinition.parse(selector: selector) == nil {
                throw ConfigError(source: source, line: line(f["selector"]!), key: "\(k).selector",
                                  message: "\(quoteYAML(selector)) is not a simple selector (tag, #id and .class parts, like button#buy.primary)")
            }
            out.append(ClickDefinition(name: name, selector: selector, href: href))
        }
        return out
    }

    /// `replay: {enabled, sample_rate, mask_text, erase, block, retention_days}`.
    func parseReplay(_ node: Node, key: String, source: String, into site: inout SiteRules) throws(ConfigError) {
        guard case .mapping(let m) = node else { throw ConfigError(source: source, line: line(node), key: key, message: "expected a mapping (enabled, sample_rate, mask_text, erase, block, retention_days)") }
        for (k, v) in m {
            let name = k.scalar?.string ?? ""
            let path = "\(key).\(name)"
            func scalar() throws(ConfigError) -> String {
                guard case .scalar(let s) = v else { throw ConfigError(source: source, line: line(v), key: path, message: "expected a single value") }
                return s.string
            }
            switch name {
            case "enabled":
                switch SchemaKey.Kind.bool.parse(try scalar()) {
                case .ok(let b): site.replay.enabled = b.bool
                case .bad(let message): throw ConfigError(source: source, line: line(v), key: path, message: message)
                }
            case "sample_rate":
                guard let rate = Double(try scalar()), rate >= 0, rate <= 1 else { throw ConfigError(source: source, line: line(v), key: path, message: "expected a number from 0 to 1 (the share of page loads recorded)") }
                site.replay.sampleRate = rate
            case "mask_text":
                guard let mode = TextMasking(rawValue: try scalar()) else { throw ConfigError(source: source, line: line(v), key: path, message: "expected pii, all or none") }
                site.replay.maskText = mode
            case "retention_days":
                switch SchemaKey.Kind.int(1...36_500).parse(try scalar()) {
                case .ok(let days): site.replaysRetentionDays = days.int
                case .bad(let message): throw ConfigError(source: source, line: line(v), key: path, message: message)
                }
            case "erase", "block":
                guard case .sequence(let list) = v else { throw ConfigError(source: source, line: line(v), key: path, message: "expected a list of CSS selectors") }
                var selectors: [String] = []
                for item in list {
                    guard let text = item.scalar?.string, !text.isEmpty, !text.contains(where: { "{}<".contains($0) }) else {
                        throw ConfigError(source: source, line: line(item), key: path, message: "expected a CSS selector such as .customer-name or #account [data-private]")
                    }
                    selectors.append(text)
                }
                if name == "erase" { site.replay.eraseSelectors = selectors } else { site.replay.blockSelectors = selectors }
            default:
                throw ConfigError(source: source, line: line(k), key: path, message: "unknown key; replay has enabled, sample_rate, mask_text, erase, block, retention_days")
            }
        }
    }

    func checkFunnels(_ rules: AnalyticsRules, key: String, source: String, node: Node) throws(ConfigError) {
        for funnel in rules.funnels {
            for step in funnel.steps where rules.goal(named: step) == nil {
                throw ConfigError(source: source, line: line(node), key: key, message: "funnel \(quoteYAML(funnel.name)) names \(quoteYAML(step)), which is not a goal of this site")
            }
        }
    }
}

extension ConfigLoader {
    /// `posthog: {api_key: …}`, `segment: {write_key: …}`, `umami: {website_id: …}`.
    func parseSDKKey(_ name: String, _ node: Node, key: String, source: String, into site: inout SiteRules) throws(ConfigError) {
        let field = ["posthog": "api_key", "segment": "write_key", "umami": "website_id"][name] ?? ""
        guard case .mapping(let m) = node else { throw ConfigError(source: source, line: line(node), key: key, message: "expected a mapping with \(field)") }
        for (k, v) in m {
            let fieldName = k.scalar?.string ?? ""
            guard fieldName == field else {
                throw ConfigError(source: source, line: line(k), key: "\(key).\(fieldName)", message: "unknown key; \(name) has \(field)")
            }
            guard case .scalar(let s) = v, !s.string.isEmpty, s.string.count <= 200, !s.string.contains(where: { $0.isWhitespace }) else {
                throw ConfigError(source: source, line: line(v), key: "\(key).\(field)", message: "expected the key as one word (as the client sends it)")
            }
            switch name {
            case "posthog": site.sdkKeys.posthogAPIKey = s.string
            case "segment": site.sdkKeys.segmentWriteKey = s.string
            default: site.sdkKeys.umamiWebsiteID = s.string
            }
        }
    }
}
