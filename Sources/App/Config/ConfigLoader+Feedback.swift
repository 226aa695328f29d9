import Privacy
import Yams

extension ConfigLoader {
    /// `feedback: {nps: {...}, sentiment: {...}}`; every value is checked and an error names its line and key.
    func parseFeedback(_ node: Node, key: String, source: String) throws(ConfigError) -> FeedbackRules {
        guard case .mapping(let m) = node else { throw ConfigError(source: source, line: line(node), key: key, message: "expected a mapping with nps and/or sentiment") }
        var rules = FeedbackRules()
        for (k, v) in m {
            let name = k.scalar?.string ?? ""
            guard case .mapping(let fields) = v else {
                throw ConfigError(source: source, line: line(v), key: "\(key).\(name)", message: "expected a mapping")
            }
            switch name {
            case "nps": rules.nps = try parseNPS(fields, key: "\(key).nps", source: source)
            case "sentiment": rules.sentiment = try parseSentiment(fields, key: "\(key).sentiment", source: source)
            default: throw ConfigError(source: source, line: line(k), key: "\(key).\(name)", message: "unknown key; feedback has nps and sentiment")
            }
        }
        return rules
    }

    private struct Field {
        let loader: ConfigLoader
        let source: String
        let path: String
        let node: Node

        func text() throws(ConfigError) -> String {
            guard case .scalar(let s) = node else { throw ConfigError(source: source, line: loader.line(node), key: path, message: "expected a single value") }
            return s.string
        }
        func fail(_ message: String) -> ConfigError { ConfigError(source: source, line: loader.line(node), key: path, message: message) }
        func bool() throws(ConfigError) -> Bool {
            switch SchemaKey.Kind.bool.parse(try text()) {
            case .ok(let b): return b.bool
            case .bad(let message): throw fail(message)
            }
        }
        func int(_ range: ClosedRange<Int>) throws(ConfigError) -> Int {
            switch SchemaKey.Kind.int(range).parse(try text()) {
            case .ok(let i): return i.int
            case .bad(let message): throw fail(message)
            }
        }
        /// Shown to visitors: plain text, not empty, at most 200 characters.
        func prompt() throws(ConfigError) -> String {
            let t = try text().trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, t.count <= 200 else { throw fail("expected text of 1 to 200 characters") }
            return t
        }
    }

    private func parseNPS(_ m: Node.Mapping, key: String, source: String) throws(ConfigError) -> NPSSurvey {
        var nps = NPSSurvey()
        nps.enabled = true
        for (k, v) in m {
            let name = k.scalar?.string ?? ""
            let f = Field(loader: self, source: source, path: "\(key).\(name)", node: v)
            switch name {
            case "enabled": nps.enabled = try f.bool()
            case "question": nps.question = try f.prompt()
            case "delay_seconds": nps.delaySeconds = try f.int(0...3600)
            case "after_pageviews": nps.afterPageviews = try f.int(0...100)
            case "sample_rate":
                guard let rate = Double(try f.text()), rate >= 0, rate <= 1 else { throw f.fail("expected a number from 0 to 1 (the share of page loads or people asked)") }
                nps.sampleRate = rate
            case "follow_up":
                let t = try f.text().trimmingCharacters(in: .whitespaces)
                if t.isEmpty || t == "false" { nps.followUp = nil } else { nps.followUp = try f.prompt() }
            case "position":
                let t = try f.text()
                guard let p = FeedbackPosition(rawValue: t) else {
                    throw f.fail("expected one of \(FeedbackPosition.allCases.map(\.rawValue).joined(separator: ", ")), got \(quoteYAML(t))")
                }
                nps.position = p
            case "accent":
                let t = try f.text()
                guard Self.isHexColour(t) else { throw f.fail("expected a colour such as #2563eb, got \(quoteYAML(t))") }
                nps.accent = t.lowercased()
            case "ask_again_days": nps.askAgainDays = try f.int(1...3650)
            default:
                throw ConfigError(source: source, line: line(k), key: "\(key).\(name)",
                                  message: "unknown key; nps has enabled, question, delay_seconds, after_pageviews, sample_rate, follow_up, position, accent, ask_again_days")
            }
        }
        return nps
    }

    private func parseSentiment(_ m: Node.Mapping, key: String, source: String) throws(ConfigError) -> SentimentTab {
        var tab = SentimentTab()
        tab.enabled = true
        for (k, v) in m {
            let name = k.scalar?.string ?? ""
            let f = Field(loader: self, source: source, path: "\(key).\(name)", node: v)
            switch name {
            case "enabled": tab.enabled = try f.bool()
            case "prompt": tab.prompt = try f.prompt()
            case "side":
                let t = try f.text()
                guard let side = FeedbackSide(rawValue: t) else { throw f.fail("expected right or left, got \(quoteYAML(t))") }
                tab.side = side
            case "pages":
                guard case .sequence(let list) = v else { throw f.fail("expected a list of path patterns such as /docs/*") }
                var pages: [String] = []
                for item in list {
                    guard let text = item.scalar?.string, text.hasPrefix("/") || text.hasPrefix("*"), text.utf8.count <= 256 else {
                        throw ConfigError(source: source, line: line(item), key: f.path, message: "expected a path pattern starting with / or *, such as /pricing or /docs/*")
                    }
                    pages.append(text)
                }
                guard pages.count <= 100 else { throw f.fail("at most 100 patterns") }
                tab.pages = pages
            default:
                throw ConfigError(source: source, line: line(k), key: "\(key).\(name)", message: "unknown key; sentiment has enabled, prompt, side, pages")
            }
        }
        return tab
    }

    static func isHexColour(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard u.first == UInt8(ascii: "#"), u.count == 4 || u.count == 7 else { return false }
        return u.dropFirst().allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }
    }
}
