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

@Suite("Parsing ingest bodies and limits")
struct EventParserTests {
    let parser = EventParser(limits: IngestLimits())

    func rejection(_ body: String, batch: Bool = false) -> IngestRejection.Code? {
        do {
            if batch { _ = try parser.parseBatch(Array(body.utf8)) } else { _ = try parser.parseSingle(Array(body.utf8)) }
            return nil
        } catch {
            return error.code
        }
    }

    @Test func parsesAFullEvent() throws {
        let e = try parser.parseSingle(Array(#"{"site":"example.com","name":"Signup","url":"https://example.com/","referrer":null,"props":{"plan":"pro","n":3,"ok":true,"x":null},"id":"u-1"}"#.utf8))
        #expect(e.name == "Signup")
        #expect(e.props.map { $0.0 + "=" + $0.1 } == ["plan=pro", "n=3", "ok=true"])
        #expect(e.clientID == "u-1")
    }

    @Test func batchInheritsSite() throws {
        let events = try parser.parseBatch(Array(#"{"site":"example.com","events":[{"name":"pageview","url":"https://example.com/"},{"site":"other.com","name":"x","url":"https://other.com/"}]}"#.utf8))
        #expect(events.map(\.site) == ["example.com", "other.com"])
    }

    @Test func invalidJSON() { #expect(rejection("{\"site\":") == .invalidJSON) }
    @Test func trailingGarbage() { #expect(rejection(#"{"site":"a","name":"b","url":"https://a/"} x"#) == .invalidJSON) }
    @Test func invalidUTF8() throws {
        var bytes = Array(#"{"site":"a","name":""#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#"","url":"https://a/"}"#.utf8)
        #expect(throws: IngestRejection.self) { try parser.parseSingle(bytes) }
        do { _ = try parser.parseSingle(bytes) } catch { #expect(error.code == .invalidUTF8) }
    }
    @Test func missingFields() {
        #expect(rejection(#"{"name":"b","url":"https://a/"}"#) == .missingField)
        #expect(rejection(#"{"site":"a","url":"https://a/"}"#) == .missingField)
        #expect(rejection(#"{"site":"a","name":"b"}"#) == .missingField)
    }
    @Test func wrongTypes() {
        #expect(rejection(#"{"site":1,"name":"b","url":"https://a/"}"#) == .invalidField)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":[1]}"#) == .invalidField)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"k":{"nested":1}}}"#) == .invalidField)
        #expect(rejection(#"[]"#) == .invalidField)
    }
    @Test func tooManyProperties() {
        let props = (0...30).map { "\"k\($0)\":\"v\"" }.joined(separator: ",")
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"# + props + "}}") == .tooManyProperties)
        let ok = (0..<30).map { "\"k\($0)\":\"v\"" }.joined(separator: ",")
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"# + ok + "}}") == nil)
    }
    @Test func overLongKeysAndValues() {
        let longKey = String(repeating: "k", count: 65)
        let longValue = String(repeating: "v", count: 513)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"\#(longKey)":"v"}}"#) == .valueTooLong)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"k":"\#(longValue)"}}"#) == .valueTooLong)
        #expect(rejection(#"{"site":"a","name":"\#(String(repeating: "n", count: 121))","url":"https://a/"}"#) == .valueTooLong)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/\#(String(repeating: "p", count: 2048))"}"#) == .valueTooLong)
    }
    @Test func bodyTooLarge() {
        let body = #"{"site":"a","name":"b","url":"https://a/","props":{"k":""# + String(repeating: "x", count: 70_000) + "\"}}"
        #expect(rejection(body) == .bodyTooLarge)
    }
    @Test func tooManyEventsInABatch() {
        let one = #"{"name":"pageview","url":"https://a/"}"#
        #expect(rejection(#"{"site":"a","events":["# + Array(repeating: one, count: 101).joined(separator: ",") + "]}", batch: true) == .tooManyEvents)
        #expect(rejection(#"{"site":"a","events":["# + Array(repeating: one, count: 100).joined(separator: ",") + "]}", batch: true) == nil)
        #expect(IngestRejection(.tooManyEvents, "").httpStatus == 413)
        #expect(IngestRejection(.bodyTooLarge, "").httpStatus == 413)
        #expect(IngestRejection(.tooManyProperties, "").httpStatus == 400)
    }
    @Test func jsonParserHandlesEscapesAndSurrogates() throws {
        let v = try JSONParser.parse(Array(#"{"s":"a\"b\\c\u00e9\ud83d\ude00\n","n":-1.5e2,"a":[true,false,null]}"#.utf8))
        #expect(v["s"] == .string("a\"b\\cé😀\n"))
        #expect(v["n"] == .number(-150))
        #expect(v["a"] == .array([.bool(true), .bool(false), .null]))
        // Text after an escape keeps its place.
        #expect(try JSONParser.parse(Array(#"["ab\"cd\nef","\u0041BC"]"#.utf8)) == .array([.string("ab\"cd\nef"), .string("ABC")]))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(#"{"s":"\ud83d"}"#.utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("01".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(String(repeating: "[", count: 100).utf8)) }
    }
}
