import Foundation
import Testing
import VeilAssets

/// Every text/background pair of the dashboard's palette reaches WCAG AA (4.5:1), in the
/// light and the dark theme, computed from the stylesheet Veil serves (issue 14).
@Suite("Dashboard palette contrast")
struct ContrastTests {
    static let css = String(decoding: EmbeddedAssets.stylesheet, as: UTF8.self)

    /// The `:root` custom properties of the first block after `marker` (light: the first
    /// `:root{`, dark: the one inside `prefers-color-scheme:dark`).
    static func palette(after marker: String) throws -> [String: String] {
        let start = try #require(css.range(of: marker))
        let block = css[start.upperBound...].prefix { $0 != "}" }
        var vars: [String: String] = [:]
        for declaration in block.split(separator: ";") {
            let parts = declaration.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, parts[0].hasPrefix("--") { vars[String(parts[0].dropFirst(2))] = parts[1] }
        }
        return vars
    }

    static func luminance(_ hex: String) -> Double {
        var h = hex.trimmingCharacters(in: CharacterSet(charactersIn: "#"))
        if h.count == 3 { h = h.map { "\($0)\($0)" }.joined() }
        let v = Int(h, radix: 16) ?? 0
        func channel(_ c: Int) -> Double {
            let s = Double(c) / 255
            return s <= 0.03928 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4)
        }
        return 0.2126 * channel(v >> 16 & 0xFF) + 0.7152 * channel(v >> 8 & 0xFF) + 0.0722 * channel(v & 0xFF)
    }

    static func contrast(_ a: String, _ b: String) -> Double {
        let (x, y) = (luminance(a), luminance(b))
        return (max(x, y) + 0.05) / (min(x, y) + 0.05)
    }

    /// Text colour on background colour, as the stylesheet uses them.
    static let pairs: [(String, String)] = [
        ("fg", "bg"), ("fg", "card"), ("fg", "share"), ("muted", "bg"), ("muted", "card"), ("muted", "share"),
        ("accent", "bg"), ("accent", "card"), ("accent", "share"), ("err", "bg"), ("err", "card"), ("ok", "bg"), ("ok", "card"),
        ("on-accent", "accent"), ("on-err", "err"),
    ]

    @Test(arguments: [("light", ":root{"), ("dark", "prefers-color-scheme:dark){:root{")])
    func everyPairReachesAA(theme: String, marker: String) throws {
        let palette = try Self.palette(after: marker)
        for (text, background) in Self.pairs {
            let a = try #require(palette[text], "\(theme) has no --\(text)"), b = try #require(palette[background], "\(theme) has no --\(background)")
            let ratio = Self.contrast(a, b)
            #expect(ratio >= 4.5, "\(theme): --\(text) \(a) on --\(background) \(b) is \(String(format: "%.2f", ratio)):1")
        }
    }

    @Test func textColoursComeFromThePalette() {
        // A fixed colour beside the themed ones is how red-on-red buttons happened: every
        // `color:` after the palette names a variable.
        let rules = Self.css.components(separatedBy: "\n").dropFirst(3).joined(separator: "\n")
        let fixed = rules.components(separatedBy: ";").filter {
            let d = $0.replacingOccurrences(of: " ", with: "")
            return d.range(of: #"(^|[{;\s])color:#"#, options: .regularExpression) != nil
        }
        #expect(fixed.isEmpty, "\(fixed)")
    }
}
