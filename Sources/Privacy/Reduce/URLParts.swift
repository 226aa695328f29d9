/// URL cleaning: store host + path and only allow-listed query parameters.
///
/// Written over plain strings (not Foundation's URL) because client URLs are hostile
/// and Foundation's parser differs across platforms in what it accepts.
public enum URLParts {
    public struct Cleaned: Sendable, Equatable {
        public var host: String
        public var path: String
        public var query: [(String, String)]

        public static func == (a: Cleaned, b: Cleaned) -> Bool {
            a.host == b.host && a.path == b.path && a.query.map { $0.0 + "=" + $0.1 } == b.query.map { $0.0 + "=" + $0.1 }
        }
    }

    /// Splits an absolute http(s) URL. Returns nil for other schemes or no host.
    public static func clean(_ raw: String, allowedQuery: Set<String>) -> Cleaned? {
        let trimmed = raw.trimmingASCIIWhitespace()
        let lower = trimmed.lowercased()
        let rest: Substring
        if lower.hasPrefix("https://") {
            rest = trimmed.dropFirst(8)
        } else if lower.hasPrefix("http://") {
            rest = trimmed.dropFirst(7)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[rest.startIndex..<authorityEnd]
        // Credentials in a URL are PII by definition: drop them.
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard let host = hostWithoutPort(String(authority)), !host.isEmpty else { return nil }
        var remainder = rest[authorityEnd...]
        if let hash = remainder.firstIndex(of: "#") { remainder = remainder[..<hash] }
        var pathPart = remainder
        var queryPart: Substring = ""
        if let q = remainder.firstIndex(of: "?") {
            pathPart = remainder[..<q]
            queryPart = remainder[remainder.index(after: q)...]
        }
        var path = percentDecodePath(String(pathPart))
        if path.isEmpty { path = "/" }
        var query: [(String, String)] = []
        for pair in queryPart.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = percentDecode(String(parts[0])).lowercased()
            guard allowedQuery.contains(key) else { continue }
            let value = parts.count > 1 ? percentDecode(String(parts[1])) : ""
            if !value.isEmpty { query.append((key, value)) }
        }
        return Cleaned(host: host, path: path, query: query)
    }

    /// Host of an `Origin` header value (`https://example.com:8443` → `example.com`).
    public static func host(ofOrigin origin: String) -> String? {
        let parts = origin.split(separator: "/", omittingEmptySubsequences: true)
        // "https://host:port" splits into ["https:", "host:port"].
        if parts.count >= 2, parts[0].hasSuffix(":") { return hostWithoutPort(String(parts[1])) }
        return hostWithoutPort(origin)
    }

    static func hostWithoutPort(_ authority: String) -> String? {
        var a = Substring(authority.lowercased())
        if a.hasPrefix("[") {  // IPv6 literal
            guard let close = a.firstIndex(of: "]") else { return nil }
            return String(a[...close])
        }
        if let colon = a.lastIndex(of: ":") { a = a[..<colon] }
        if a.hasSuffix(".") { a = a.dropLast() }
        if a.hasPrefix("www.") { a = a.dropFirst(4) }
        guard a.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" }) else { return nil }
        return String(a)
    }

    /// Decodes %XX sequences; invalid sequences are kept literally.
    public static func percentDecode(_ s: String, plusIsSpace: Bool = true) -> String {
        guard s.contains("%") || (plusIsSpace && s.contains("+")) else { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "%"), i + 2 < bytes.count, let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2]) {
                out.append(hi << 4 | lo)
                i += 3
            } else if plusIsSpace, b == UInt8(ascii: "+") {
                out.append(0x20)
                i += 1
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecodePath(_ s: String) -> String { percentDecode(s, plusIsSpace: false) }

    private static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
