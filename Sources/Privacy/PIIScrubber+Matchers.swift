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

/// Whether position `end` closes a token: end of text or a byte that cannot continue it.
@inline(__always) func atBoundary(_ b: [UInt8], _ end: Int) -> Bool { end >= b.count || !isWordByte(b[end]) }

// MARK: - Matchers

extension PIIScrubber {
    /// local@domain.tld, with a dotted domain and an alphabetic TLD of two or more letters.
    static func email(_ b: [UInt8], _ start: Int) -> Int? {
        var i = start
        while i < b.count, isEmailLocal(b[i]) { i += 1 }
        guard i > start, i < b.count, b[i] == UInt8(ascii: "@") else { return nil }
        i += 1
        var labels = 0
        var lastLabelStart = i
        var lastLabelAlpha = true
        while true {
            let labelStart = i
            var alpha = true
            while i < b.count, isAlnum(b[i]) || b[i] == UInt8(ascii: "-") {
                if !isAlpha(b[i]) { alpha = false }
                i += 1
            }
            guard i > labelStart else { return nil }
            labels += 1
            lastLabelStart = labelStart
            lastLabelAlpha = alpha
            if i + 1 < b.count, b[i] == UInt8(ascii: "."), isAlnum(b[i + 1]) { i += 1; continue }
            break
        }
        guard labels >= 2, lastLabelAlpha, i - lastLabelStart >= 2 else { return nil }
        // `logo@2x.png`: an image density suffix and a file extension, not an address.
        let tld = String(decoding: b[lastLabelStart..<i], as: UTF8.self).lowercased()
        if fileExtensions.contains(tld) { return nil }
        return i
    }

    static let fileExtensions: Set<String> = ["png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "css", "js", "mjs", "map", "pdf", "html", "json"]

    /// Header.payload.signature, each base64url, the header starting with `eyJ` ("{\"").
    static func jwt(_ b: [UInt8], _ start: Int) -> Int? {
        guard start + 3 < b.count, b[start] == UInt8(ascii: "e"), b[start + 1] == UInt8(ascii: "y"), b[start + 2] == UInt8(ascii: "J") else { return nil }
        var i = start
        for segment in 0..<3 {
            let s = i
            while i < b.count, isTokenByte(b[i]) { i += 1 }
            guard i - s >= (segment == 2 ? 8 : 10) else { return nil }
            if segment < 2 {
                guard i < b.count, b[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
        }
        return atBoundary(b, i) ? i : nil
    }

    /// ISO 13616 IBAN: country letters, two check digits, 11 to 30 letters or digits,
    /// optionally grouped by single spaces; valid only if the mod-97 remainder is 1.
    static func iban(_ b: [UInt8], _ start: Int) -> Int? {
        guard start + 4 < b.count, isAlpha(b[start]), isAlpha(b[start + 1]), isDigit(b[start + 2]), isDigit(b[start + 3]) else { return nil }
        var chars: [UInt8] = []
        var i = start
        var end = start
        var group = 0
        while i < b.count, chars.count < 34 {
            if isAlnum(b[i]) {
                chars.append(b[i] | (isAlpha(b[i]) ? 0x20 : 0))
                group += 1
                i += 1
                end = i
            } else if b[i] == UInt8(ascii: " "), i + 1 < b.count, isAlnum(b[i + 1]), group == 4 {
                // The printed form groups by exactly four; anything else ends the IBAN.
                group = 0
                i += 1
            } else {
                break
            }
        }
        guard chars.count >= 15, chars.count <= 34, atBoundary(b, end) else { return nil }
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
    static func ssn(_ b: [UInt8], _ start: Int) -> Int? {
        guard start + 11 <= b.count else { return nil }
        let sep = b[start + 3]
        guard sep == UInt8(ascii: "-") || sep == UInt8(ascii: " "), b[start + 6] == sep else { return nil }
        for k in [0, 1, 2, 4, 5, 7, 8, 9, 10] where !isDigit(b[start + k]) { return nil }
        let end = start + 11
        guard atBoundary(b, end), !(end + 1 < b.count && b[end] == sep && isDigit(b[end + 1])) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int { (0..<count).reduce(0) { $0 * 10 + Int(b[from + $1] - 48) } }
        let area = number(start, 3), group = number(start + 4, 2), serial = number(start + 7, 4)
        guard area != 0, area != 666, area < 900, group != 0, serial != 0 else { return nil }
        return end
    }

    /// Payment card: 13 to 19 digits, optionally grouped by single spaces or dashes, with
    /// a known issuer prefix and a valid Luhn checksum.
    static func card(_ b: [UInt8], _ start: Int) -> Int? {
        var digits: [Int] = []
        var i = start
        var end = start
        var separator: UInt8?
        while i < b.count, digits.count < 19 {
            if isDigit(b[i]) {
                digits.append(Int(b[i] - 48))
                i += 1
                end = i
            } else if (b[i] == UInt8(ascii: " ") || b[i] == UInt8(ascii: "-")), i + 1 < b.count, isDigit(b[i + 1]), separator == nil || separator == b[i] {
                separator = b[i]
                i += 1
            } else {
                break
            }
        }
        guard digits.count >= 13, end >= b.count || !isAlnum(b[end]) else { return nil }
        guard !(end + 1 < b.count && (b[end] == UInt8(ascii: " ") || b[end] == UInt8(ascii: "-")) && isDigit(b[end + 1]) && separator == nil) else { return nil }
        guard hasIssuerPrefix(digits), luhn(digits) else { return nil }
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
    static func ipv4(_ b: [UInt8], _ start: Int) -> Int? {
        if start > 0 && b[start - 1] == UInt8(ascii: ".") { return nil }
        var i = start
        for octet in 0..<4 {
            let s = i
            var value = 0
            while i < b.count, isDigit(b[i]), i - s < 3 {
                value = value * 10 + Int(b[i] - 48)
                i += 1
            }
            guard i > s, value <= 255, !(i - s > 1 && b[s] == UInt8(ascii: "0")) else { return nil }
            if octet < 3 {
                guard i < b.count, b[i] == UInt8(ascii: ".") else { return nil }
                i += 1
            }
        }
        guard atBoundary(b, i), !(i + 1 < b.count && b[i] == UInt8(ascii: ".") && isAlnum(b[i + 1])) else { return nil }
        return i
    }

    /// IPv6 in full or compressed form (optionally with a trailing dotted quad). Requires a
    /// digit, or all eight groups, so words like `dead::beef` or C++ `a::b` survive.
    static func ipv6(_ b: [UInt8], _ start: Int) -> Int? {
        var i = start
        while i < b.count, isHex(b[i]) || b[i] == UInt8(ascii: ":") || b[i] == UInt8(ascii: ".") { i += 1 }
        var end = i
        // Trim trailing punctuation that cannot end an address ("…::1." at a sentence end).
        while end > start, b[end - 1] == UInt8(ascii: ".") { end -= 1 }
        guard end - start >= 3, end >= b.count || !isAlnum(b[end]) else { return nil }
        let text = String(decoding: b[start..<end], as: UTF8.self)
        guard text.contains("::") || text.filter({ $0 == ":" }).count == 7 else { return nil }
        guard text.contains(where: \.isNumber) else { return nil }
        return isValidIPv6(text) ? end : nil
    }

    static func isValidIPv6(_ text: String) -> Bool {
        var groups = text.components(separatedBy: "::")
        guard groups.count <= 2 else { return false }
        var total = 0
        var sawV4 = false
        for (index, part) in groups.enumerated() {
            if part.isEmpty { continue }
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (k, piece) in pieces.enumerated() {
                if piece.contains(".") {
                    // An embedded IPv4 may only be the very last piece.
                    guard index == groups.count - 1, k == pieces.count - 1, ipv4(Array(piece.utf8), 0) == piece.utf8.count else { return false }
                    total += 2
                    sawV4 = true
                } else {
                    guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit) else { return false }
                    total += 1
                }
            }
        }
        _ = sawV4
        groups = []
        return text.contains("::") ? total <= 7 : total == 8
    }

    /// Phone numbers: international (`+` and 8 to 15 digits) and common national layouts
    /// that need separators, so plain numbers, dates and IDs are left alone.
    static func phone(_ b: [UInt8], _ start: Int) -> Int? {
        var i = start
        var digits: [UInt8] = []
        var groups: [Int] = []
        var current = 0
        let international = b[i] == UInt8(ascii: "+")
        if international { i += 1 }
        var parenthesised = false
        var lastSeparator: UInt8 = 0
        var separators = Set<UInt8>()
        var end = i
        while i < b.count, digits.count <= 15 {
            let c = b[i]
            if isDigit(c) {
                digits.append(c)
                current += 1
                i += 1
                end = i
            } else if c == UInt8(ascii: "("), current == 0, !parenthesised, i + 1 < b.count, isDigit(b[i + 1]) {
                parenthesised = true
                i += 1
            } else if c == UInt8(ascii: ")"), parenthesised, current > 0 {
                groups.append(current); current = 0
                lastSeparator = c
                i += 1
                if i < b.count, b[i] == UInt8(ascii: " ") { i += 1 }
            } else if (c == UInt8(ascii: " ") || c == UInt8(ascii: "-") || c == UInt8(ascii: ".") || c == UInt8(ascii: "/")), current > 0, i + 1 < b.count, isDigit(b[i + 1]) {
                groups.append(current); current = 0
                lastSeparator = c
                separators.insert(c)
                i += 1
            } else {
                break
            }
        }
        if current > 0 { groups.append(current) }
        _ = lastSeparator
        guard !digits.isEmpty, end >= b.count || !isAlnum(b[end]) else { return nil }
        if end < b.count, b[end] == UInt8(ascii: "."), end + 1 < b.count, isDigit(b[end + 1]) { return nil }
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

    /// Long secret-looking strings: 24+ characters of letters, digits, `_` and `-` mixing
    /// upper case, lower case and digits with high entropy, or a known secret prefix.
    /// Pure hex (hashes, IDs) and UUIDs are identifiers, not secrets, and survive.
    static func token(_ b: [UInt8], _ start: Int) -> Int? {
        var i = start
        while i < b.count, isTokenByte(b[i]) { i += 1 }
        let length = i - start
        guard length >= 20, atBoundary(b, i) else { return nil }
        let run = b[start..<i]
        let text = String(decoding: run, as: UTF8.self)
        let prefixes = ["sk_live_", "sk_test_", "rk_live_", "pk_live_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_", "xoxb-", "xoxp-", "xoxa-", "glpat-", "AKIA", "ASIA", "AIza", "SG.", "npm_"]
        if prefixes.contains(where: { text.hasPrefix($0) }) && length >= 20 { return i }
        guard length >= 24 else { return nil }
        if run.allSatisfy({ isHex($0) || $0 == UInt8(ascii: "-") }) { return nil }
        let upper = run.contains { $0 >= 65 && $0 <= 90 }
        let lower = run.contains { $0 >= 97 && $0 <= 122 }
        let digitCount = run.filter(isDigit).count
        guard upper, lower, digitCount >= 2 else { return nil }
        // Word-like identifiers (CamelCase names, slugs) have long letter runs; secrets do not.
        var longestLetters = 0, currentLetters = 0
        for c in run {
            if isAlpha(c) { currentLetters += 1; longestLetters = max(longestLetters, currentLetters) } else { currentLetters = 0 }
        }
        guard longestLetters < 12 else { return nil }
        return entropy(run) >= 3.8 ? i : nil
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
