import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
import Storage
@testable import Web

/// Opened once by the test; whoever waits on it resumes then.
final class Latch: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
    func wait() async { for await _ in stream {} }
    func open() { continuation.finish() }
}

/// Polls `condition` (a bounded number of times, a state rather than a duration).
func eventually(_ condition: () -> Bool) async throws -> Bool {
    for _ in 0..<400 {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(25))
    }
    return condition()
}

@Suite("Expensive queries: per-site, per-link and process limits, cancelled on disconnect")
struct QueryLimitTests {
    static func settings(running: Int, perSite: Int, perLink: Int, waiting: Int) -> QuerySettings {
        var s = QuerySettings()
        s.maxRunning = running
        s.perSite = perSite
        s.perShareLink = perLink
        s.maxWaiting = waiting
        return s
    }

    @Test func queriesWaitInOrderAndAreRefusedBeyondEachShare() async throws {
        let limiter = QueryLimiter(settings: Self.settings(running: 1, perSite: 2, perLink: 1, waiting: 2))
        let latch = Latch()
        let first = Task { try await limiter.run([.site("a")]) { await latch.wait(); return "a" } }
        #expect(try await eventually { limiter.stats.running == 1 })
        let second = Task { try await limiter.run([.site("b")]) { "b" } }
        #expect(try await eventually { limiter.stats.waiting == 1 })
        let viaLink = Task { try await limiter.run([.site("a"), .shareLink("L")]) { "link" } }
        #expect(try await eventually { limiter.stats.waiting == 2 })

        // Site a has one running and one waiting (its share of 2); link L one waiting (its
        // share of 1); the line holds 2.
        for (keys, refusal) in [([QueryLimiter.Key.site("a")], QueryRefusal.site), ([.site("c"), .shareLink("L")], .shareLink), ([.site("c")], .busy)] {
            await #expect(throws: refusal) { try await limiter.run(keys) { "never" } }
        }
        // A waiting query that is cancelled leaves the line and gives its shares back.
        second.cancel()
        await #expect(throws: CancellationError.self) { try await second.value }
        #expect(limiter.stats.waiting == 1 && limiter.stats.cancelled == 1)
        latch.open()
        #expect(try await first.value == "a")
        #expect(try await viaLink.value == "link")
        #expect(try await eventually { limiter.stats.running == 0 && limiter.stats.waiting == 0 })
        #expect(try await limiter.run([.site("a"), .shareLink("L")]) { "again" } == "again", "every share was given back")
        let stats = limiter.stats
        #expect(stats.refused == [.site: 1, .shareLink: 1, .busy: 1] && stats.peakRunning == 1, "\(stats)")
    }

    /// A running query is cancelled when its connection closes.
    @Test func aRunningQueryIsCancelledWhenItsClientGoesAway() async throws {
        let limiter = QueryLimiter(settings: Self.settings(running: 1, perSite: 1, perLink: 1, waiting: 0))
        let gone = Mutex(false)
        let query = Task {
            try await limiter.run([.site("a")], clientGone: { gone.withLock { $0 } }, pollInterval: .milliseconds(10)) { try await Task.sleep(for: .seconds(600)); return 1 }
        }
        #expect(try await eventually { limiter.stats.running == 1 })
        gone.withLock { $0 = true }
        await #expect(throws: CancellationError.self) { try await query.value }
        #expect(limiter.stats.running == 0 && limiter.stats.cancelled == 1)
        #expect(try await limiter.run([.site("a")]) { 2 } == 2)
    }

    /// A cancelled report's database read ends as `cancelled` (answered as a cancelled
    /// request, not a 500 "database error").
    @Test func aCancelledReadIsReportedAsCancelled() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let task = Task { () -> String in
            withUnsafeCurrentTask { $0?.cancel() }
            do { _ = try await db.eventCount(site: "example.com"); return "answered" } catch { return "\(error)" }
        }
        #expect(await task.value == "cancelled")
    }

    /// Over HTTP: a public link's second report is 429, a full line 503, both with
    /// Retry-After; a waiting report whose client disconnects leaves the line.
    @Test func overHTTPLinksAndSitesGetTheirShareAndDisconnectsCancel() async throws {
        let dir = TempDir()
        let token = "query-limit-share-token"
        try await VeilDatabase.open(folder: dir.path).createShareLink(site: "localhost", tokenHash: Array(SHA256.hash(data: Array(token.utf8))), nowMillis: 0)
        let limiter = QueryLimiter(settings: Self.settings(running: 1, perSite: 4, perLink: 1, waiting: 1))
        var environment = TestData.environment()
        environment.queries = limiter
        let app = try await buildApplication(config: TestData.config(dataDir: dir.path), environment: environment)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let bearer: HTTPFields = [.authorization: "Bearer \(TestData.apiToken)"]
            // Another report holds the only slot.
            let latch = Latch()
            let holder = Task { try await limiter.run([.site("elsewhere")]) { await latch.wait() } }
            #expect(try await eventually { limiter.stats.running == 1 })

            let waiting = try RawConnection(port: port)
            waiting.send("GET /share/\(token) HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: \(TestData.userAgent)\r\n\r\n")
            #expect(try await eventually { limiter.stats.waiting == 1 })

            let sameLink = try await client.execute(uri: "/share/\(token)", method: .get)
            #expect(sameLink.status == .tooManyRequests && sameLink.headers[.retryAfter] == "2" && sameLink.text.contains("<html"), "\(sameLink.status)")
            let api = try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: bearer)
            #expect(api.status == .serviceUnavailable && api.headers[.retryAfter] == "2" && api.json["error"] as? String == "busy", "\(api.text)")

            waiting.finish()
            #expect(try await eventually { limiter.stats.waiting == 0 && limiter.stats.cancelled == 1 }, "\(limiter.stats)")
            latch.open()
            try await holder.value
            #expect(try await eventually { limiter.stats.running == 0 })
            #expect(try await client.execute(uri: "/share/\(token)", method: .get).status == .ok)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: bearer)
            #expect(metrics.text.contains("veil_queries_refused_total{reason=\"share_link\"} 1") && metrics.text.contains("veil_queries_refused_total{reason=\"busy\"} 1")
                    && metrics.text.contains("veil_queries_cancelled_total 1"), "\(metrics.text)")
        }
    }
}
