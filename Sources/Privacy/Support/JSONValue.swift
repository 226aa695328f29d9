/// A minimal JSON value, produced by `JSONParser` on the ingest hot path.
///
/// Ingest bodies are small and untrusted: a purpose-built parser that validates
/// UTF-8, bounds nesting and never allocates per-field decoders is both faster
/// than `JSONDecoder` and gives precise error messages for the 400 response.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    /// A number a Double would change (see `JSONParser`), kept as its JSON literal.
    case numberText(String)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)): return a == b
        case let (.numberText(a), .numberText(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    /// The value for `key` when this is an object (first occurrence wins).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.0 == key })?.1
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A scalar rendered as text, for properties (numbers without a trailing ".0").
    public var scalarText: String? {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let d):
            if d.rounded() == d, abs(d) < 1e15 { return String(Int64(d)) }
            return String(d)
        case .numberText(let text): return text
        default: return nil
        }
    }
}

/// Serialises values back to compact JSON (used for stored properties and API answers).
public enum JSONWriter {
    /// `\uXXXX` for the characters escaped so JSON embedded in HTML or scripts can never
    /// close a tag or end a script line (`<`, `>`, `&`, U+2028, U+2029); nil for others.
    public static func htmlSafeEscape(_ scalar: Unicode.Scalar) -> String? {
        switch scalar {
        case "<": "\\u003c"
        case ">": "\\u003e"
        case "&": "\\u0026"
        case "\u{2028}": "\\u2028"
        case "\u{2029}": "\\u2029"
        default: nil
        }
    }

    /// Compact JSON from another encoder, with `htmlSafeEscape` applied (those characters
    /// only occur inside strings, so the JSON means the same).
    public static func htmlSafe(_ json: String) -> String {
        var out = ""
        out.reserveCapacity(json.utf8.count)
        for scalar in json.unicodeScalars {
            if let escaped = htmlSafeEscape(scalar) { out += escaped } else { out.unicodeScalars.append(scalar) }
        }
        return out
    }

    public static func string(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if let escaped = htmlSafeEscape(scalar) {
                    out += escaped
                } else if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
        return out
    }

    /// A whole value as compact JSON. Integral numbers print without a fraction so
    /// millisecond timestamps and node IDs survive a round trip exactly.
    public static func value(_ v: JSONValue) -> String {
        var out = ""
        append(v, to: &out)
        return out
    }

    public static func append(_ v: JSONValue, to out: inout String) {
        switch v {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d):
            if d.rounded() == d, abs(d) < 9e15 { out += String(Int64(d)) } else if d.isFinite { out += "\(d)" } else { out += "null" }
        case .numberText(let text): out += text
        case .string(let s): out += string(s)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                append(item, to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, (k, item)) in members.enumerated() {
                if i > 0 { out += "," }
                out += string(k)
                out += ":"
                append(item, to: &out)
            }
            out += "}"
        }
    }

    public static func strings(_ list: [String]) -> String {
        "[" + list.map(string).joined(separator: ",") + "]"
    }

    public static func object(_ pairs: [(String, String)]) -> String {
        "{" + pairs.map { string($0.0) + ":" + string($0.1) }.joined(separator: ",") + "}"
    }
}
