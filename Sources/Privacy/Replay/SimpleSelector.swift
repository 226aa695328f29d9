/// A compound CSS selector without combinators: `tag`, `#id`, `.class`, `[attr]`,
/// `[attr=value]` (value bare or quoted), combined like `div.card#x[data-role=name]`.
/// Lists (`a, b`) are parsed by `SimpleSelector.list`. This is what the server can
/// match on a single serialized node; browsers match full CSS with `Element.matches`.
public struct SimpleSelector: Sendable, Equatable {
    public var tag: String?
    public var id: String?
    public var classes: [String] = []
    /// (name, value or nil for presence).
    public var attributes: [(String, String?)] = []

    public static func == (a: SimpleSelector, b: SimpleSelector) -> Bool {
        a.tag == b.tag && a.id == b.id && a.classes == b.classes
            && a.attributes.count == b.attributes.count && zip(a.attributes, b.attributes).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }

    /// Parses one compound selector; nil when it uses anything else.
    public init?(_ text: String) {
        let chars = Array(text.trimmingSpaces)
        var i = 0
        func isName(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "-" || c == "_" }
        func name() -> String {
            var out = ""
            while i < chars.count, isName(chars[i]) { out.append(chars[i]); i += 1 }
            return out
        }
        if i < chars.count, isName(chars[i]) { tag = name().lowercased() }
        while i < chars.count {
            let c = chars[i]
            i += 1
            switch c {
            case "#":
                let n = name()
                guard !n.isEmpty, id == nil else { return nil }
                id = n
            case ".":
                let n = name()
                guard !n.isEmpty else { return nil }
                classes.append(n)
            case "[":
                let n = name().lowercased()
                guard !n.isEmpty, i < chars.count else { return nil }
                if chars[i] == "]" { i += 1; attributes.append((n, nil)); continue }
                guard chars[i] == "=" else { return nil }
                i += 1
                var value = ""
                if i < chars.count, chars[i] == "\"" || chars[i] == "'" {
                    let quote = chars[i]
                    i += 1
                    while i < chars.count, chars[i] != quote { value.append(chars[i]); i += 1 }
                    guard i < chars.count else { return nil }
                    i += 1
                } else {
                    value = name()
                }
                guard i < chars.count, chars[i] == "]" else { return nil }
                i += 1
                attributes.append((n, value))
            default:
                return nil
            }
        }
        if tag == nil && id == nil && classes.isEmpty && attributes.isEmpty { return nil }
    }

    /// A comma-separated list; nil when any member is not a simple selector.
    public static func list(_ text: String) -> [SimpleSelector]? {
        var out: [SimpleSelector] = []
        for part in text.split(separator: ",") {
            guard let s = SimpleSelector(String(part)) else { return nil }
            out.append(s)
        }
        return out.isEmpty ? nil : out
    }

    /// Whether an element with this tag and these attributes matches.
    public func matches(tag elementTag: String, attribute: (String) -> String?) -> Bool {
        if let tag, tag != "*", tag != elementTag.lowercased() { return false }
        if let id, attribute("id") != id { return false }
        if !classes.isEmpty {
            let have = (attribute("class") ?? "").split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
            for c in classes where !have.contains(where: { $0 == c }) { return false }
        }
        for (name, value) in attributes {
            guard let v = attribute(name) else { return false }
            if let value, v != value { return false }
        }
        return true
    }
}

extension String {
    var trimmingSpaces: Substring {
        var s = self[...]
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return s
    }
}
