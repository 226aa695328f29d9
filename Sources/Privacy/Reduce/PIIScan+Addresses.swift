import Foundation

// Scanners for IP addresses (IPv4 and IPv6).

extension PIIScan {
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
}
