import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
@testable import Web
@testable import Storage

/// Admission control and rate limits: counted in requests, tokens and buckets, never timed.
@Suite("Overload: admission before the body, token buckets, bounded state")
struct OverloadTests {
    @Test func bucketAllowsTheBurstThenRefillsAtTheRate() {
        let time = ManualTime(1_000_000)
        let buckets = TokenBuckets(perSecond: 2, burst: 3, maxKeys: 100, clock: time.source)
        #expect((0..<3).map { _ in buckets.take("a") } == [nil, nil, nil])
        #expect(buckets.take("a") == 1, "the fourth request within the same millisecond waits a second")
        #expect(buckets.take("b") == nil, "another client has its own bucket")
        time.advance(500)
        #expect(buckets.take("a") == nil, "half a second at 2/s refills one token")
        #expect(buckets.take("a") != nil)
        // A cost larger than the burst is charged as the whole burst, never refused forever.
        time.advance(10_000)
        #expect(buckets.take("a", cost: 50) == nil)
    }

    @Test func bucketsStayBoundedWhateverKeysArrive() {
        let time = ManualTime(0)
        let buckets = TokenBuckets(perSecond: 1, burst: 5, maxKeys: 1000, clock: time.source)
        for i in 0..<50_000 { _ = buckets.take("client-\(i)") }
        #expect(buckets.count <= 1000)
        #expect(TokenBuckets(perSecond: 0, burst: 1, maxKeys: 1, clock: time.source).take("x", cost: 1_000_000) == nil, "0 means no limit")
    }

    @Test func gateCountsRequestsBytesAndTheQueue() {
        var settings = AdmissionSettings()
        settings.maxInFlightRequests = 2
        settings.maxInFlightBytes = 1000
        settings.queueHighWaterPercent = 50
        let depth = ManualTime(0)
        let gate = AdmissionGate(settings: settings, queueCapacity: 100) { Int(depth.millis) }
        guard case .success(let a) = gate.admit(bytes: 600) else { Issue.record("first request refused"); return }
        #expect(gate.admit(bytes: 600) == .failure(.tooManyBytes))
        guard case .success(let b) = gate.admit(bytes: 100) else { Issue.record("small request refused"); return }
        #expect(gate.admit(bytes: 1) == .failure(.tooManyRequests))
        gate.release(a)
        gate.release(b)
        #expect(gate.inFlight.requests == 0 && gate.inFlight.bytes == 0)
        #expect(gate.inFlight.peakRequests == 2)
        depth.set(50)
        #expect(gate.admit(bytes: 1) == .failure(.queueBacklog), "a half-full queue drains before more work is admitted")
        // One request larger than the byte budget still gets in when nothing else is in flight.
        depth.set(0)
        guard case .success(let big) = gate.admit(bytes: 5000) else { Issue.record("lone large request refused"); return }
        gate.release(big)
    }

    @Test func clientRateLimitAnswers429WithRetryAfterAndJSON() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.rateLimits.clientPerSecond = 1
        config.rateLimits.clientBurst = 3
        // A clock that does not move: a slow machine must not refill the bucket mid-test.
        try await withLiveVeil(config, clock: ManualTime(TestData.midnight).source) { client in
            let event = #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#
            for _ in 0..<3 { #expect(try await client.post("/api/event", event).status == .accepted) }
            let limited = try await client.post("/api/event", event)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "1")
            #expect(limited.json["error"] as? String == "rate_limited")
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: bearer)
            #expect(metrics.text.contains("veil_ingest_rate_limited_total{scope=\"client\"} 1"))
        }
    }

    @Test func siteRateLimitCountsEvents() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.rateLimits.sitePerSecond = 1
        config.rateLimits.siteBurst = 4
        try await withLiveVeil(config, clock: ManualTime(TestData.midnight).source) { client in
            let three = #"{"site":"localhost","events":[{"name":"pageview","url":"http://localhost/a"},{"name":"pageview","url":"http://localhost/b"},{"name":"pageview","url":"http://localhost/c"}]}"#
            #expect(try await client.post("/api/batch", three).status == .accepted)
            let second = try await client.post("/api/batch", three)
            #expect(second.status == .tooManyRequests)
            #expect(second.json["error"] as? String == "rate_limited")
            // Survey answers draw on the same budget: the last unit, then a 429.
            let answer = #"{"site":"localhost","kind":"nps","score":9,"page":"http://localhost/"}"#
            #expect(try await client.post("/api/feedback", answer).status == .accepted)
            #expect(try await client.post("/api/feedback", answer).status == .tooManyRequests)
            // Another site has its own budget.
            #expect(try await client.post("/api/event", #"{"site":"example.com","name":"pageview","url":"http://example.com/"}"#).status == .accepted)
        }
    }

    @Test func admittedRequestsReleaseTheirSlot() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.admission.maxInFlightBytes = 65_536
        config.admission.maxInFlightRequests = 1
        try await withLiveVeil(config) { client in
            // With one slot, every sequential request must still get in: a slot that leaked
            // on any path (accepted, rejected, dropped) would turn the next one away.
            #expect(try await client.post("/api/event", "{").status == .badRequest)
            #expect(try await client.post("/api/event", #"{"site":"nope.example","name":"pageview","url":"http://nope.example/"}"#).status == .accepted)
            let ok = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#)
            #expect(ok.status == .accepted)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: bearer)
            #expect(metrics.text.contains("veil_ingest_in_flight_requests 0.0\n"), "every admitted request released its slot")
            #expect(metrics.text.contains("veil_http_connections_open"))
        }
    }

    @Test func mediaTypesMatchExactlyGzipIsReadOtherEncodingsAre415() async throws {
        let dir = TempDir()
        let config = TestData.config(dataDir: dir.path)
        try await withLiveVeil(config) { client in
            let event = #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#
            for type in ["application/jsonx", "text/plainly", "application/json-patch+json", "text/html"] {
                let r = try await client.post("/api/event", event, headers: [.contentType: type])
                #expect(r.status == .unsupportedMediaType, "\(type)")
                #expect(r.json["error"] as? String == "unsupported_media_type")
            }
            for type in ["application/json", "Application/JSON; charset=utf-8", "text/plain;charset=UTF-8"] {
                #expect(try await client.post("/api/event", event, headers: [.contentType: type]).status == .accepted, "\(type)")
            }
            for encoding in ["br", "zstd", "compress", "gzip, br"] {
                let r = try await client.post("/api/event", event, headers: [.contentEncoding: encoding])
                #expect(r.status == .unsupportedMediaType && r.json["error"] as? String == "unsupported_encoding", "\(encoding)")
            }
            // deflate (zlib) is read too, as PostHog's v1 client sends it.
            let deflated = try await client.post("/api/event", bytes: Zlib.compress(Array(event.utf8))!, headers: [.contentEncoding: "deflate", .contentType: "application/json"])
            #expect(deflated.status == .accepted)
            // gzip is read (issue 13): inflated within the same body limit, a bomb stopped at it.
            let gz = try await client.post("/api/event", bytes: Zlib.compress(Array(event.utf8), wrapper: .gzip)!,
                                           headers: [.contentEncoding: "gzip", .contentType: "application/json"])
            #expect(gz.status == .accepted)
            let bomb = try await client.post("/api/event", bytes: Zlib.compress([UInt8](repeating: 0x20, count: 50_000_000), wrapper: .gzip)!,
                                             headers: [.contentEncoding: "gzip"])
            #expect(bomb.status == .contentTooLarge && bomb.json["error"] as? String == "body_too_large")
            let damaged = try await client.post("/api/event", bytes: Array(Zlib.compress(Array(event.utf8), wrapper: .gzip)!.dropLast(6)),
                                                headers: [.contentEncoding: "gzip"])
            #expect(damaged.status == .badRequest && damaged.json["error"] as? String == "invalid_encoding")
            let notGzip = try await client.post("/api/event", event, headers: [.contentEncoding: "x-gzip"])
            #expect(notGzip.status == .badRequest && notGzip.json["error"] as? String == "invalid_encoding")
        }
        // Three plain events, the deflate and the gzip one were stored; nothing of the refused ones.
        #expect(try await VeilDatabase.open(folder: dir.path).eventCount(site: "localhost") == 5)
    }

    @Test func duplicateKeysAreRejectedOnEveryJSONEndpoint() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.sites[0].replay.enabled = true
        config.sites[0].replay.sampleRate = 1
        try await withLiveVeil(config) { client in
            let event = #"{"site":"localhost","name":"pageview","url":"http://localhost/","url":"http://localhost/jane@example.com"}"#
            let r = try await client.post("/api/event", event)
            #expect(r.status == .badRequest)
            #expect(r.json["error"] as? String == "duplicate_key")
            let nested = #"{"site":"localhost","events":[{"name":"x","url":"http://localhost/","props":{"a":"1","a":"2"}}]}"#
            #expect(try await client.post("/api/batch", nested).json["error"] as? String == "duplicate_key")
            // The replay sanitiser would see the first value and the player the last.
            let replay = #"{"site":"localhost","session":"s1","seq":0,"events":[{"type":3,"timestamp":1,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"adds":[{"parentId":1,"nextId":null,"node":{"type":2,"tagName":"img","attributes":{"src":"x.png","onerror":"alert(1)","onerror":"alert(2)"},"childNodes":[],"id":5}}]}}]}"#
            let rr = try await client.post("/api/replay", replay)
            #expect(rr.status == .badRequest)
            #expect(rr.json["error"] as? String == "duplicate_key")
        }
        #expect(!dir.allBytes().contains { $0.1.contains(bytes: Array("alert(".utf8)) }, "nothing of a rejected body reaches the data folder")
    }
}
