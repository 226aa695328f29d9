/// Number and duration formatting for pages (1.2k, 3m 05s, 41%).
enum Format {
    static func compact(_ n: Int) -> String {
        let v = Double(n)
        switch abs(n) {
        case ..<1000: return String(n)
        case ..<10_000: return trim(v / 1000, digits: 1) + "k"
        case ..<1_000_000: return String(Int((v / 1000).rounded())) + "k"
        case ..<10_000_000: return trim(v / 1_000_000, digits: 1) + "M"
        default: return String(Int((v / 1_000_000).rounded())) + "M"
        }
    }

    /// A count with its noun in the right number: "1 visitor", "2 visitors", "1.2k visitors".
    static func count(_ n: Int, _ singular: String, _ plural: String) -> String {
        "\(compact(n)) \(n == 1 ? singular : plural)"
    }

    static func duration(seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        let m = s / 60, r = s % 60
        if m < 60 { return "\(m)m " + (r < 10 ? "0" : "") + "\(r)s" }
        let h = m / 60, rm = m % 60
        return "\(h)h " + (rm < 10 ? "0" : "") + "\(rm)m"
    }

    static func percent(_ fraction: Double) -> String { "\(Int((fraction * 100).rounded()))%" }

    private static func trim(_ v: Double, digits: Int) -> String {
        let scale = digits == 1 ? 10.0 : 100.0
        let r = (v * scale).rounded(.down) / scale
        return r == r.rounded() ? String(Int(r)) : String(r)
    }
}
