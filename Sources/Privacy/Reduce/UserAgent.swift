/// The only parts of a user agent Veil keeps: browser family, OS family, device class.
public struct ReducedUserAgent: Sendable, Equatable {
    public var browser: String
    public var os: String
    public var device: String
    public var isBot: Bool

    public init(browser: String, os: String, device: String, isBot: Bool = false) {
        self.browser = browser
        self.os = os
        self.device = device
        self.isBot = isBot
    }

    /// A server-side SDK call that names no person's agent: nothing is known about the
    /// device, and the caller is no bot.
    public static let serverSide = ReducedUserAgent(browser: "Other", os: "Other", device: "unknown")

    /// Reduces a raw user-agent string. Order of checks matters: many browsers claim
    /// to be others ("Chrome" appears in Edge, Opera and Samsung Internet agents).
    public static func reduce(_ ua: String) -> ReducedUserAgent {
        let s = ua.lowercased()
        let botMarkers = ["bot", "crawler", "spider", "slurp", "headlesschrome", "phantomjs", "lighthouse",
                          "curl/", "wget/", "python-requests", "python-urllib", "go-http-client", "java/",
                          "okhttp", "scrapy", "facebookexternalhit", "preview", "monitor", "pingdom"]
        let isBot = s.isEmpty || botMarkers.contains(where: { s.contains($0) })

        let browser: String
        if s.contains("edg/") || s.contains("edge/") || s.contains("edga/") || s.contains("edgios/") { browser = "Edge" }
        else if s.contains("opr/") || s.contains("opera") { browser = "Opera" }
        else if s.contains("samsungbrowser/") { browser = "Samsung Internet" }
        else if s.contains("yabrowser/") { browser = "Yandex" }
        else if s.contains("firefox/") || s.contains("fxios/") { browser = "Firefox" }
        else if s.contains("chrome/") || s.contains("crios/") || s.contains("chromium/") { browser = "Chrome" }
        else if s.contains("safari/") && s.contains("version/") { browser = "Safari" }
        else if s.contains("msie ") || s.contains("trident/") { browser = "Internet Explorer" }
        else { browser = "Other" }

        let os: String
        if s.contains("windows") { os = "Windows" }
        else if s.contains("iphone") || s.contains("ipad") || s.contains("ipod") { os = "iOS" }
        else if s.contains("android") { os = "Android" }
        else if s.contains("cros") { os = "ChromeOS" }
        else if s.contains("mac os x") || s.contains("macintosh") { os = "macOS" }
        else if s.contains("linux") || s.contains("x11") { os = "Linux" }
        else { os = "Other" }

        let device: String
        if s.contains("ipad") || s.contains("tablet") || (s.contains("android") && !s.contains("mobile")) { device = "tablet" }
        else if s.contains("mobi") || s.contains("iphone") || s.contains("ipod") { device = "mobile" }
        else { device = "desktop" }

        return ReducedUserAgent(browser: browser, os: os, device: isBot ? "bot" : device, isBot: isBot)
    }
}
