import Foundation
@testable import Privacy
import Testing

/// The pure parts of the SDK protocols (issue 13): adapters, wire decodings, client
/// times, numbers and nested properties. Live requests are in SDKClientTests.
@Suite("SDK protocols: adapters and wire formats")
struct SDKProtocolTests {
    static let keys = SDKKeyMap(sites: {
        var site = SiteRules(domain: "shop.example")
        site.sdkKeys = SDKSiteKeys(posthogAPIKey: "phc_key", segmentWriteKey: "seg_key", umamiWebsiteID: "4F1C2A0E-0000-4000-8000-000000000000")
        return [site]
    }())
    let posthog = PostHogAdapter(limits: IngestLimits(), keys: keys)
    let segment = SegmentAdapter(limits: IngestLimits(), keys: keys)
    static let now: Int64 = 1_796_472_000_000  // 2026-12-05T12:00:00Z

    func json(_ text: String) throws -> JSONValue { try JSONParser.parse(Array(text.utf8)) }

    func events(_ items: [SDKItem]) -> [RawEvent] {
        items.compactMap { if case .event(let e) = $0 { e } else { nil } }
    }

    @Test func numbersKeepTheirValue() throws {
        let v = try json(#"{"big":12345678901234567890,"huge":1e400,"pi":3.14159265358979323846,"small":42,"half":0.5,"neg":-7,"two53":9007199254740993}"#)
        #expect(v["big"]?.scalarText == "12345678901234567890")
        #expect(v["huge"]?.scalarText == "1e400")
        #expect(v["pi"]?.scalarText == "3.14159265358979323846")
        #expect(v["small"] == .number(42) && v["small"]?.scalarText == "42")
        #expect(v["half"] == .number(0.5) && v["half"]?.scalarText == "0.5")
        #expect(v["neg"]?.scalarText == "-7")
        #expect(v["two53"]?.scalarText == "9007199254740993")
        // Written back unchanged.
        #expect(JSONWriter.value(v) == #"{"big":12345678901234567890,"huge":1e400,"pi":3.14159265358979323846,"small":42,"half":0.5,"neg":-7,"two53":9007199254740993}"#)
    }

    @Test func nestedPropertiesAreFlattenedWithinTheLimits() throws {
        var limits = IngestLimits()
        limits.properties = 4
        let v = try json(#"{"a":{"b":{"c":1}},"tags":["x","y"],"n":null,"long":"\#(String(repeating: "z", count: 600))","more":1,"most":2}"#)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        let flat = try PropertyFlattener(limits: limits, strict: false).flatten(members, path: "")
        #expect(flat.props.map { "\($0.0)=\($0.1)" } == ["a.b.c=1", "tags.0=x", "tags.1=y", "more=1"])
        #expect(flat.omitted == 2)  // the long value and the member past the count
        // Veil's own API: the top-level limits still reject; nested leaves past them are left out.
        let parser = EventParser(limits: IngestLimits())
        let e = try parser.parseSingle(Array(#"{"site":"s","name":"n","url":"https://s/","props":{"k":{"nested":1},"list":[1,2]}}"#.utf8))
        #expect(e.props.map { "\($0.0)=\($0.1)" } == ["k.nested=1", "list.0=1", "list.1=2"])
    }

    @Test func isoTimesAndSkewCorrection() {
        #expect(ClientTime.parseISO8601("2026-12-05T12:00:00Z") == Self.now)
        #expect(ClientTime.parseISO8601("2026-12-05T12:00:00.250+00:00") == Self.now + 250)
        #expect(ClientTime.parseISO8601("2026-12-05T13:30:00.585876+01:30") == Self.now + 585)
        #expect(ClientTime.parseISO8601("2026-12-05 12:00:00") == Self.now)
        #expect(ClientTime.parseISO8601("2026-12-05T11:00:00-0100") == Self.now)
        for bad in ["", "2026-13-05T12:00:00Z", "2026-12-05T12:00", "2026-12-05T12:00:00Zjunk", "2026-12-05T12:00:00.Z", "yesterday"] {
            #expect(ClientTime.parseISO8601(bad) == nil, "\(bad)")
        }
        // A client whose clock is 10 minutes slow: its times move forward by 10 minutes.
        #expect(ClientTime.corrected(Self.now - 3_600_000, sentAt: Self.now - 600_000, receivedAt: Self.now) == Self.now - 3_000_000)
        let window = ClientTimeWindow()
        #expect(window.accept(Self.now - 6 * 86_400_000, receivedAt: Self.now) != nil)
        #expect(window.accept(Self.now - 8 * 86_400_000, receivedAt: Self.now) == nil)
        #expect(window.accept(Self.now + 3_599_000, receivedAt: Self.now) != nil)
        #expect(window.accept(Self.now + 3_601_000, receivedAt: Self.now) == nil)
    }

    @Test func lzStringAndBase64AsPostHogJSSendsThem() throws {
        // Encoded by the `lzstring` package from PyPI (compressToBase64).
        let one = "N4IgpgbmB2AuIC4QBIAOBDA5pAlmA7iADQioBOA9qmGbHgM6KiwUDWMiIrxIAJjvTrQAxrAD6OXpyklkwgK5kyMcYoA2nABaxYqeggD0B+pqoA6MAA90AW1RqwB9CAC+LoA="
        guard case .decoded(let text) = LZString.decompressFromBase64(Array(one.utf8), limit: 10_000) else { Issue.record("not decoded"); return }
        #expect(String(decoding: text, as: UTF8.self) == #"{"event":"$pageview","properties":{"token":"k","distinct_id":"d","$current_url":"https://shop.example/a"}}"#)
        #expect(LZString.decompressFromBase64(Array(one.utf8), limit: 50) == .tooLarge)
        #expect(LZString.decompressFromBase64(Array("N4Igpg".utf8), limit: 10_000) == .damaged)
        #expect(LZString.decompressFromBase64(Array("not base64!".utf8), limit: 10_000) == .damaged)
        #expect(WireText.base64Decoded(Array("eyJhIjoxfQ==".utf8)).map { String(decoding: $0, as: UTF8.self) } == #"{"a":1}"#)
        #expect(WireText.base64Decoded(Array("eyJhIjoxfQ".utf8)).map { String(decoding: $0, as: UTF8.self) } == #"{"a":1}"#)
        #expect(WireText.base64Decoded(Array("e$".utf8)) == nil)
        let form = WireText.formFields(Array("data=eyJhIjoxfQ%3D%3D&compression=base64&x".utf8))
        #expect(form.map(\.0) == ["data", "compression", "x"] && form[0].1 == Array("eyJhIjoxfQ==".utf8))
    }

    @Test func postHogEventsMapOntoVeilsEvents() throws {
        let body = try json("""
            {"api_key":"phc_key","sent_at":"2026-12-05T11:50:00Z","batch":[
              {"event":"$pageview","distinct_id":"u1","uuid":"id-1","timestamp":"2026-12-05T11:49:00Z",
               "properties":{"$current_url":"https://shop.example/a?utm_source=x","$referrer":"$direct","$screen_width":390,"$browser_language":"de-DE","$ip":"81.2.69.142","$raw_user_agent":"UA","$lib":"web"}},
              {"event":"signup","distinct_id":42,"properties":{"plan":"pro","$set":{"email":"a@b.c"},"token":"phc_key","n":{"x":1}}},
              {"event":"$autocapture","distinct_id":"u1","properties":{"$event_type":"click","$elements":[{"tag_name":"button","attr__id":"buy","attr__class":["primary","big"],"$el_text":"Buy now"},{"tag_name":"div"}]}},
              {"event":"$pageleave","distinct_id":"u1"},
              {"event":"$identify","distinct_id":"user-9","properties":{"$anon_distinct_id":"anon-1","$set":{"plan":"pro"}}},
              {"event":"$create_alias","distinct_id":"A","properties":{"distinct_id":"A","alias":"B"}}
            ]}
            """)
        let items = try posthog.items(body, endpoint: .capture, bearer: nil, queryKey: nil, receivedAt: Self.now)
        #expect(items.count == 6 && items.allSatisfy { $0.site == "shop.example" })
        let e = events(items)
        #expect(e.count == 3)
        #expect(e[0].name == "pageview" && e[0].url == "https://shop.example/a?utm_source=x" && e[0].referrer == nil)
        #expect(e[0].screenWidth == 390 && e[0].language == "de-DE" && e[0].payloadIP == "81.2.69.142" && e[0].payloadUserAgent == "UA")
        #expect(e[0].sdkIdentity == "u1" && e[0].userID == "u1" && e[0].clientID == "id-1")
        // 11:49 sent at 11:50 by a clock 10 minutes slow: 11:59.
        #expect(e[0].clientTime == Self.now - 60_000)
        #expect(e[1].name == "signup" && e[1].sdkIdentity == "42" && e[1].url == "https://shop.example/")
        #expect(e[1].props.map { "\($0.0)=\($0.1)" } == ["plan=pro", "n.x=1"])
        #expect(e[2].name == "$click" && e[2].props.map { "\($0.0)=\($0.1)" } == ["tag=button", "id=buy", "classes=primary big", "path=div > button"])
        if case .ignored(_, _, let name) = items[3] { #expect(name == "$pageleave") } else { Issue.record("$pageleave is not ignored") }
        #expect(items[4].personUpdate == PersonUpdate(site: "shop.example", messageID: nil, anonymousID: "anon-1", userID: "user-9", properties: [("plan", "pro")]))
        #expect(items[5].personUpdate?.anonymousID == "A" && items[5].personUpdate?.userID == "B")
    }

    @Test func postHogElementsChainIsReadLikeElements() {
        let props = PostHogAdapter.clickProperties(.object([("$elements_chain", .string(#"button.primary.big:attr__class="primary big"attr__id="buy"nth-child="2";div.card:nth-child="1";body"#))]))
        #expect(props.map { "\($0.0)=\($0.1)" } == ["tag=button", "id=buy", "classes=primary big", "path=body > div > button"])
        let link = PostHogAdapter.clickProperties(.object([("$elements_chain", .string(#"a:attr__href="https://shop.example/pricing?x=1"href="/pricing";nav"#))]))
        #expect(link.map { "\($0.0)=\($0.1)" } == ["tag=a", "href=/pricing", "path=nav > a"])
    }

    @Test func postHogKeysAndMalformedBodies() throws {
        // posthog-js: the key in properties, the send time in the `_` parameter.
        let js = try json(#"[{"event":"x","properties":{"token":"phc_key","distinct_id":"d"},"timestamp":"2026-12-05T11:58:00Z"}]"#)
        let jsEvents = events(try posthog.items(js, endpoint: .capture, bearer: nil, queryKey: nil, querySentAt: Self.now - 300_000, receivedAt: Self.now))
        // Sent 5 minutes before it arrived by the browser's clock: 11:58 + 5 min.
        #expect(jsEvents.first?.clientTime == Self.now + 180_000 && jsEvents.first?.sdkIdentity == "d")
        let v1 = try json(#"{"batch":[{"event":"x","distinct_id":"d","uuid":"u"}]}"#)
        #expect(try posthog.items(v1, endpoint: .v1, bearer: "phc_key", queryKey: nil, receivedAt: Self.now).count == 1)
        func code(_ text: String, endpoint: PostHogAdapter.Endpoint = .capture) -> IngestRejection.Code? {
            do { _ = try posthog.items(try json(text), endpoint: endpoint, bearer: nil, queryKey: nil, receivedAt: Self.now); return nil } catch let r as IngestRejection { return r.code } catch { return nil }
        }
        #expect(code(#"{"event":"x","distinct_id":"d"}"#) == .invalidAPIKey)
        #expect(code(#"{"api_key":"nope","event":"x","distinct_id":"d"}"#) == .invalidAPIKey)
        #expect(code(#"{"api_key":"phc_key","event":"x"}"#) == .missingField)
        #expect(code(#"{"api_key":"phc_key","distinct_id":"d"}"#) == .missingField)
        #expect(code(#"{"api_key":"phc_key","event":"x","distinct_id":{"a":1}}"#) == .invalidField)
        #expect(code(#"{"api_key":"phc_key","event":"x","distinct_id":"d","properties":[1]}"#) == .invalidField)
        #expect(code(#"{"api_key":"phc_key","batch":{}}"#) == .invalidField)
        #expect(code(#""text""#) == .invalidField)
        #expect(code(#"{"api_key":"phc_key","batch":["# + Array(repeating: #"{"event":"x","distinct_id":"d"}"#, count: 101).joined(separator: ",") + "]}") == .tooManyEvents)
        #expect(code(#"{"$token":"phc_key","$distinct_id":"d","$set":{"plan":"pro"}}"#, endpoint: .engage) == nil)
    }

    @Test func segmentMessagesMapOntoVeilsEvents() throws {
        let body = try json("""
            {"writeKey":"seg_key","sentAt":"2026-12-05T11:59:00Z","batch":[
              {"type":"page","userId":"u1","messageId":"m1","timestamp":"2026-12-05T11:58:00Z","properties":{"url":"https://shop.example/docs","referrer":"https://search.example.com/"},
               "context":{"ip":"81.2.69.160","userAgent":"UA","locale":"fr-FR","screen":{"width":390}}},
              {"type":"track","anonymousId":"a1","event":"Order Completed","properties":{"revenue":99.5,"items":[{"id":1}]},"context":{"page":{"url":"https://shop.example/cart"}}},
              {"type":"screen","userId":"u1","name":"Home"},
              {"type":"identify","userId":"u1","anonymousId":"a1","traits":{"plan":"team"}},
              {"type":"alias","userId":"u1","previousId":"a0"},
              {"type":"group","userId":"u1","groupId":"g"}
            ]}
            """)
        let items = try segment.items(body, call: nil, basicKey: nil, receivedAt: Self.now)
        let e = events(items)
        #expect(e.count == 3)
        #expect(e[0].name == "pageview" && e[0].url == "https://shop.example/docs" && e[0].referrer == "https://search.example.com/")
        #expect(e[0].sdkIdentity == "u1" && e[0].userID == "u1" && e[0].payloadIP == "81.2.69.160" && e[0].payloadUserAgent == "UA")
        #expect(e[0].language == "fr-FR" && e[0].screenWidth == 390 && e[0].clientTime == Self.now - 60_000 && e[0].clientID == "m1")
        #expect(e[1].name == "Order Completed" && e[1].sdkIdentity == "a1" && e[1].userID == nil && e[1].url == "https://shop.example/cart")
        #expect(e[1].props.map { "\($0.0)=\($0.1)" } == ["revenue=99.5", "items.0.id=1"])
        #expect(e[2].name == "pageview" && e[2].url == "https://shop.example/Home")
        #expect(items[3].personUpdate == PersonUpdate(site: "shop.example", messageID: nil, anonymousID: "a1", userID: "u1", properties: [("plan", "team")]))
        #expect(items[4].personUpdate?.anonymousID == "a0")
        if case .ignored = items[5] {} else { Issue.record("group is not ignored") }
        func code(_ text: String, call: String? = "track", key: String? = "seg_key") -> IngestRejection.Code? {
            do { _ = try segment.items(try json(text), call: call, basicKey: key, receivedAt: Self.now); return nil } catch let r as IngestRejection { return r.code } catch { return nil }
        }
        #expect(code(#"{"userId":"u","event":"x"}"#, key: nil) == .invalidAPIKey)
        #expect(code(#"{"userId":"u","event":"x"}"#, key: "wrong") == .invalidAPIKey)
        #expect(code(#"{"event":"x"}"#) == .missingField)
        #expect(code(#"{"userId":"u"}"#) == .missingField)
        #expect(code(#"{"batch":[{"type":"nope","userId":"u"}]}"#, call: nil) == .invalidField)
        #expect(code(#"{"batch":"x"}"#, call: nil) == .missingField)
        let big = String(repeating: "x", count: SegmentAdapter.callBytes)
        #expect(code(#"{"batch":[{"type":"track","userId":"u","event":"x","properties":{"p":"\#(big)"}}]}"#, call: nil) == .bodyTooLarge)
    }

    @Test func plausibleAndUmamiShapes() throws {
        let plausible = try json(#"{"n":"pageview","u":"https://shop.example/p?utm_source=x","d":"shop.example, other.example","r":"https://ref.example/","w":1280}"#)
        #expect(PlausibleAdapter.recognizes(plausible))
        let p = try PlausibleAdapter(limits: IngestLimits()).events(plausible)
        #expect(p.map(\.site) == ["shop.example", "other.example"] && p.allSatisfy { $0.name == "pageview" && $0.referrer == "https://ref.example/" && $0.screenWidth == 1280 })
        let custom = try PlausibleAdapter(limits: IngestLimits()).events(try json(#"{"n":"Signup","u":"https://shop.example/","d":"shop.example","p":"{\"plan\":\"pro\"}"}"#))
        #expect(custom[0].name == "Signup" && custom[0].props.map { "\($0.0)=\($0.1)" } == ["plan=pro"])
        #expect(!PlausibleAdapter.recognizes(try json(#"{"site":"s","name":"n","url":"u"}"#)))
        let umami = UmamiAdapter(limits: IngestLimits(), keys: Self.keys)
        let u = events(try umami.items(try json(#"{"type":"event","payload":{"website":"4f1c2a0e-0000-4000-8000-000000000000","hostname":"shop.example","url":"/docs?x=1","referrer":"https://ref.example/","screen":"1920x1080","language":"en-US"}}"#)))
        #expect(u.count == 1 && u[0].name == "pageview" && u[0].url == "https://shop.example/docs?x=1" && u[0].screenWidth == 1920 && u[0].language == "en-US")
        let ue = events(try umami.items(try json(#"{"payload":{"website":"4F1C2A0E-0000-4000-8000-000000000000","url":"https://shop.example/","name":"Click","data":{"k":"v"}}}"#)))
        #expect(ue[0].name == "Click" && ue[0].props.map { "\($0.0)=\($0.1)" } == ["k=v"])
        #expect(throws: IngestRejection.self) { try umami.items(try json(#"{"payload":{"website":"nope","url":"/"}}"#)) }
        #expect(throws: IngestRejection.self) { try umami.items(try json(#"{"payload":{"website":"4f1c2a0e-0000-4000-8000-000000000000"}}"#)) }
    }
}

extension SDKProtocolTests {
    @Test func serverSideCallsAreIdentifiedByTheirOwnIDs() throws {
        var site = SiteRules(domain: "shop.example")
        site.personProperties = ["plan"]
        let secret = Array(repeating: UInt8(9), count: 32)
        let pipeline = IngestPipeline(sites: [site], allowedQuery: [], salts: ActiveSalts(current: Array(repeating: 1, count: 32), previous: nil), secret: secret)
        // The SDK's own agent would be a bot and its IP the server's: neither is used.
        let server = IngestContext(clientIP: "10.0.0.5", userAgent: "python-requests/2.31", origin: nil, doNotTrack: false, globalPrivacyControl: false, receivedAt: Self.now)
        var raw = RawEvent(site: "shop.example", name: "signup", url: "https://shop.example/")
        raw.sdkIdentity = "user-1"
        raw.userID = "user-1"
        raw.clientTime = Self.now - 3_600_000
        let plain = try pipeline.run(raw, context: server).get()
        #expect(plain.visitorCandidates == [IdentityHasher.visitor(secret: secret, site: "shop.example", visitorID: "user-1")])
        #expect(plain.userHash == IdentityHasher.user(secret: secret, site: "shop.example", userID: "user-1"))
        #expect(plain.device == "unknown" && plain.timestamp == Self.now - 3_600_000 && !plain.clockSkew)
        // Another server, same person: the same visitor.
        let other = IngestContext(clientIP: "10.9.9.9", userAgent: "node", origin: nil, doNotTrack: false, globalPrivacyControl: false, receivedAt: Self.now)
        #expect(try pipeline.run(raw, context: other).get().visitorCandidates == plain.visitorCandidates)
        // The person's agent named in the payload is reduced, and a bot there is dropped.
        raw.payloadUserAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
        #expect(try pipeline.run(raw, context: server).get().device == "mobile")
        raw.payloadUserAgent = "Googlebot/2.1"
        #expect(throws: DropReason.bot) { try pipeline.run(raw, context: server).get() }
        // Outside the window: stored at arrival, marked.
        raw.payloadUserAgent = nil
        raw.clientTime = Self.now - 30 * 86_400_000
        let late = try pipeline.run(raw, context: server).get()
        #expect(late.timestamp == Self.now && late.clockSkew)
        // A person update: both IDs as HMACs, only allow-listed properties.
        var memo = IngestPipeline.RequestMemo()
        let link = try pipeline.person(PersonUpdate(site: "shop.example", messageID: nil, anonymousID: "anon-1", userID: "user-1",
                                                    properties: [("plan", "pro"), ("email", "a@b.example")]), context: server, memo: &memo).get()
        #expect(link.visitor == IdentityHasher.visitor(secret: secret, site: "shop.example", visitorID: "anon-1"))
        #expect(link.userHash == IdentityHasher.user(secret: secret, site: "shop.example", userID: "user-1"))
        #expect(link.props.map { "\($0.0)=\($0.1)" } == ["plan=pro"])
    }
}

extension SDKItem {
    var personUpdate: PersonUpdate? { if case .person(let p) = self { p } else { nil } }
}
