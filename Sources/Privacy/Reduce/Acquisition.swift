/// Coarse, non-identifying visit attributes derived at ingest: the acquisition channel,
/// a screen size class (never the exact size) and the primary language (never the region).
public enum Acquisition {
    public enum Channel: String, Sendable, CaseIterable {
        case direct = "Direct"
        case search = "Organic search"
        case social = "Social"
        case email = "E-mail"
        case paid = "Paid"
        case referral = "Referral"
    }

    static let paidMedia: Set<String> = ["cpc", "ppc", "cpm", "cpv", "cpa", "paid", "paidsearch", "paid_search", "paid-search", "paidsocial",
                                         "paid_social", "paid-social", "display", "banner", "retargeting", "ads", "ad"]
    static let emailMedia: Set<String> = ["email", "e-mail", "e_mail", "mail", "newsletter"]
    static let socialMedia: Set<String> = ["social", "social-network", "social_network", "sm", "social-media", "social_media"]
    static let searchHosts = ["google.", "bing.com", "duckduckgo.com", "search.yahoo.", "yahoo.com", "baidu.com", "yandex.", "ecosia.org",
                              "search.brave.com", "startpage.com", "qwant.com", "kagi.com", "naver.com", "seznam.cz", "sogou.com"]
    static let socialHosts = ["facebook.com", "fb.com", "t.co", "twitter.com", "x.com", "linkedin.com", "lnkd.in", "reddit.com", "instagram.com",
                              "youtube.com", "pinterest.", "tiktok.com", "mastodon.", "bsky.app", "threads.net", "news.ycombinator.com",
                              "whatsapp.com", "telegram.org", "vk.com", "weibo.com", "quora.com"]
    static let mailHosts = ["mail.google.com", "outlook.live.com", "mail.yahoo.com", "mail.proton.me"]

    /// Channel grouping: UTM medium first (paid, e-mail, social), then the referrer's host.
    public static func channel(referrerHost: String?, utmMedium: String?, utmSource: String?) -> Channel {
        let medium = (utmMedium ?? "").lowercased()
        if paidMedia.contains(medium) { return .paid }
        if emailMedia.contains(medium) { return .email }
        if socialMedia.contains(medium) { return .social }
        let host = (referrerHost ?? "").lowercased()
        if !host.isEmpty {
            if hostMatches(host, mailHosts) { return .email }
            if hostMatches(host, searchHosts) { return .search }
            if hostMatches(host, socialHosts) { return .social }
            return .referral
        }
        let source = (utmSource ?? "").lowercased()
        if source.isEmpty { return .direct }
        if ["google", "bing", "duckduckgo", "yahoo", "baidu", "yandex", "ecosia"].contains(source) { return .search }
        if ["facebook", "twitter", "x", "linkedin", "reddit", "instagram", "youtube", "mastodon", "hackernews", "hn"].contains(source) { return .social }
        if emailMedia.contains(source) { return .email }
        return .referral
    }

    /// `google.` matches any google.* host and subdomains; `x.com` matches x.com and *.x.com.
    static func hostMatches(_ host: String, _ list: [String]) -> Bool {
        for entry in list {
            if entry.hasSuffix(".") {
                if host.hasPrefix(entry) || host.contains("." + entry) { return true }
            } else if host == entry || host.hasSuffix("." + entry) {
                return true
            }
        }
        return false
    }

    /// Screen width in CSS pixels → a class; nil for absent or absurd values.
    public static func screenClass(width: Int?) -> String {
        guard let width, width > 0, width < 100_000 else { return "" }
        switch width {
        case ..<576: return "Mobile"
        case ..<992: return "Tablet"
        case ..<1440: return "Laptop"
        default: return "Desktop"
        }
    }

    /// `en-GB` → `en`: the primary language subtag only, lowercased; "" when malformed.
    public static func language(_ tag: String?) -> String {
        guard let tag else { return "" }
        let primary = tag.split(whereSeparator: { $0 == "-" || $0 == "_" }).first.map { $0.lowercased() } ?? ""
        guard (2...3).contains(primary.count), primary.allSatisfy({ $0 >= "a" && $0 <= "z" }) else { return "" }
        return primary
    }
}
