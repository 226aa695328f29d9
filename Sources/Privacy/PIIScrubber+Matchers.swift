import Foundation

// The scanners behind `PIIScrubber`, one per kind. Each starts at a token boundary and
// returns the end of its match, or nil.

// MARK: - Byte classes

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }
@inline(__always) func isHex(_ c: UInt8) -> Bool { isDigit(c) || ((c | 0x20) >= 97 && (c | 0x20) <= 102) }
@inline(__always) func isWordByte(_ c: UInt8) -> Bool { isAlnum(c) || c == UInt8(ascii: "_") }
@inline(__always) func isTokenByte(_ c: UInt8) -> Bool { isAlnum(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") }
@inline(__always) func isEmailLocal(_ c: UInt8) -> Bool {
    isAlnum(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "%") || c == UInt8(ascii: "+") || c == UInt8(ascii: "-")
}
@inline(__always) func isIPv6Byte(_ c: UInt8) -> Bool { isHex(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: ".") }

/// One scrub: the text, a count of every byte the scanners read, and what earlier scans
/// proved about the run they read, so that no run is read again from a later start.
struct PIIScan {
    let b: [UInt8]
    private(set) var reads = 0
    /// E-mail: a scan from an earlier start in the same local-part run failed, and every
    /// later start in that run shares its end and its domain, so fails too.
    private var emailNoMatchBefore = 0
    /// JWT: the same for the first segment's run.
    private var jwtNoMatchBefore = 0
    /// IPv6: the run of hex digits, `:` and `.` containing the current start, and its end
    /// without trailing dots (shared by every start inside the run).
    private var ipv6RunEnd = -1
    private var ipv6TrimmedEnd = -1
    /// Token: a known secret prefix found inside a run, to be matched from that start.
    private var pendingToken: (start: Int, end: Int)?

    /// The longest textual IPv6 address (with an embedded IPv4) is 45 bytes.
    static let maxIPv6Length = 45

    init(_ bytes: [UInt8]) { b = bytes }

    var count: Int { b.count }

    /// Every byte read goes through here, so `reads` is the scrubber's work.
    @inline(__always) subscript(i: Int) -> UInt8 {
        mutating get { reads &+= 1; return b[i] }
    }

    /// A copy of bytes for validation, counted as reads.
    mutating func text(_ range: Range<Int>) -> String {
        reads &+= range.count
        return String(decoding: b[range], as: UTF8.self)
    }

    @inline(__always) mutating func atBoundary(_ end: Int) -> Bool { end >= count || !isWordByte(self[end]) }

    /// The first kind matching at `i`, most specific first.
    mutating func match(at i: Int) -> (PIIScrubber.Kind, Int)? {
        let c = self[i]
        if i > 0 && isWordByte(self[i - 1]) && c != UInt8(ascii: "+") {
            // Matches start at a token boundary; an '@' is found from the local part's start.
            return nil
        }
        if c == UInt8(ascii: "e"), let end = jwt(i) { return (.token, end) }
        if isEmailLocal(c), let end = email(i) { return (.email, end) }
        if isAlpha(c), let end = iban(i) { return (.iban, end) }
        if isDigit(c) {
            if let end = ssn(i) { return (.ssn, end) }
            if let end = card(i) { return (.card, end) }
            if let end = ipv4(i) { return (.ip, end) }
        }
        if isHex(c) || c == UInt8(ascii: ":"), let end = ipv6(i) { return (.ip, end) }
        if isDigit(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: "("), let end = phone(i) { return (.phone, end) }
        if isTokenByte(c), let end = token(i) { return (.token, end) }
        return nil
    }

    // MARK: - Matchers

    /// local@domain.tld, with a dotted domain and an alphabetic TLD of two or more letters.
    mutating func email(_ start: Int) -> Int? {
        guard start >= emailNoMatchBefore else { return nil }
        var i = start
        while i < count, isEmailLocal(self[i]) { i += 1 }
        let localEnd = i
        guard i > start, i < count, self[i] == UInt8(ascii: "@") else { emailNoMatchBefore = localEnd; return nil }
        i += 1
        var labels = 0
        var lastLabelStart = i
        var lastLabelAlpha = true
        while true {
            let labelStart = i
            var alpha = true
            while i < count {
                let c = self[i]
                guard isAlnum(c) || c == UInt8(ascii: "-") else { break }
                if !isAlpha(c) { alpha = false }
                i += 1
            }
            guard i > labelStart else { emailNoMatchBefore = localEnd; return nil }
            labels += 1
            lastLabelStart = labelStart
            lastLabelAlpha = alpha
            if i + 1 < count, self[i] == UInt8(ascii: "."), isAlnum(self[i + 1]) { i += 1; continue }
            break
        }
        guard labels >= 2, lastLabelAlpha, i - lastLabelStart >= 2 else { emailNoMatchBefore = localEnd; return nil }
        // `logo@2x.png`: an image density suffix and a file extension, not an address.
        if i - lastLabelStart <= 4, Self.fileExtensions.contains(text(lastLabelStart..<i).lowercased()) { emailNoMatchBefore = localEnd; return nil }
        return i
    }

    static let fileExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "css", "js", "mjs", "map", "pdf", "html", "json"]

    /// Header.payload.signature, each base64url, the header starting with `eyJ` ("{\"").
    mutating func jwt(_ start: Int) -> Int? {
        guard start >= jwtNoMatchBefore, start + 3 < count, self[start] == UInt8(ascii: "e"), self[start + 1] == UInt8(ascii: "y"),
              self[start + 2] == UInt8(ascii: "J") else { return nil }
        var i = start
        var firstSegmentEnd = start
        for segment in 0..<3 {
            let s = i
            while i < count, isTokenByte(self[i]) { i += 1 }
            if segment == 0 { firstSegmentEnd = i }
            guard i - s >= (segment == 2 ? 8 : 10) else { jwtNoMatchBefore = firstSegmentEnd; return nil }
            if segment < 2 {
                guard i < count, self[i] == UInt8(ascii: ".") else { jwtNoMatchBefore = firstSegmentEnd; return nil }
                i += 1
            }
        }
        guard atBoundary(i) else { jwtNoMatchBefore = firstSegmentEnd; return nil }
        return i
    }

    /// ISO 13616 IBAN: country letters, two check digits, 11 to 30 letters or digits,
    /// optionally grouped by single spaces; valid only if the mod-97 remainder is 1.
    mutating func iban(_ start: Int) -> Int? {
        guard start + 4 < count, isAlpha(self[start]), isAlpha(self[start + 1]), isDigit(self[start + 2]), isDigit(self[start + 3]) else { return nil }
        var chars: [UInt8] = []
        var i = start
        var end = start
        var group = 0
        while i < count, chars.count < 34 {
            let c = self[i]
            if isAlnum(c) {
                chars.append(c | (isAlpha(c) ? 0x20 : 0))
                group += 1
                i += 1
                end = i
            } else if c == UInt8(ascii: " "), i + 1 < count, isAlnum(self[i + 1]), group == 4 {
                // The printed form groups by exactly four; anything else ends the IBAN.
                group = 0
                i += 1
            } else {
                break
            }
        }
        guard chars.count >= 15, chars.count <= 34, atBoundary(end) else { return nil }
        // Uppercase-insensitive, but a real IBAN's BBAN mixes digits in: refuse words.
        guard chars[4...].contains(where: isDigit) else { return nil }
        let rearranged = chars[4...] + chars[0..<4]
        var remainder = 0
        for c in rearranged {
            if isDigit(c) {
                remainder = (remainder * 10 + Int(c - 48)) % 97
            } else {
                let v = Int(c - 97 + 10)
                remainder = (remainder * 100 + v) % 97
            }
        }
        return remainder == 1 ? end : nil
    }

    /// US SSN `AAA-GG-SSSS` (or with spaces), excluding numbers never issued.
    mutating func ssn(_ start: Int) -> Int? {
        guard start + 11 <= count else { return nil }
        let sep = self[start + 3]
        guard sep == UInt8(ascii: "-") || sep == UInt8(ascii: " "), self[start + 6] == sep else { return nil }
        var digits: [Int] = []
        for k in [0, 1, 2, 4, 5, 7, 8, 9, 10] {
            let c = self[start + k]
            guard isDigit(c) else { return nil }
            digits.append(Int(c - 48))
        }
        let end = start + 11
        guard atBoundary(end), !(end + 1 < count && self[end] == sep && isDigit(self[end + 1])) else { return nil }
        let area = digits[0] * 100 + digits[1] * 10 + digits[2]
        let group = digits[3] * 10 + digits[4]
        let serial = digits[5] * 1000 + digits[6] * 100 + digits[7] * 10 + digits[8]
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return nil }
        return end
    }

    /// Payment card: 13 to 19 digits, optionally grouped by single spaces or dashes, with
    /// a known issuer prefix and a valid Luhn checksum.
    mutating func card(_ start: Int) -> Int? {
        var digits: [Int] = []
        var i = start
        var end = start
        var separator: UInt8?
        while i < count, digits.count < 19 {
            let c = self[i]
            if isDigit(c) {
                digits.append(Int(c - 48))
                i += 1
                end = i
            } else if (c == UInt8(ascii: " ") || c == UInt8(ascii: "-")), i + 1 < count, isDigit(self[i + 1]), separator == nil || separator == c {
                separator = c
                i += 1
            } else {
                break
            }
        }
        guard digits.count >= 13, end >= count || !isAlnum(self[end]) else { return nil }
        guard !(end + 1 < count && (self[end] == UInt8(ascii: " ") || self[end] == UInt8(ascii: "-")) && isDigit(self[end + 1]) && separator == nil) else { return nil }
        guard Self.hasIssuerPrefix(digits), Self.luhn(digits) else { return nil }
        return end
    }

    static func luhn(_ digits: [Int]) -> Bool {
        var sum = 0
        for (index, d) in digits.reversed().enumerated() {
            if index % 2 == 1 {
                let doubled = d * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += d
            }
        }
        return sum % 10 == 0
    }

    /// Issuer identification prefixes (Visa, Mastercard, Amex, Discover, JCB, Diners,
    /// UnionPay, Maestro), so a Luhn-valid order number rarely looks like a card.
    static func hasIssuerPrefix(_ d: [Int]) -> Bool {
        func prefix(_ n: Int) -> Int { d.prefix(n).reduce(0) { $0 * 10 + $1 } }
        let count = d.count
        switch d[0] {
        case 4: return [13, 16, 19].contains(count)
        case 5: return (51...55).contains(prefix(2)) && count == 16 || [50, 56, 57, 58].contains(prefix(2)) && count >= 12
        case 2: return (2221...2720).contains(prefix(4)) && count == 16
        case 3:
            let two = prefix(2)
            if two == 34 || two == 37 { return count == 15 }
            if (3528...3589).contains(prefix(4)) { return count >= 16 }
            return (two == 36 || two == 38 || two == 39 || (300...305).contains(prefix(3))) && count >= 14
        case 6:
            return prefix(4) == 6011 || prefix(2) == 65 || (644...649).contains(prefix(3)) || prefix(2) == 62 || (60...69).contains(prefix(2)) && count >= 12
        default: return false
        }
    }

    /// Dotted-quad IPv4 with every octet in 0...255 and nothing dotted on either side.
    mutating func ipv4(_ start: Int) -> Int? {
        if start > 0 && self[start - 1] == UInt8(ascii: ".") { return nil }
        var i = start
        for octet in 0..<4 {
            let s = i
            var value = 0
            var first: UInt8 = 0
            while i < count, i - s < 3 {
                let c = self[i]
                guard isDigit(c) else { break }
                if i == s { first = c }
                value = value * 10 + Int(c - 48)
                i += 1
            }
            guard i > s, value <= 255, !(i - s > 1 && first == UInt8(ascii: "0")) else { return nil }
            if octet < 3 {
                guard i < count, self[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
        }
        guard atBoundary(i), !(i + 1 < count && self[i] == UInt8(ascii: ".") && isAlnum(self[i + 1])) else { return nil }
        return i
    }

    /// IPv6 in full or compressed form (optionally with a trailing dotted quad). Requires a
    /// digit, or all eight groups, so words like `dead::beef` or C++ `a::b` survive.
    mutating func ipv6(_ start: Int) -> Int? {
        if start >= ipv6RunEnd {
            // Every later start inside this run shares its end: read it once.
            var i = start
            while i < count, isIPv6Byte(self[i]) { i += 1 }
            ipv6RunEnd = i
            // Trim trailing punctuation that cannot end an address ("…::1." at a sentence end).
            var end = i
            while end > start, self[end - 1] == UInt8(ascii: ".") { end -= 1 }
            ipv6TrimmedEnd = end
        }
        let end = ipv6TrimmedEnd
        guard end - start >= 3, end - start <= Self.maxIPv6Length, end >= count || !isAlnum(self[end]) else { return nil }
        let text = text(start..<end)
        guard text.contains("::") || text.filter({ $0 == ":" }).count == 7 else { return nil }
        guard text.contains(where: \.isNumber) else { return nil }
        return Self.isValidIPv6(text) ? end : nil
    }

    static func isValidIPv6(_ text: String) -> Bool {
        let groups = text.components(separatedBy: "::")
        guard groups.count <= 2 else { return false }
        var total = 0
        for (index, part) in groups.enumerated() {
            if part.isEmpty { continue }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (k, piece) in pieces.enumerated() {
                if piece.contains(".") {
                    // An embedded IPv4 may only be the very last piece.
                    var v4 = PIIScan(Array(piece.utf8))
                    guard index == groups.count - 1, k == pieces.count - 1, v4.ipv4(0) == piece.utf8.count else { return false }
                    total += 2
                } else {
                    guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit) else { return false }
                    total += 1
                }
            }
        }
        return text.contains("::") ? total <= 7 : total == 8
    }

    /// Phone numbers: international (`+` and 8 to 15 digits) and common national layouts
    /// that need separators, so plain numbers, dates and IDs are left alone.
    mutating func phone(_ start: Int) -> Int? {
        var i = start
        var digits: [UInt8] = []
        var groups: [Int] = []
        var current = 0
        let international = self[i] == UInt8(ascii: "+")
        if international { i += 1 }
        var parenthesised = false
        var separators = Set<UInt8>()
        var end = i
        // At most 16 digits, each separator after a digit: a bounded window.
        while i < count, digits.count <= 15 {
            let c = self[i]
            if isDigit(c) {
                digits.append(c)
                current += 1
                i += 1
                end = i
            } else if c == UInt8(ascii: "("), current == 0, !parenthesised, i + 1 < count, isDigit(self[i + 1]) {
                parenthesised = true
                i += 1
            } else if c == UInt8(ascii: ")"), parenthesised, current > 0 {
                groups.append(current); current = 0
                i += 1
                if i < count, self[i] == UInt8(ascii: " ") { i += 1 }
            } else if (c == UInt8(ascii: " ") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "/")), current > 0, i + 1 < count, isDigit(self[i + 1]) {
                groups.append(current); current = 0
                separators.insert(c)
                i += 1
            } else {
                break
            }
        }
        if current > 0 { groups.append(current) }
        guard !digits.isEmpty, end >= count || !isAlnum(self[end]) else { return nil }
        if end < count, self[end] == UInt8(ascii: "."), end + 1 < count, isDigit(self[end + 1]) { return nil }
        if international {
            // Country code first (1 to 4 digits when grouped), then groups of up to 8.
            guard (8...15).contains(digits.count), digits[0] != UInt8(ascii: "0"),
                  groups.count == 1 || (groups[0] <= 4 && groups.allSatisfy { $0 <= 8 }) else { return nil }
            return end
        }
        guard separators.count <= 1, !separators.contains(UInt8(ascii: "/")) || digits[0] == UInt8(ascii: "0") else { return nil }
        let n = digits.count
        // International with the "00" exit code instead of "+", grouped: 0044 20 7946 0958.
        if n >= 10, digits[0] == UInt8(ascii: "0"), digits[1] == UInt8(ascii: "0"), (8...15).contains(n - 2), groups.count >= 3, groups.allSatisfy({ $0 >= 2 && $0 <= 8 }) {
            return end
        }
        // North American: (AAA) EEE-NNNN, AAA-EEE-NNNN, AAA.EEE.NNNN, optionally led by "1".
        var nanp = groups
        var nanpDigits = digits
        if nanp.count == 4, nanp[0] == 1, digits[0] == UInt8(ascii: "1") { nanp.removeFirst(); nanpDigits.removeFirst() }
        if nanp == [3, 3, 4], nanpDigits[0] >= UInt8(ascii: "2"), nanpDigits[3] >= UInt8(ascii: "2") { return end }
        // National formats with a trunk 0: 10 to 12 digits in two or more groups of 2+.
        if (10...12).contains(n), digits[0] == UInt8(ascii: "0"), digits[1] != UInt8(ascii: "0"), groups.count >= 2, groups.allSatisfy({ $0 >= 2 }), !separators.contains(UInt8(ascii: ".")) || groups.count >= 4 {
            return end
        }
        return nil
    }

    static let secretPrefixes: [[UInt8]] = ["sk_live_", "sk_test_", "rk_live_", "pk_live_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "xoxb-", "xoxp-", "xoxa-",
                                            "glpat-", "AKIA", "ASIA", "AIza", "SG.", "npm_"].map { Array($0.utf8) }

    /// Long secret-looking strings: 24+ characters of letters, digits, `_` and `-` mixing
    /// upper case, lower case and digits with high entropy, or a known secret prefix.
    /// Pure hex (hashes, IDs) and UUIDs are identifiers, not secrets, and survive.
    ///
    /// A run of token bytes is judged once, from its first byte; a known prefix after a
    /// `-` inside the run (`ref-ghp_…`) is remembered and matched when the scan gets there.
    mutating func token(_ start: Int) -> Int? {
        if let pending = pendingToken, pending.start == start {
            pendingToken = nil
            return pending.end
        }
        guard start == 0 || !isTokenByte(self[start - 1]) else { return nil }
        var i = start
        var subStarts: [Int] = []
        while i < count {
            let c = self[i]
            guard isTokenByte(c) else { break }
            if i == start || (subStarts.count < 64 && self[i - 1] == UInt8(ascii: "-")) { subStarts.append(i) }
            i += 1
        }
        let end = i
        guard atBoundary(end) else { return nil }
        // Known prefixes: from the run's start, or from a later start after a dash.
        for s in subStarts where end - s >= 20 && hasSecretPrefix(s, end: end) {
            if s == start { return end }
            pendingToken = (s, end)
            return nil
        }
        let length = end - start
        guard length >= 24 else { return nil }
        reads &+= length
        let run = b[start..<end]
        if run.allSatisfy({ isHex($0) || $0 == UInt8(ascii: "-") }) { return nil }
        var upper = false, lower = false, digitCount = 0
        // Word-like identifiers (CamelCase names, slugs) have long letter runs; secrets do not.
        var longestLetters = 0, currentLetters = 0
        for c in run {
            if c >= 65 && c <= 90 { upper = true }
            if c >= 97 && c <= 122 { lower = true }
            if isDigit(c) { digitCount += 1 }
            if isAlpha(c) { currentLetters += 1; longestLetters = max(longestLetters, currentLetters) } else { currentLetters = 0 }
        }
        guard upper, lower, digitCount >= 2, longestLetters < 12 else { return nil }
        return Self.entropy(run) >= 3.8 ? end : nil
    }

    private mutating func hasSecretPrefix(_ s: Int, end: Int) -> Bool {
        let first = self[s]
        for prefix in Self.secretPrefixes where prefix[0] == first && s + prefix.count <= end {
            var k = 1
            while k < prefix.count, self[s + k] == prefix[k] { k += 1 }
            if k == prefix.count { return true }
        }
        return false
    }

    static func entropy(_ bytes: ArraySlice<UInt8>) -> Double {
        var counts = [Int](repeating: 0, count: 256)
        for c in bytes { counts[Int(c)] += 1 }
        let n = Double(bytes.count)
        var h = 0.0
        for c in counts where c > 0 {
            let p = Double(c) / n
            h -= p * log2(p)
        }
        return h
    }
}
