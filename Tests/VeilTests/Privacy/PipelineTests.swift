import Testing
@testable import Privacy

@Suite("Ingest pipeline: parse and every drop reason")
struct PipelineTests {
    let salts = ActiveSalts(current: Array(repeating: 1, count: 32), previous: Array(repeating: 2, count: 32))
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

    var pipeline: IngestPipeline {
        IngestPipeline(sites: [SiteRules(domain: "example.com"), SiteRules(domain: "free.example", honorDNT: false, honorGPC: false)],
                       allowedQuery: ["utm_source"], salts: salts)
    }

    func context(origin: String? = "https://example.com", dnt: Bool = false, gpc: Bool = false, ua: String? = nil) -> IngestContext {
        IngestContext(clientIP: "203.0.113.9", userAgent: ua ?? self.ua, origin: origin, doNotTrack: dnt, globalPrivacyControl: gpc, receivedAt: 1000)
    }

    func event(site: String = "example.com", url: String = "https://example.com/a?utm_source=x&secret=1", referrer: String? = "https://news.ycombinator.com/item?id=1") -> RawEvent {
        RawEvent(site: site, name: "pageview", url: url, referrer: referrer, props: [("plan", "pro")], clientID: "abc")
    }

    func reason(_ result: Result<CleanEvent, DropReason>) -> DropReason? {
        if case .failure(let r) = result { return r }
        return nil
    }

    @Test func cleanEventCarriesOnlyReducedData() throws {
        let e = try pipeline.run(event(), context: context()).get()
        #expect(e.site == "example.com")
        #expect(e.path == "/a")
        #expect(e.query.map { $0.0 } == ["utm_source"])
        #expect(e.referrerHost == "news.ycombinator.com")
        #expect(e.referrerPath == "/item")
        #expect(e.browser == "Chrome" && e.os == "Windows" && e.device == "desktop")
        #expect(e.visitorCandidates.count == 2)
        #expect(e.visitorCandidates[0] == VisitorHasher.hash(salt: salts.current, site: "example.com", clientIP: "203.0.113.9", userAgent: ua))
        #expect(e.visitorCandidates[1] == VisitorHasher.hash(salt: salts.previous!, site: "example.com", clientIP: "203.0.113.9", userAgent: ua))
        #expect(e.timestamp == 1000)
    }

    @Test func selfReferralIsNotAReferrer() throws {
        let e = try pipeline.run(event(referrer: "https://www.example.com/previous"), context: context()).get()
        #expect(e.referrerHost == nil)
        #expect(e.referrerPath == nil)
    }

    @Test func dropUnknownSite() { #expect(reason(pipeline.run(event(site: "nope.example"), context: context())) == .unknownSite) }
    @Test func dropOriginNotAllowed() { #expect(reason(pipeline.run(event(), context: context(origin: "https://evil.example"))) == .originNotAllowed) }
    @Test func serverToServerHasNoOrigin() { #expect(reason(pipeline.run(event(), context: context(origin: nil))) == nil) }
    @Test func dropDNT() { #expect(reason(pipeline.run(event(), context: context(dnt: true))) == .doNotTrack) }
    @Test func dropGPC() { #expect(reason(pipeline.run(event(), context: context(gpc: true))) == .globalPrivacyControl) }
    @Test func dntAndGPCAreConfigurablePerSite() {
        let e = event(site: "free.example", url: "https://free.example/")
        #expect(reason(pipeline.run(e, context: context(origin: "https://free.example", dnt: true, gpc: true))) == nil)
    }
    @Test func dropBot() { #expect(reason(pipeline.run(event(), context: context(ua: "Googlebot/2.1"))) == .bot) }
    @Test func dropInvalidURL() { #expect(reason(pipeline.run(event(url: "javascript:alert(1)"), context: context())) == .invalidURL) }

    @Test func persistentIdentityHashesTheIDsWithTheServerSecret() throws {
        let secret = Array(repeating: UInt8(5), count: 32)
        var site = SiteRules(domain: "example.com")
        site.identity = .persistent
        let p = IngestPipeline(sites: [site], allowedQuery: [], salts: salts, secret: secret)
        var raw = event()
        raw.visitorID = "0123456789abcdef0123456789abcdef"
        raw.userID = "user-42"
        let e = try p.run(raw, context: context()).get()
        #expect(e.visitorCandidates == [IdentityHasher.visitor(secret: secret, site: "example.com", visitorID: "0123456789abcdef0123456789abcdef")])
        #expect(e.userHash == IdentityHasher.user(secret: secret, site: "example.com", userID: "user-42"))
        #expect(e.userHash != IdentityHasher.user(secret: Array(repeating: 6, count: 32), site: "example.com", userID: "user-42"))
        // Before consent there is no ID: counted the cookieless way.
        raw.visitorID = nil
        #expect(try p.run(raw, context: context()).get().visitorCandidates.count == 2)
        // A cookieless site ignores IDs a client sends anyway.
        let cookieless = IngestPipeline(sites: [SiteRules(domain: "example.com")], allowedQuery: [], salts: salts, secret: secret)
        raw.visitorID = "0123456789abcdef0123456789abcdef"
        let c = try cookieless.run(raw, context: context()).get()
        #expect(c.visitorCandidates.count == 2 && c.userHash == nil)
    }

    @Test func stepsAreNamedDropsThenPuts() {
        let names = IngestPipeline.steps.map(\.name)
        #expect(names.first == "drop_unknown_site")
        #expect(names.allSatisfy { $0.hasPrefix("drop_") || $0.hasPrefix("put_") })
        #expect(Set(names).count == names.count)
    }
}
