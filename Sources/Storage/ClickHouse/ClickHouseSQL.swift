/// ClickHouse literals. The Debian server (18.16) predates query parameters, so every
/// value Veil puts into ClickHouse SQL goes through `string(_:)` or an integer
/// interpolation; nothing else ever builds a literal. Inserted rows travel as
/// JSONEachRow data, never as SQL.
enum ClickHouseSQL {
    /// A single-quoted string literal: backslash, quote and control bytes escaped, so any
    /// input (an attacker's URL path, a goal's pattern) stays one literal.
    static func string(_ s: String) -> String {
        var out = "'"
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\0": out += "\\0"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\x" + (hex.count == 1 ? "0" + hex : hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "'"
    }

    /// Bytes of literals one `IN (…)` list may hold: well under ClickHouse's default
    /// max_query_size (256 KiB), which a statement with a longer list would exceed.
    static let listBytes = 64 << 10

    /// `literals` as comma-separated lists of at most `maxBytes` each, in order (a single
    /// longer literal is a list of its own). Empty input gives no list.
    static func lists(_ literals: [String], maxBytes: Int = listBytes) -> [String] {
        var out: [String] = [], current: [String] = [], size = 0
        for item in literals {
            if !current.isEmpty && size + item.utf8.count + 2 > maxBytes {
                out.append(current.joined(separator: ", "))
                current = []
                size = 0
            }
            current.append(item)
            size += item.utf8.count + 2
        }
        if !current.isEmpty { out.append(current.joined(separator: ", ")) }
        return out
    }

    /// An identifier from configuration (database, cluster): letters, digits and `_` only.
    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
            && !(s.utf8.first! >= 48 && s.utf8.first! <= 57)
    }

    /// A LIKE pattern matching `glob` (`*` any run), the rest literal.
    static func likePattern(glob: String) -> String {
        var out = ""
        for ch in glob {
            switch ch {
            case "*": out += "%"
            case "%", "_", "\\": out += "\\" + String(ch)
            default: out.append(ch)
            }
        }
        return out
    }
}
