import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
import Storage
@testable import Web

/// Runs a real server on an ephemeral loopback port for the duration of `body`.
func withLiveVeil(_ config: VeilConfig, clock: TimeSource = .system, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
    let app = try await buildApplication(config: config, environment: TestData.environment(clock: clock))
    try await app.test(.live) { client in try await body(client) }
}

/// `withLiveVeil` returning what `body` returns.
func withLiveVeilResult<T: Sendable>(_ config: VeilConfig, clock: TimeSource = .system, _ body: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
    let app = try await buildApplication(config: config, environment: TestData.environment(clock: clock))
    return try await app.test(.live) { client in try await body(client) }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        if h[.contentType] == nil { h[.contentType] = "text/plain;charset=UTF-8" }
        if h[.userAgent] == nil { h[.userAgent] = TestData.userAgent }
        return try await execute(uri: uri, method: .post, headers: h, body: ByteBuffer(string: body))
    }

    func post(_ uri: String, bytes: [UInt8], headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        h[.userAgent] = TestData.userAgent
        return try await execute(uri: uri, method: .post, headers: h, body: ByteBuffer(bytes: bytes))
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }
}

let bearer: HTTPFields = [.authorization: "Bearer \(TestData.apiToken)"]

@Suite("Live server on a loopback port")
struct LiveServerTests {
    @Test func ingestThenOverviewShowsIt() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let single = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/pricing?utm_source=newsletter","referrer":"https://news.example.org/post/1"}"#)
            #expect(single.status == .accepted)
            #expect(single.text == #"{"accepted":1}"#)
            let batch = try await client.post("/api/batch", #"{"site":"localhost","events":[{"name":"pageview","url":"http://localhost/"},{"name":"Signup","url":"http://localhost/","props":{"plan":"pro"}}]}"#)
            #expect(batch.status == .accepted)
            #expect(batch.text == #"{"accepted":2,"dropped":0}"#)

            let overview = try await client.execute(uri: "/api/stats/overview?site=localhost&range=today", method: .get, headers: bearer)
            #expect(overview.status == .ok)
            let json = overview.json
            #expect(json["pageviews"] as? Int == 2)
            #expect(json["visitors"] as? Int == 1)
            #expect(json["sessions"] as? Int == 1)
            let tables = json["breakdowns"] as? [String: [String: Any]] ?? [:]
            func values(_ dim: String) -> [String] { (tables[dim]?["rows"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String } }
            #expect(Set(values("page")) == ["/pricing", "/"])
            #expect(values("source") == ["news.example.org"])
            #expect(values("channel") == ["Referral"])
            #expect(values("utm_source") == ["newsletter"])
            #expect(values("event") == ["Signup"])
            #expect(json["events"] as? Int == 1)

            let unauthorized = try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get)
            #expect(unauthorized.status == .unauthorized)
            #expect(unauthorized.json["error"] as? String == "unauthorized")
            let wrongToken = try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: [.authorization: "Bearer nope"])
            #expect(wrongToken.status == .unauthorized)
            let badRange = try await client.execute(uri: "/api/stats/overview?site=localhost&range=custom&from=2026-02-30&to=2026-03-01", method: .get, headers: bearer)
            #expect(badRange.status == .badRequest)
        }
    }

    @Test func errorContract() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
                #expect(response.json["error"] as? String == code, "\(response.text)", sourceLocation: sourceLocation)
                #expect((response.json["detail"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
            }
            expectError(try await client.post("/api/event", "{not json"), .badRequest, "invalid_json")
            expectError(try await client.post("/api/event", bytes: Array(#"{"site":"localhost","name":""#.utf8) + [0xFF, 0xFE] + Array(#"","url":"http://localhost/"}"#.utf8)), .badRequest, "invalid_utf8")
            expectError(try await client.post("/api/event", #"{"site":"localhost","url":"http://localhost/"}"#), .badRequest, "missing_field")
            // Bodies over the limit are answered before they are read, and the connection is
            // closed so the rest is never read: HTTPContractTests checks them on raw sockets.
            let many = #"{"site":"localhost","events":["# + Array(repeating: #"{"name":"pageview","url":"http://localhost/"}"#, count: 101).joined(separator: ",") + "]}"
            expectError(try await client.post("/api/batch", many), .contentTooLarge, "too_many_events")
            let props = (0...30).map { "\"p\($0)\":1" }.joined(separator: ",")
            expectError(try await client.post("/api/event", #"{"site":"localhost","name":"x","url":"http://localhost/","props":{"# + props + "}}"), .badRequest, "too_many_properties")
            expectError(try await client.post("/api/event", #"{"site":"localhost","name":"x","url":"http://localhost/","props":{"k":""# + String(repeating: "v", count: 600) + "\"}}"), .badRequest, "value_too_long")
            expectError(try await client.execute(uri: "/api/event", method: .get), .methodNotAllowed, "method_not_allowed")
            expectError(try await client.execute(uri: "/api/batch", method: .put), .methodNotAllowed, "method_not_allowed")
            expectError(try await client.post("/api/event", "{}", headers: [.contentType: "application/x-www-form-urlencoded"]), .unsupportedMediaType, "unsupported_media_type")
            expectError(try await client.execute(uri: "/api/nothing-here", method: .get), .notFound, "not_found")

            // Well-formed events that are not counted: 202 with the reason.
            let unknown = try await client.post("/api/event", #"{"site":"not-configured.example","name":"pageview","url":"https://not-configured.example/"}"#)
            #expect(unknown.status == .accepted)
            #expect(unknown.text == #"{"accepted":0,"dropped":1,"reason":"unknown_site"}"#)
            let dnt = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#, headers: [.init("DNT")!: "1"])
            #expect(dnt.text == #"{"accepted":0,"dropped":1,"reason":"dnt"}"#)
            let gpc = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#, headers: [.init("Sec-GPC")!: "1"])
            #expect(gpc.text == #"{"accepted":0,"dropped":1,"reason":"gpc"}"#)
            let optedOut = try await client.post("/api/event", #"{"site":"nodnt.example","name":"pageview","url":"https://nodnt.example/"}"#, headers: [.init("DNT")!: "1"])
            #expect(optedOut.text == #"{"accepted":1}"#)
            let bot = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#, headers: [.userAgent: "Googlebot/2.1"])
            #expect(bot.text == #"{"accepted":0,"dropped":1,"reason":"bot"}"#)
            let mixed = try await client.post("/api/batch", #"{"site":"localhost","events":[{"name":"pageview","url":"http://localhost/"},{"site":"nope.example","name":"pageview","url":"https://nope.example/"},{"name":"pageview","url":"javascript:alert(1)"}]}"#)
            #expect(mixed.text == #"{"accepted":1,"dropped":2}"#)
            let dup1 = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/","id":"2d1b0a6e-0000-4000-8000-000000000001"}"#)
            let dup2 = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/","id":"2d1b0a6e-0000-4000-8000-000000000001"}"#)
            #expect(dup1.text == #"{"accepted":1}"# && dup2.text == #"{"accepted":1}"#)

            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: bearer)
            #expect(metrics.status == .ok)
            for reason in ["unknown_site", "dnt", "gpc", "bot", "invalid_url", "duplicate"] {
                #expect(metrics.text.contains("veil_events_dropped_total{reason=\"\(reason)\""), "metrics lack \(reason)")
            }
            #expect(metrics.text.contains("veil_ingest_rejected_total{error=\"invalid_json\"} 1"))
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
        }
        let db = try VeilDatabase.open(folder: dir.path)
        // optedOut (1), mixed (1), dup (1, stored once).
        #expect(try await db.eventCount(site: "localhost") == 2)
        #expect(try await db.eventCount(site: "nodnt.example") == 1)
    }

    @Test func corsOnlyForTheSitesOrigins() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let body = #"{"site":"example.com","name":"pageview","url":"https://example.com/"}"#
            let allowed = try await client.post("/api/event", body, headers: [.origin: "https://www.example.com"])
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://www.example.com")
            #expect(allowed.text == #"{"accepted":1}"#)
            let denied = try await client.post("/api/event", body, headers: [.origin: "https://evil.example"])
            #expect(denied.headers[.accessControlAllowOrigin] == nil)
            #expect(denied.text == #"{"accepted":0,"dropped":1,"reason":"origin_not_allowed"}"#)
            let preflight = try await client.execute(uri: "/api/event", method: .options, headers: [.origin: "https://example.com", .accessControlRequestMethod: "POST"])
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://example.com")
            let badPreflight = try await client.execute(uri: "/api/event", method: .options, headers: [.origin: "https://evil.example"])
            #expect(badPreflight.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func fullQueueAnswers503WithRetryAfter() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.writer.capacity = 1
        try await withLiveVeil(config) { client in
            let r = try await client.post("/api/batch", #"{"site":"localhost","events":[{"name":"pageview","url":"http://localhost/"},{"name":"pageview","url":"http://localhost/"}]}"#)
            #expect(r.status == .serviceUnavailable)
            #expect(r.headers[.retryAfter] == "1")
            #expect(r.json["error"] as? String == "overloaded")
            #expect(try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#).status == .accepted)
        }
    }

    @Test func rawIPAndUserAgentNeverReachTheDisk() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.trustedProxies = ["127.0.0.1"]
        let canaryIP = "198.51.100.77"
        try await withLiveVeil(config) { client in
            for path in ["/", "/a", "/b"] {
                let r = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost\#(path)"}"#,
                                               headers: [.init("X-Forwarded-For")!: "10.9.9.9, \(canaryIP)"])
                #expect(r.status == .accepted)
            }
        }
        let db = try VeilDatabase.open(folder: dir.path)
        let events = try await db.events(site: "localhost")
        #expect(events.count == 3)
        // The visitor is the hash of the forwarded client IP (the peer is a trusted proxy).
        let salts = try await db.rotateSalts(nowMillis: TimeSource.system.nowMillis(), newSalt: { [] })
        #expect(events[0].visitor == VisitorHasher.hash(salt: salts.current, site: "localhost", clientIP: canaryIP, userAgent: TestData.userAgent))
        #expect(events[0].browser == "Chrome" && events[0].os == "Linux")
        for (name, bytes) in dir.allBytes() {
            #expect(!bytes.contains(bytes: Array(canaryIP.utf8)), "client IP found in \(name)")
            #expect(!bytes.contains(bytes: Array(TestData.userAgent.utf8)), "user agent found in \(name)")
            #expect(!bytes.contains(bytes: Array("VeilCanaryUA".utf8)), "user agent fragment found in \(name)")
        }
        try await db.checkpoint()
        for (name, bytes) in dir.allBytes() {
            #expect(!bytes.contains(bytes: Array(canaryIP.utf8)), "client IP found in \(name) after checkpoint")
            #expect(!bytes.contains(bytes: Array("VeilCanaryUA".utf8)), "user agent found in \(name) after checkpoint")
        }
    }

    @Test func forwardedForIsIgnoredFromUntrustedPeers() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            _ = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#, headers: [.init("X-Forwarded-For")!: "198.51.100.1"])
        }
        let db = try VeilDatabase.open(folder: dir.path)
        let salts = try await db.rotateSalts(nowMillis: TimeSource.system.nowMillis(), newSalt: { [] })
        let event = try #require(try await db.events(site: "localhost").first)
        #expect(event.visitor == VisitorHasher.hash(salt: salts.current, site: "localhost", clientIP: "127.0.0.1", userAgent: TestData.userAgent))
    }

    @Test func healthTrackerAndDemo() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")
            let js = try await client.execute(uri: "/v.js", method: .get)
            #expect(js.status == .ok)
            #expect(js.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(js.text.contains("sendBeacon") && js.text.contains("keepalive"))
            let demo = try await client.execute(uri: "/demo", method: .get)
            #expect(demo.text.contains(#"<script defer src="/v.js" data-site="localhost"></script>"#))
            #expect(demo.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(try await client.execute(uri: "/assets/veil.css", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/assets/demo.js", method: .get).status == .ok)
        }
    }

    @Test func trackerIsSmallAndSetsNoCookieOrStorage() throws {
        let js = String(decoding: VeilAssets.EmbeddedAssets.trackerJS, as: UTF8.self)
        // No cookies ever; storage only in persistent mode (checked in a real browser in BrowserTests).
        for forbidden in ["document.cookie", "sessionStorage", "indexedDB"] {
            #expect(!js.contains(forbidden))
        }
        #expect(js.contains("globalPrivacyControl") && js.contains("doNotTrack"))
        #expect(js.contains("pushState") && js.contains("replaceState") && js.contains("popstate"))
        let gz = try gzipSize(VeilAssets.EmbeddedAssets.trackerJS)
        #expect(gz <= 1200, "v.js is \(gz) bytes gzipped; the budget is 1,200")
    }

    @Test func assetsAreGzippedWhenAcceptedAndCachedByETag() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let gz = try await client.execute(uri: "/v.js", method: .get, headers: [.acceptEncoding: "gzip, deflate, br"])
            #expect(gz.headers[.contentEncoding] == "gzip")
            #expect(gz.headers[.vary]?.contains("Accept-Encoding") == true)
            #expect(gz.headers[.accessControlAllowOrigin] == "*")
            let bytes = Array(gz.body.readableBytesView)
            #expect(bytes.count < VeilAssets.EmbeddedAssets.trackerJS.count)
            #expect(try gunzip(bytes) == VeilAssets.EmbeddedAssets.trackerJS)
            let plain = try await client.execute(uri: "/v.js", method: .get)
            #expect(plain.headers[.contentEncoding] == nil)
            #expect(Array(plain.body.readableBytesView) == VeilAssets.EmbeddedAssets.trackerJS)
            let refused = try await client.execute(uri: "/v.js", method: .get, headers: [.acceptEncoding: "gzip;q=0, identity"])
            #expect(refused.headers[.contentEncoding] == nil)
            let etag = try #require(plain.headers[.eTag])
            let cached = try await client.execute(uri: "/v.js", method: .get, headers: [.ifNoneMatch: etag])
            #expect(cached.status == .notModified)
            #expect(cached.body.readableBytes == 0)
            let css = try await client.execute(uri: "/assets/veil.css", method: .get, headers: [.acceptEncoding: "gzip"])
            #expect(try gunzip(Array(css.body.readableBytesView)) == VeilAssets.EmbeddedAssets.stylesheet)
        }
    }

    @Test func customTrackerPath() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.trackerPath = "/js/stats.js"
        try await withLiveVeil(config) { client in
            let script = try await client.execute(uri: "/js/stats.js", method: .get)
            let demo = try await client.execute(uri: "/demo", method: .get)
            #expect(script.status == .ok)
            #expect(demo.text.contains(#"src="/js/stats.js""#))
        }
    }
}

/// Pipes `bytes` through a shell command and returns its output.
func shellFilter(_ command: String, _ bytes: [UInt8]) throws -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", command]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    input.fileHandleForWriting.write(Data(bytes))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return [UInt8](data)
}

/// Decompresses with the system gzip: an implementation independent of the server's.
func gunzip(_ bytes: [UInt8]) throws -> [UInt8] { try shellFilter("gzip -dc", bytes) }

/// gzip -9 size, measured with the system gzip so the figure matches what a server sends.
func gzipSize(_ bytes: [UInt8]) throws -> Int { try shellFilter("gzip -9 -c", bytes).count }

import VeilAssets
