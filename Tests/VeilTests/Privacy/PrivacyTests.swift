import Testing
@testable import Privacy

@Suite("Privacy: hashing, URL cleaning, user agents")
struct PrivacyTests {
    let salt = Array(repeating: UInt8(9), count: 32)

    @Test func visitorHashIsSixteenBytesAndDeterministic() {
        let a = VisitorHasher.hash(salt: salt, site: "example.com", clientIP: "203.0.113.7", userAgent: "UA")
        #expect(a.count == 16)
        #expect(a == VisitorHasher.hash(salt: salt, site: "example.com", clientIP: "203.0.113.7", userAgent: "UA"))
    }

    @Test func visitorHashDependsOnEveryInput() {
        let base = VisitorHasher.hash(salt: salt, site: "example.com", clientIP: "203.0.113.7", userAgent: "UA")
        #expect(base != VisitorHasher.hash(salt: Array(repeating: 8, count: 32), site: "example.com", clientIP: "203.0.113.7", userAgent: "UA"))
        #expect(base != VisitorHasher.hash(salt: salt, site: "example.org", clientIP: "203.0.113.7", userAgent: "UA"))
        #expect(base != VisitorHasher.hash(salt: salt, site: "example.com", clientIP: "203.0.113.8", userAgent: "UA"))
        #expect(base != VisitorHasher.hash(salt: salt, site: "example.com", clientIP: "203.0.113.7", userAgent: "UA2"))
        // Separators make concatenation unambiguous.
        #expect(VisitorHasher.hash(salt: salt, site: "a", clientIP: "bc", userAgent: "")
                != VisitorHasher.hash(salt: salt, site: "ab", clientIP: "c", userAgent: ""))
    }

    @Test func saltScheduleKeepsTodayAndYesterday() {
        let midnight: Int64 = 1_795_132_800_000
        #expect(SaltSchedule.liveDays(at: midnight) == (SaltSchedule.day(ofMillis: midnight) - 1)...SaltSchedule.day(ofMillis: midnight))
        #expect(SaltSchedule.day(ofMillis: midnight - 1) == SaltSchedule.day(ofMillis: midnight) - 1)
        #expect(SaltSchedule.day(ofMillis: -1) == -1)
    }

    @Test(arguments: [
        ("https://example.com/pricing?utm_source=news&email=a@b.c#top", "example.com", "/pricing", ["utm_source=news"]),
        ("http://www.Example.com", "example.com", "/", []),
        ("https://user:pass@example.com:8443/a/b?ref=hn&token=secret&UTM_Medium=x", "example.com", "/a/b", ["ref=hn", "utm_medium=x"]),
        ("https://example.com/caf%C3%A9?source=", "example.com", "/café", []),
        ("https://[2001:db8::1]:8080/x", "[2001:db8::1]", "/x", []),
        ("  https://example.com/with space  ", "example.com", "/with space", []),
    ] as [(String, String, String, [String])])
    func urlCleaning(raw: String, host: String, path: String, query: [String]) throws {
        let cleaned = try #require(URLParts.clean(raw, allowedQuery: ["utm_source", "utm_medium", "ref", "source"]))
        #expect(cleaned.host == host)
        #expect(cleaned.path == path)
        #expect(cleaned.query.map { $0.0 + "=" + $0.1 } == query)
    }

    @Test(arguments: ["javascript:alert(1)", "ftp://example.com/", "example.com/x", "https:///nohost", "https://exa mple.com/", ""])
    func urlCleaningRejects(raw: String) {
        #expect(URLParts.clean(raw, allowedQuery: []) == nil)
    }

    @Test(arguments: [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", "Windows", "desktop", false),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0", "Edge", "Windows", "desktop", false),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari", "iOS", "mobile", false),
        ("Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari", "iOS", "tablet", false),
        ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", "Chrome", "Android", "mobile", false),
        ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0 Safari/537.36", "Samsung Internet", "Android", "tablet", false),
        ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14.1; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox", "macOS", "desktop", false),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 OPR/105.0", "Opera", "Linux", "desktop", false),
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Other", "Other", "bot", true),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36", "Chrome", "Linux", "bot", true),
        ("curl/8.5.0", "Other", "Other", "bot", true),
        ("", "Other", "Other", "bot", true),
    ] as [(String, String, String, String, Bool)])
    func userAgentReduction(ua: String, browser: String, os: String, device: String, bot: Bool) {
        let r = ReducedUserAgent.reduce(ua)
        #expect(r.browser == browser)
        #expect(r.os == os)
        #expect(r.device == device)
        #expect(r.isBot == bot)
    }

    @Test func ingestContextNeverPrintsIPOrUserAgent() {
        let ctx = IngestContext(clientIP: "198.51.100.23", userAgent: "SecretAgent/1.0", origin: nil, doNotTrack: false, globalPrivacyControl: false, receivedAt: 0)
        #expect(!"\(ctx)".contains("198.51.100.23"))
        #expect(!String(reflecting: ctx).contains("SecretAgent"))
    }

    @Test func siteOriginRules() {
        let site = SiteRules(domain: "example.com", origins: ["https://shop.example.net", "127.0.0.1"])
        #expect(site.allows(origin: "https://example.com"))
        #expect(site.allows(origin: "https://www.example.com"))
        #expect(site.allows(origin: "https://blog.example.com:8443"))
        #expect(site.allows(origin: "https://shop.example.net"))
        #expect(site.allows(origin: "http://127.0.0.1:5000"))
        #expect(!site.allows(origin: "https://evil-example.com"))
        #expect(!site.allows(origin: "https://example.com.evil.net"))
    }
}
