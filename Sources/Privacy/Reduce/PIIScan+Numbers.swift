// Scanners for numbers that identify a person or an account: IBAN, SSN, payment cards, phones.

extension PIIScan {
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
}
