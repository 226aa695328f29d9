import Foundation

// The scan behind `PIIScrubber`: byte classes, the counted reader and the dispatch to
// one scanner per kind (PIIScan+Text, +Numbers, +Addresses). Each scanner starts at a
// token boundary and returns the end of its match, or nil.

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
    var reads = 0
    /// E-mail: a scan from an earlier start in the same local-part run failed, and every
    /// later start in that run shares its end and its domain, so fails too.
    var emailNoMatchBefore = 0
    /// JWT: the same for the first segment's run.
    var jwtNoMatchBefore = 0
    /// IPv6: the run of hex digits, `:` and `.` containing the current start, and its end
    /// without trailing dots (shared by every start inside the run).
    var ipv6RunEnd = -1
    var ipv6TrimmedEnd = -1
    /// Token: a known secret prefix found inside a run, to be matched from that start.
    var pendingToken: (start: Int, end: Int)?

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
}
