import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Privacy
import Storage
import Testing
@testable import Web

/// Issue 13's proof: the real PostHog and Segment clients from PyPI, every recorded
/// client request replayed byte for byte, Plausible- and Umami-shaped requests, and
/// malformed bodies in each protocol, against a live Veil.
@Suite("Other analytics clients against a live Veil")
struct SDKClientTests {
    static let posthogKey = "phc_FixtureProjectKey0000000000000000000000000"
    static let segmentKey = "FixtureSegmentWriteKey000000000"
    static let umamiID = "4f1c2a0e-0000-4000-8000-000000000000"

    static func config(dataDir: String) -> VeilConfig {
        var config = TestData.config(dataDir: dataDir)
        var shop = SiteRules(domain: "shop.example")
        shop.sdkKeys = SDKSiteKeys(posthogAPIKey: posthogKey, segmentWriteKey: segmentKey, umamiWebsiteID: umamiID)
        shop.personProperties = ["plan"]
        config.sites.append(shop)
        return config
    }

    /// A virtualenv with posthog 7.91.1 and segment-analytics-python 2.4.0 from PyPI, made
    /// once in the git-ignored `.build-sdk-venv/`; nil when it cannot be made (no network).
    static let python: String? = {
        let venv = SharedFixtures.projectRoot.appendingPathComponent(".build-sdk-venv")
        let python = venv.appendingPathComponent("bin/python").path
        func works() -> Bool { run([python, "-c", "import posthog, segment.analytics"]) == 0 }
        if FileManager.default.fileExists(atPath: python), works() { return python }
        guard run(["python3", "-m", "venv", venv.path]) == 0,
              run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "posthog==7.91.1", "segment-analytics-python==2.4.0"]) == 0 else { return nil }
        return works() ? python : nil
    }()

    static func run(_ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// How far back the clients date their signup and Order Completed events.
    static let backdateSeconds: Int64 = 7_200

    /// Runs `scripts/sdk-clients.py` and returns what it printed; waits without blocking a thread.
    static func runClients(python: String, port: Int) async throws -> [String: Any] {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("veil-sdk-\(UUID().uuidString).json")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [SharedFixtures.projectRoot.appendingPathComponent("scripts/sdk-clients.py").path, "--host", "http://127.0.0.1:\(port)",
                             "--posthog-key", posthogKey, "--segment-key", segmentKey,
                             "--backdate-seconds", String(backdateSeconds)]
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(180)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
        let data = try Data(contentsOf: out)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "sdk-clients.py printed: \(String(decoding: data, as: UTF8.self))")
    }

    @Test(.enabled(if: python != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                   "posthog and segment-analytics-python could not be installed from PyPI; CI requires them"))
    func realClientsFromPyPILandAsVeilEvents() async throws {
        let python = try #require(Self.python, "could not install posthog and segment-analytics-python from PyPI into .build-sdk-venv")
        let dir = TempDir()
        try await withLiveVeil(Self.config(dataDir: dir.path)) { client in
            let port = try #require(client.port)
            // The clients' own sends must fall on one UTC day: a run straddling midnight would
            // hash each person with two days' salts. Less than a minute before midnight, wait it out.
            let msToMidnight = 86_400_000 - Int64(Date().timeIntervalSince1970 * 1000) % 86_400_000
            if msToMidnight < 60_000 { try await Task.sleep(for: .milliseconds(msToMidnight + 1_000)) }
            let sent = try await Self.runClients(python: python, port: port)
            #expect((sent["errors"] as? [String]) == [], "the clients reported errors: \(sent["errors"] ?? "")")
            func stats(_ path: String) async throws -> [String: Any] {
                let r = try await client.execute(uri: "/api/stats/\(path)", method: .get, headers: bearer)
                #expect(r.status == .ok, "\(path): \(r.text)")
                return r.json
            }
            func rows(_ json: [String: Any]) -> [String: Int] {
                Dictionary(((json["rows"] as? [[String: Any]]) ?? []).map { ($0["value"] as? String ?? "", $0["visitors"] as? Int ?? -1) }, uniquingKeysWith: +)
            }
            // Times: the events sent with a backdated timestamp are stored then, the others now.
            let backdated = try #require(sent["backdated_ms"] as? Int).int64
            let db = try VeilDatabase.open(folder: dir.path)
            let events = try await db.events(site: "shop.example")
            let dated = events.filter { $0.name == "signup" || $0.name == "Order Completed" }
            #expect(dated.count == 4 && dated.allSatisfy { abs($0.timestamp - backdated) < 5_000 }, "\(dated.map(\.timestamp)) vs \(backdated)")
            let pageviews = events.filter { $0.name == "pageview" }
            #expect(pageviews.count == 5 && pageviews.allSatisfy { abs($0.timestamp - backdated - Self.backdateSeconds * 1_000) < 120_000 })
            // Visitor hashes use the salt of the event's UTC day, so a person whose backdated
            // event lies before today's UTC midnight is a second visitor over a multi-day range
            // (the run ends before 00:00-02:00 UTC otherwise): alice, bob, dave and erin each
            // send one backdated event, dave and erin in French.
            let pageviewDays = Set(pageviews.map { $0.timestamp / 86_400_000 })
            #expect(pageviewDays.count == 1, "the clients' sends straddled a UTC midnight")
            let crossed = !pageviewDays.contains(backdated / 86_400_000)
            // Five people: alice and bob (PostHog v0, plain and gzip), carol (v1), dave and erin (Segment).
            let overview = try await stats("overview?site=shop.example&range=7d")
            #expect(overview["visitors"] as? Int == (crossed ? 9 : 5), "\(overview), backdated events on yesterday's salt: \(crossed)")
            #expect(rows(try await stats("breakdown?site=shop.example&range=7d&dim=page")) == ["/pricing": 2, "/v1-page": 1, "/docs/start": 2])
            #expect(rows(try await stats("breakdown?site=shop.example&range=7d&dim=event")) == ["signup": 2, "checkout": 1, "Order Completed": 2])
            let utm = rows(try await stats("breakdown?site=shop.example&range=7d&dim=utm_source"))
            #expect(utm["newsletter"] == 2, "\(utm)")
            #expect(rows(try await stats("breakdown?site=shop.example&range=7d&dim=source"))["news.example.org"] == 2)
            // The person's browser and device come from the payload, not the SDK's own agent.
            #expect(Set(rows(try await stats("breakdown?site=shop.example&range=7d&dim=device")).keys).isSuperset(of: ["desktop", "mobile"]))
            #expect(rows(try await stats("breakdown?site=shop.example&range=7d&dim=language"))["fr"] == (crossed ? 4 : 2))
            // Properties survive: big integers and decimals as written, nested ones flattened.
            let keys = try await stats("properties?site=shop.example&range=7d&event=signup")
            #expect(Set(keys["keys"] as? [String] ?? []) == ["plan", "big", "ratio", "nested.a.b", "tags.0", "tags.1"])
            #expect(rows(try await stats("properties?site=shop.example&range=7d&event=signup&key=big")) == ["12345678901234567890": 2])
            #expect(rows(try await stats("properties?site=shop.example&range=7d&event=Order%20Completed&key=items.1.id")) == ["2": 2])
        }
        // No raw distinct_id, user ID, IP address or e-mail address in any byte of the folder.
        let canaries = ["ph-canary-alice@example.com", "ph-canary-bob-4417", "ph-canary-carol-v1", "ph-canary-anon-9931", "seg-canary-dave-5521",
                        "seg-canary-erin@example.com", "seg-canary-anon", "81.2.69.142", "81.2.69.160", "canary", "hunter2"]
        for (file, bytes) in dir.allBytes() {
            for canary in canaries { #expect(!bytes.contains(bytes: Array(canary.utf8)), "\(canary) is in \(file)") }
        }
    }
}

extension SDKClientTests {
    static let clientFixtures: URL? = {
        let dir = SharedFixtures.projectRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/clients")
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("README.md").path) ? dir : nil
    }()

    /// One recorded request: the exact bytes (compressed samples) or the body's JSON text
    /// as recorded, key order and numbers kept; and the headers as the client sent them.
    struct Recorded: Sendable {
        var name: String
        var path: String
        var headers: HTTPFields
        var body: [UInt8]
        var events: [JSONValue]
        var isV1: Bool { path.hasPrefix("/i/v1/") }
    }

    static func recorded() throws -> [Recorded] {
        let dir = try #require(clientFixtures)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            let root = try JSONParser.parse(bytes)
            let request = try #require(root["request"])
            var headers = HTTPFields()
            if case .object(let fields)? = request["headers"] {
                for (key, value) in fields where !["host", "content-length", "connection"].contains(key.lowercased()) {
                    if let field = HTTPField.Name(key), let text = value.stringValue { headers[field] = text }
                }
            }
            let body: [UInt8]
            if let raw = root["raw_body_base64"]?.stringValue { body = try #require(WireText.base64Decoded(Array(raw.utf8))) } else { body = Array(JSONWriter.value(try #require(root["body"])).utf8) }
            var events: [JSONValue] = []
            if case .array(let list)? = root["body"]?["batch"] { events = list }
            return Recorded(name: name, path: try #require(request["path"]?.stringValue), headers: headers, body: body, events: events)
        }
    }

    @Test(.enabled(if: clientFixtures != nil || ProcessInfo.processInfo.environment["CI"] != nil, "../shared/fixtures/clients is absent"))
    func everyRecordedClientRequestIsAccepted() async throws {
        let samples = try Self.recorded()
        #expect(samples.count == 11)
        let dir = TempDir()
        var expected = 0
        var ids = Set<String>()
        for event in samples.flatMap(\.events) {
            let name = event["event"]?.stringValue ?? event["type"]?.stringValue ?? ""
            if !["$pageleave", "$set", "$set_once", "$create_alias", "identify"].contains(name) { expected += 1 }
            for key in ["distinct_id", "userId", "anonymousId"] { if let id = event[key]?.stringValue { ids.insert(id) } }
        }
        let stored = expected
        try await withLiveVeil(Self.config(dataDir: dir.path)) { client in
            for sample in samples {
                let r = try await client.execute(uri: sample.path, method: .post, headers: sample.headers, body: ByteBuffer(bytes: sample.body))
                #expect(r.status == .ok, "\(sample.name): \(r.status) \(r.text)")
                if sample.path.hasPrefix("/v1/") {
                    #expect(r.text == #"{"success":true}"#, "\(sample.name)")
                } else if sample.isV1 {
                    // v1 clients read a result per event: ok, or drop for what Veil does not keep.
                    let results = try #require(r.json["results"] as? [String: [String: String]], "\(sample.name): \(r.text)")
                    #expect(results.count == sample.events.count)
                    for event in sample.events {
                        let uuid = try #require(event["uuid"]?.stringValue)
                        #expect(results[uuid]?["result"] == (event["event"]?.stringValue == "$pageleave" ? "drop" : "ok"), "\(uuid)")
                    }
                } else {
                    #expect(r.text == #"{"status":1}"#, "\(sample.name)")
                }
            }
            let db = try VeilDatabase.open(folder: dir.path)
            #expect(try await db.eventCount(site: "shop.example") == stored)
            // The same requests again (a client's retry) store nothing twice.
            for sample in samples {
                #expect(try await client.execute(uri: sample.path, method: .post, headers: sample.headers, body: ByteBuffer(bytes: sample.body)).status == .ok)
            }
            #expect(try await db.eventCount(site: "shop.example") == stored)
            // user_42's person: its events, and the IDs an identify or alias linked to it, with
            // only the allow-listed person property.
            let export = try await client.execute(uri: "/api/privacy/export?site=shop.example&user=user_42", method: .get, headers: bearer)
            #expect(export.status == .ok)
            let links = try #require(export.json["identity_links"] as? [[String: Any]], "\(export.text)")
            #expect(links.count == 2 && links.allSatisfy { ($0["props"] as? [String: String]).map { $0 == ["plan": "pro"] } ?? true })
            #expect((export.json["events"] as? [Any])?.isEmpty == false)
        }
        #expect(ids.count >= 2)
        for (file, bytes) in dir.allBytes() {
            for id in ids + ["jane.doe@example.com", "Jane Doe"] { #expect(!bytes.contains(bytes: Array(id.utf8)), "\(id) is in \(file)") }
        }
    }

    @Test func plausibleAndUmamiRequestsLandAsPageviewsAndEvents() async throws {
        let dir = TempDir()
        try await withLiveVeil(Self.config(dataDir: dir.path)) { client in
            // Plausible's script: text/plain, its own keys, two sites in `d` (one unknown).
            let pv = try await client.post("/api/event", #"{"n":"pageview","u":"https://shop.example/plans?utm_source=pl","d":"shop.example,unknown.example","r":"https://ref.example/a","w":1280}"#)
            #expect(pv.status == .accepted && pv.text == #"{"accepted":1,"dropped":1}"#, "\(pv.text)")
            let custom = try await client.post("/api/event", #"{"n":"Signup","u":"https://shop.example/plans","d":"shop.example","p":{"plan":"pro","seats":12345678901234567890}}"#,
                                               headers: [.contentType: "application/json"])
            #expect(custom.status == .accepted && custom.text == #"{"accepted":1}"#)
            // Umami's tracker: the path and host apart, the screen as WxH.
            let um = try await client.post("/api/send", #"{"type":"event","payload":{"website":"\#(Self.umamiID)","hostname":"shop.example","url":"/docs?x=1","referrer":"https://ref.example/b","screen":"390x844","language":"de-DE","title":"Docs"}}"#,
                                           headers: [.contentType: "application/json"])
            #expect(um.status == .accepted && um.text == #"{"accepted":1,"dropped":0}"#, "\(um.text)")
            let umEvent = try await client.post("/api/send", #"{"type":"event","payload":{"website":"\#(Self.umamiID)","hostname":"shop.example","url":"/docs","name":"Download","data":{"file":"a.pdf"}}}"#,
                                                headers: [.contentType: "application/json"])
            #expect(umEvent.status == .accepted)
            let events = try await VeilDatabase.open(folder: dir.path).events(site: "shop.example")
            #expect(events.map { "\($0.name) \($0.path)" } == ["pageview /plans", "Signup /plans", "pageview /docs", "Download /docs"])
            #expect(events[1].props == #"{"plan":"pro","seats":"12345678901234567890"}"#)
            #expect(events[3].props == #"{"file":"a.pdf"}"#)
            let sessions = try await VeilDatabase.open(folder: dir.path).sessions(site: "shop.example")
            #expect(sessions.count == 1)  // cookieless: one browser, one visit
        }
    }

    @Test func malformedBodiesGetA4xxInEachProtocolsShape() async throws {
        let dir = TempDir()
        try await withLiveVeil(Self.config(dataDir: dir.path)) { client in
            let json: HTTPFields = [.contentType: "application/json"]
            let basic: HTTPFields = [.contentType: "application/json", .authorization: "Basic " + Data("\(Self.segmentKey):".utf8).base64EncodedString()]
            var basicGzip = basic
            basicGzip[.contentEncoding] = "gzip"
            let gzipped = Zlib.compress(Array("{not json".utf8), wrapper: .gzip)!
            let cases: [(String, [UInt8], HTTPFields, Int, String)] = [
                ("/batch/", Array("{".utf8), json, 400, "invalid_json"),
                ("/batch/", Array(#"{"batch":[{"event":"x","distinct_id":"d"}]}"#.utf8), json, 401, "invalid_api_key"),
                ("/batch/", Array(#"{"api_key":"wrong","batch":[{"event":"x","distinct_id":"d"}]}"#.utf8), json, 401, "invalid_api_key"),
                ("/capture/", Array(#"{"api_key":"\#(Self.posthogKey)","distinct_id":"d"}"#.utf8), json, 400, "missing_field"),
                ("/e/?compression=gzip-js", Array("not gzip".utf8), [.contentType: "text/plain"], 400, "invalid_encoding"),
                ("/e/?compression=lz64", Array("data=%%%".utf8), [.contentType: "application/x-www-form-urlencoded"], 400, "invalid_encoding"),
                ("/e/?compression=zstd", Array("{}".utf8), json, 400, "invalid_encoding"),
                ("/i/v0/e/", gzipped, [.contentType: "application/json", .contentEncoding: "gzip"], 400, "invalid_json"),
                ("/i/v1/analytics/events", Array(#"{"batch":[{"event":"x","distinct_id":"d"}]}"#.utf8), json, 401, "invalid_api_key"),
                ("/engage/", Array(#"{"$token":"\#(Self.posthogKey)"}"#.utf8), json, 400, "missing_field"),
                ("/v1/batch", Array("[".utf8), basic, 400, "invalid_json"),
                ("/v1/track", Array(#"{"userId":"u","event":"x"}"#.utf8), json, 401, "invalid_api_key"),
                ("/v1/track", Array(#"{"userId":"u"}"#.utf8), basic, 400, "missing_field"),
                ("/v1/page", Array(#"{"properties":{}}"#.utf8), basic, 400, "missing_field"),
                ("/v1/track", Zlib.compress(Array((#"{"userId":"u","event":"x","properties":{"p":""# + String(repeating: "x", count: 33_000) + #""}}"#).utf8), wrapper: .gzip)!,
                 basicGzip, 400, "body_too_large"),
                // Past 32 KB and 500 KB once inflated (a body that large on the wire is refused
                // from its Content-Length before it is read, and the connection closed).
                ("/v1/batch", Zlib.compress(Array((#"{"batch":[],"pad":""# + String(repeating: "x", count: 520_000) + #""}"#).utf8), wrapper: .gzip)!,
                 basicGzip, 400, "body_too_large"),
                ("/api/send", Array(#"{"type":"event","payload":{"url":"/"}}"#.utf8), json, 400, "missing_field"),
                ("/api/send", Array(#"{"type":"event","payload":{"website":"nope","url":"/"}}"#.utf8), json, 401, "invalid_api_key"),
                ("/api/event", Array(#"{"n":"pageview","u":"https://shop.example/"}"#.utf8), json, 400, "missing_field"),
            ]
            for (path, body, headers, status, code) in cases {
                var h = headers
                h[.userAgent] = "posthog-python/7.91.1"
                let r = try await client.execute(uri: path, method: .post, headers: h, body: ByteBuffer(bytes: body))
                #expect(Int(r.status.code) == status && r.json["error"] as? String == code, "\(path): \(r.status) \(r.text.prefix(200))")
                if path.hasPrefix("/v1/") {
                    #expect(r.json["success"] as? Bool == false && r.json["message"] is String, "\(path)")
                } else if !path.hasPrefix("/api/") {
                    #expect(r.json["type"] is String && r.json["detail"] is String, "\(path)")
                }
            }
            #expect(try await VeilDatabase.open(folder: dir.path).eventCount(site: "shop.example") == 0)
        }
    }

    @Test func browserSDKTransportsUnknownPathsAndClockSkew() async throws {
        let dir = TempDir()
        try await withLiveVeil(Self.config(dataDir: dir.path)) { client in
            let event = #"{"event":"$pageview","properties":{"token":"\#(Self.posthogKey)","distinct_id":"anon-1","$current_url":"https://shop.example/lz","$is_identified":false}}"#
            let browser: HTTPFields = [.origin: "https://shop.example", .userAgent: TestData.userAgent]
            // posthog-js's transports: lz64 in a form, gzip-js as text/plain, base64 data=, a beacon.
            // The lz64 body as the `lzstring` package from PyPI encodes `event` (compressToBase64).
            let lz = "N4IgpgbmB2AuIC4QBIAOBDA5pAlmA7iADQioBOA9qmGbHgM6KiwUDWMipAFgMYD6AMRwAPWAFcyYAAqUAVmB6wA0mACeABk1btO3duIgAJjnp1oivjkOd00CtAC0ARgPIeEyXD4SANpy6wsKj0CAD0ofRcVAB0YMLoALaoPmChPgBeriaWhjB0AGZ41gj56D70YAC+lUA==="
            var form = browser
            form[.contentType] = "application/x-www-form-urlencoded"
            let r1 = try await client.execute(uri: "/e/?compression=lz64", method: .post, headers: form,
                                              body: ByteBuffer(string: "data=" + lz.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!))
            #expect(r1.status == .ok && r1.headers[.accessControlAllowOrigin] == "https://shop.example", "\(r1.text)")
            var text = browser
            text[.contentType] = "text/plain"
            let gz = Zlib.compress(Array(event.replacingOccurrences(of: "/lz", with: "/gz").utf8), wrapper: .gzip)!
            #expect(try await client.execute(uri: "/e/?compression=gzip-js&ver=1.200.0", method: .post, headers: text, body: ByteBuffer(bytes: gz)).status == .ok)
            let b64 = Data(event.replacingOccurrences(of: "/lz", with: "/b64").utf8).base64EncodedString()
            #expect(try await client.execute(uri: "/track/", method: .post, headers: form, body: ByteBuffer(string: "data=" + b64.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)).status == .ok)
            #expect(try await client.execute(uri: "/e/?beacon=1", method: .post, headers: text, body: ByteBuffer(string: event.replacingOccurrences(of: "/lz", with: "/beacon"))).status == .ok)
            // Another origin's page may not send for this site.
            var foreign = text
            foreign[.origin] = "https://evil.example"
            #expect(try await client.execute(uri: "/e/", method: .post, headers: foreign, body: ByteBuffer(string: event.replacingOccurrences(of: "/lz", with: "/evil"))).status == .ok)
            // A server-side event from 30 days ago is stored at arrival and counted.
            let old = #"{"api_key":"\#(Self.posthogKey)","batch":[{"event":"late","distinct_id":"u","timestamp":"2020-01-01T00:00:00Z"}]}"#
            #expect(try await client.post("/batch/", old, headers: [.contentType: "application/json", .userAgent: "posthog-python/7.91.1"]).status == .ok)
            // Paths PostHog and Segment clients may try that Veil does not serve: JSON 404s.
            for (path, method) in [("/decide/?v=3", HTTPRequest.Method.post), ("/flags/?v=2", .post), ("/i/v0/unknown", .post), ("/v1/import", .post), ("/s/", .post)] {
                let r = try await client.execute(uri: path, method: method, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                #expect(r.status == .notFound && r.json["error"] as? String == "not_found", "\(path): \(r.text)")
            }
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: bearer).text
            #expect(metrics.contains(#"veil_sdk_unknown_path_total{protocol="posthog"} 4"#) && metrics.contains(#"veil_sdk_unknown_path_total{protocol="segment"} 1"#), "\(metrics)")
            #expect(metrics.contains(#"veil_sdk_clock_skew_total{site="shop.example"} 1"#))
            #expect(metrics.contains(#"veil_events_dropped_total{reason="origin_not_allowed",site="shop.example"} 1"#))
            let events = try await VeilDatabase.open(folder: dir.path).events(site: "shop.example")
            #expect(events.map(\.path) == ["/lz", "/gz", "/b64", "/beacon", "/"])
            // Browser requests: the person's own agent; an anonymous posthog-js ID is no user.
            #expect(events.prefix(4).allSatisfy { $0.browser == "Chrome" && $0.userHash == nil })
            #expect(abs(events[4].timestamp - Int64(Date().timeIntervalSince1970 * 1000)) < 60_000)
        }
    }
}

private extension Int {
    var int64: Int64 { Int64(self) }
}
