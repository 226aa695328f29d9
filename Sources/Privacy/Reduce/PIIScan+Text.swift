import Foundation

// Scanners for personal data written as text: e-mail addresses, JWTs and secret tokens.

extension PIIScan {
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
