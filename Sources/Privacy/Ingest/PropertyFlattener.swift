/// Turns a JSON properties object into the flat `key → text` pairs Veil stores.
///
/// Nested objects and arrays (common in SDK payloads) become dotted keys: `{"a": {"b": 1},
/// "tags": ["x", "y"]}` → `a.b = 1`, `tags.0 = x`, `tags.1 = y`, in document order. Nulls
/// are skipped. Numbers keep their JSON text (see `JSONValue.numberText`).
///
/// Limits: at most `limits.properties` pairs, keys up to `propertyKeyLength` and values up
/// to `propertyValueLength` characters. In `strict` mode (Veil's own API) a top-level
/// member past a limit rejects the request, as it always has; a nested leaf past a limit
/// is left out and counted in `omitted`. Otherwise (SDK protocols, whose clients cannot
/// fix a batch) every member past a limit is left out and counted.
public struct PropertyFlattener: Sendable {
    public var limits: IngestLimits
    public var strict: Bool

    public init(limits: IngestLimits, strict: Bool) {
        self.limits = limits
        self.strict = strict
    }

    public struct Result: Sendable {
        public var props: [(String, String)] = []
        /// Members left out for a limit (too many, key or value too long, empty key).
        public var omitted = 0
    }

    public func flatten(_ members: [(String, JSONValue)], path p: String) throws(IngestRejection) -> Result {
        var result = Result()
        if strict, members.count > limits.properties {
            throw IngestRejection(.tooManyProperties, "\(p)props has \(members.count) properties; the limit is \(limits.properties)")
        }
        for (key, value) in members {
            if strict {
                guard !key.isEmpty else { throw IngestRejection(.invalidField, "\(p)props has an empty key") }
                guard key.count <= limits.propertyKeyLength else {
                    throw IngestRejection(.valueTooLong, "\(p)props key of \(key.count) characters; the limit is \(limits.propertyKeyLength)")
                }
                if let text = value.scalarText, text.count > limits.propertyValueLength {
                    throw IngestRejection(.valueTooLong, "\(p)props.\(key) is \(text.count) characters; the limit is \(limits.propertyValueLength)")
                }
            }
            add(key, value, into: &result)
        }
        return result
    }

    private func add(_ key: String, _ value: JSONValue, into result: inout Result) {
        switch value {
        case .null:
            return
        case .object(let members):
            for (k, v) in members { add(key + "." + k, v, into: &result) }
        case .array(let items):
            for (i, v) in items.enumerated() { add(key + "." + String(i), v, into: &result) }
        default:
            guard let text = value.scalarText, !key.isEmpty, !key.hasPrefix("."), key.count <= limits.propertyKeyLength,
                  text.count <= limits.propertyValueLength, result.props.count < limits.properties else {
                result.omitted += 1
                return
            }
            result.props.append((key, text))
        }
    }
}
