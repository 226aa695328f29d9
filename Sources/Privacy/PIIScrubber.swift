/// Finds personal data in free text and replaces it with typed placeholders
/// (`[email]`, `[phone]`, `[card]`, `[iban]`, `[ip]`, `[ssn]`, `[token]`).
///
/// Written as hand-made scanners over UTF-8 rather than regular expressions: it runs on
/// every URL, name and property at ingest, and each kind needs a check a pattern cannot
/// express (Luhn for cards, ISO 7064 mod 97 for IBANs, octet ranges for IPv4). False
/// positives matter as much as recall, so every matcher requires token boundaries and
/// the numeric ones validate their digits: dates, versions, prices and order numbers survive.
public struct PIIScrubber: Sendable {
    public enum Kind: String, Sendable, CaseIterable, Hashable {
        case email, phone, card, iban, ip, ssn, token
        /// A match of a site's own `scrub_patterns`.
        case redacted
        public var placeholder: String { "[\(rawValue)]" }
    }

    public struct Result: Sendable, Equatable {
        public var text: String
        public var counts: [Kind: Int]
    }

    public init() {}

    /// Scrubs `text`; returns it unchanged (and no counts) when nothing matched.
    public func scrub(_ text: String) -> Result {
        let bytes = Array(text.utf8)
        // Nothing shorter than "::1" can match.
        guard bytes.count >= 3 else { return Result(text: text, counts: [:]) }
        var out: [UInt8] = []
        var counts: [Kind: Int] = [:]
        var i = 0
        var copiedUpTo = 0
        while i < bytes.count {
            if let (kind, end) = match(bytes, at: i) {
                if out.isEmpty { out.reserveCapacity(bytes.count) }
                out.append(contentsOf: bytes[copiedUpTo..<i])
                out.append(contentsOf: kind.placeholder.utf8)
                counts[kind, default: 0] += 1
                i = end
                copiedUpTo = end
            } else {
                i += 1
            }
        }
        guard !counts.isEmpty else { return Result(text: text, counts: [:]) }
        out.append(contentsOf: bytes[copiedUpTo...])
        return Result(text: String(decoding: out, as: UTF8.self), counts: counts)
    }

    /// Scrubs with the built-in kinds, then replaces matches of a site's own patterns
    /// (validated when the config is loaded) with `[redacted]`.
    public func scrub(_ text: String, extraPatterns: [String]) -> Result {
        var result = scrub(text)
        for pattern in extraPatterns {
            guard let regex = try? Regex(pattern).ignoresCase() else { continue }
            let matches = result.text.matches(of: regex).count
            if matches > 0 {
                result.text = result.text.replacing(regex, with: Kind.redacted.placeholder)
                result.counts[.redacted, default: 0] += matches
            }
        }
        return result
    }

    /// Whether a site pattern compiles (config validation).
    public static func isValidPattern(_ pattern: String) -> Bool {
        (try? Regex(pattern)) != nil && !pattern.isEmpty
    }

    /// The first kind matching at `i`, most specific first.
    private func match(_ b: [UInt8], at i: Int) -> (Kind, Int)? {
        let c = b[i]
        if i > 0 && isWordByte(b[i - 1]) && c != UInt8(ascii: "+") {
            // Matches start at a token boundary; an '@' is found from the local part's start.
            return nil
        }
        if c == UInt8(ascii: "e"), let end = Self.jwt(b, i) { return (.token, end) }
        if isEmailLocal(c), let end = Self.email(b, i) { return (.email, end) }
        if isAlpha(c), let end = Self.iban(b, i) { return (.iban, end) }
        if isDigit(c) {
            if let end = Self.ssn(b, i) { return (.ssn, end) }
            if let end = Self.card(b, i) { return (.card, end) }
            if let end = Self.ipv4(b, i) { return (.ip, end) }
        }
        if isHex(c) || c == UInt8(ascii: ":"), let end = Self.ipv6(b, i) { return (.ip, end) }
        if isDigit(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "("), let end = Self.phone(b, i) { return (.phone, end) }
        if isTokenByte(c), let end = Self.token(b, i) { return (.token, end) }
        return nil
    }
}
