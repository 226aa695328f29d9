/// Finds personal data in free text and replaces it with typed placeholders
/// (`[email]`, `[phone]`, `[card]`, `[iban]`, `[ip]`, `[ssn]`, `[token]`).
///
/// Written as hand-made scanners over UTF-8 rather than regular expressions: it runs on
/// every URL, name and property at ingest, and each kind needs a check a pattern cannot
/// express (Luhn for cards, ISO 7064 mod 97 for IBANs, octet ranges for IPv4). False
/// positives matter as much as recall, so every matcher requires token boundaries and
/// the numeric ones validate their digits: dates, versions, prices and order numbers survive.
///
/// Linear time on any input: every scanner either reads a bounded window (SSN, card,
/// IPv4, IBAN, phone, IPv6 validation) or reads an unbounded run once and remembers
/// what it proved about the rest of that run (e-mail local parts, JWT segments, IPv6
/// runs, tokens), so text built to make matches restart at every byte (`:::…`, `-a-a…`)
/// costs a constant number of reads per byte. `scrubMeasured` exposes the count.
/// On top, `ScrubBudget` caps how many bytes one request may make it read.
public struct PIIScrubber: Sendable {
    public enum Kind: String, Sendable, CaseIterable, Hashable {
        case email, phone, card, iban, ip, ssn, token
        /// A match of a site's own `scrub_patterns`.
        case redacted
        /// Text beyond the request's scrub budget, masked unread.
        case unscanned
        public var placeholder: String { "[\(rawValue)]" }
    }

    public struct Result: Sendable, Equatable {
        public var text: String
        public var counts: [Kind: Int]
    }

    public init() {}

    /// Scrubs `text`; returns it unchanged (and no counts) when nothing matched.
    public func scrub(_ text: String) -> Result {
        scrubMeasured(text).result
    }

    /// Scrubs `text` and reports how many bytes the scanners read (at most a small
    /// constant times its length: the linearity tests assert on it).
    public func scrubMeasured(_ text: String) -> (result: Result, reads: Int) {
        // Nothing shorter than "::1" can match.
        guard text.utf8.count >= 3 else { return (Result(text: text, counts: [:]), 0) }
        var scan = PIIScan(Array(text.utf8))
        let count = scan.count
        var out: [UInt8] = []
        var counts: [Kind: Int] = [:]
        var i = 0
        var copiedUpTo = 0
        while i < count {
            if let (kind, end) = scan.match(at: i) {
                if out.isEmpty { out.reserveCapacity(count) }
                out.append(contentsOf: scan.b[copiedUpTo..<i])
                out.append(contentsOf: kind.placeholder.utf8)
                counts[kind, default: 0] += 1
                i = end
                copiedUpTo = end
            } else {
                i += 1
            }
        }
        guard !counts.isEmpty else { return (Result(text: text, counts: [:]), scan.reads) }
        out.append(contentsOf: scan.b[copiedUpTo...])
        return (Result(text: String(decoding: out, as: UTF8.self), counts: counts), scan.reads)
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

    /// Scrubs while `budget` lasts; text that would overdraw it is not read at all and
    /// comes back as `mask` (counted as `.unscanned`), so one request cannot make the
    /// scrubber read more than its budget.
    public func scrub(_ text: String, extraPatterns: [String], budget: inout ScrubBudget, mask: (String) -> String) -> Result {
        guard budget.take(text.utf8.count) else { return Result(text: mask(text), counts: [.unscanned: 1]) }
        return scrub(text, extraPatterns: extraPatterns)
    }

    /// Whether a site pattern compiles (config validation).
    public static func isValidPattern(_ pattern: String) -> Bool {
        (try? Regex(pattern)) != nil && !pattern.isEmpty
    }
}

/// How many bytes of text one request may still have scrubbed (`limits.scrub_bytes`).
public struct ScrubBudget: Sendable, Equatable {
    public private(set) var remaining: Int

    public init(bytes: Int) { remaining = max(0, bytes) }

    public static let unlimited = ScrubBudget(bytes: .max)

    /// Spends `n` bytes if that many are left.
    public mutating func take(_ n: Int) -> Bool {
        guard n <= remaining else { remaining = 0; return false }
        remaining -= n
        return true
    }
}
