import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
@testable import App
@testable import Privacy
@testable import Storage
@testable import Web

/// Survey answers on ClickHouse: sent to two nodes, shipped through their outboxes, and
/// the Feedback API of either node answers what one SQLite node answers for the same
/// requests; a visitor's answers are exported and erased there too.
@Suite("Survey answers on ClickHouse", .enabled(if: ClickHouseTestServer.available, "needs Debian's clickhouse-server (.ci/run installs it)"))
struct ClickHouseFeedbackTests {
    /// One visitor per agent; each first views a page (so SQLite attaches the answers to a
    /// visit), then answers or is only shown a survey. (node, visitor, kind, score, comment, page)
    static let answers: [(Int, Int, String, Int?, String?, String)] = [
        (0, 1, "nps", 9, "Lovely, write to canary.ch@example.org", "/pricing"),
        (1, 2, "nps", 10, nil, "/pricing"),
        (0, 3, "nps", 3, "Too slow <script>x</script>", "/"),
        (1, 4, "nps", nil, nil, "/"),
        (0, 5, "nps", 7, nil, "/pricing"),
        (1, 6, "sentiment", 4, nil, "/docs/a"),
        (0, 7, "sentiment", 2, "Confusing", "/docs/b"),
        (1, 8, "sentiment", nil, nil, "/docs/a"),
        (0, 9, "nps", 0, "No", "/pricing"),
        (1, 10, "sentiment", 5, nil, "/docs/a"),
    ]

    static func agent(_ visitor: Int) -> String {
        visitor % 3 == 0
            ? "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1 V\(visitor)"
            : "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.\(visitor) Safari/537.36"
    }

    static func config(_ dir: String) throws -> VeilConfig {
        var config = feedbackConfig(dataDir: dir)
        config.secret = ClickHouseNodesTests.secret
        // 18:15 UTC is midnight in Kathmandu (UTC+5:45): the answers fall on two of its days.
        config.sites[0].analytics.calendar = try #require(DayCalendar(identifier: "Asia/Kathmandu"), "tzdata is missing")
        return config
    }

    /// The report a comparison looks at: the API's JSON with keys sorted, without the
    /// comments' session and replay (recordings stay per node).
    static func report(_ client: any TestClientProtocol, _ query: String) async throws -> String {
        let r = try await client.execute(uri: "/api/stats/feedback?site=localhost&range=7d" + query, method: .get, headers: bearer)
        guard r.status == .ok, var json = try JSONSerialization.jsonObject(with: Data(r.text.utf8)) as? [String: Any] else { return "status \(r.status): \(r.text)" }
        json["comments"] = (json["comments"] as? [[String: Any]] ?? []).map { c in c.filter { $0.key != "session_id" && $0.key != "replay" } }
        return String(decoding: try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]), as: UTF8.self)
    }

    static let queries = ["", "&band=detractor", "&band=promoter", "&page=/pricing", "&device=mobile"]

    /// Sends every answer (with its visitor's pageview first) at 18:05 UTC + i * 2 minutes.
    static func send(_ nodes: [any TestClientProtocol], time: ManualTime, start: Int64) async throws {
        for (i, a) in answers.enumerated() {
            time.set(start + Int64(i) * 120_000)
            let node = nodes[a.0 % nodes.count]
            let headers: HTTPFields = [.userAgent: agent(a.1)]
            #expect(try await node.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost\#(a.5)"}"#, headers: headers).status == .accepted)
            // The widget reports the showing, then the answer if one is given.
            var bodies = [FeedbackTests.answer(a.2, nil, page: "http://localhost" + a.5)]
            if a.3 != nil { bodies.append(FeedbackTests.answer(a.2, a.3, comment: a.4, page: "http://localhost" + a.5)) }
            for body in bodies {
                let r = try await node.post("/api/feedback", body, headers: headers)
                #expect(r.status == .accepted, "\(r.text)")
            }
        }
    }

    @Test func answersFromTwoNodesEqualOneSQLiteNodeAndAreErased() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let database = "veil_feedback_\(UInt32.random(in: 0...UInt32.max))"
        let dirs = (TempDir(), TempDir(), TempDir())
        let day = DayCalendar.day(year: 2026, month: 12, day: 4)
        let start = DayCalendar.utc.start(ofDay: day) + 18 * DayCalendar.millisPerHour + 5 * 60_000
        let time = ManualTime(start)
        let expected = try await withLiveVeilResult(try Self.config(dirs.2.path), clock: time.source) { client in
            try await Self.send([client], time: time, start: start)
            var out: [String] = []
            for q in Self.queries { out.append(try await Self.report(client, q)) }
            return out
        }
        // Sanity of the yardstick: two Kathmandu days, 6 NPS showings and 5 answers, 4 comments.
        #expect(expected[0].contains("\"shown\":6") && expected[0].contains("\"answers\":5") && expected[0].contains("\"sentiment\":[0,1,0,1,1]"), "\(expected[0])")
        #expect(expected[0].contains("\"date\":\"2026-12-04\"") && expected[0].contains("\"date\":\"2026-12-05\""), "\(expected[0])")

        var a = ClickHouseNodesTests.nodeConfig(dirs.0.path, server: server, database: database, node: "node-a")
        var b = ClickHouseNodesTests.nodeConfig(dirs.1.path, server: server, database: database, node: "node-b")
        a.sites = try Self.config(dirs.0.path).sites
        b.sites = a.sites
        let (configA, configB) = (a, b)
        try await withLiveVeil(configA, clock: time.source) { nodeA in
            try await withLiveVeil(configB, clock: time.source) { nodeB in
                try await Self.send([nodeA, nodeB], time: time, start: start)
                // Both outboxes drain into ClickHouse (bounded wait).
                var got = ""
                for _ in 0..<600 {
                    got = try await Self.report(nodeB, "")
                    if got == expected[0] { break }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(got == expected[0], "two ClickHouse nodes:\n\(got)\none SQLite node:\n\(expected[0])")
                for (q, want) in zip(Self.queries, expected).dropFirst() {
                    let fromA = try await Self.report(nodeA, q)
                    #expect(fromA == want, "\(q): ClickHouse\n\(fromA)\nSQLite\n\(want)")
                }
                // No e-mail reached either node's folder (the outbox row was scrubbed first).
                for dir in [dirs.0, dirs.1] {
                    for (name, bytes) in dir.allBytes() { #expect(!bytes.contains(bytes: Array("canary.ch@example.org".utf8)), "the e-mail is in \(name)") }
                }

                // Visitor 3 (a detractor with a comment): their survey rows are exported from
                // ClickHouse, then erased there; the report loses exactly them.
                let client = try ClickHouseClient(settings: configA.clickhouse)
                let hashes = try await client.rows("SELECT DISTINCT visitor FROM feedback WHERE comment LIKE 'Too slow%'").compactMap(\.first)
                #expect(hashes.count == 1, "\(hashes)")
                let hash = try #require(hashes.first.flatMap { Self.bytes(hex: $0) })
                let subjects = ClickHouseSubjects(client: client)
                let exported = try await subjects.feedback(site: "localhost", subject: .visitor(hash))
                // The showing and the answer.
                #expect(exported.count == 2 && exported.contains { $0.contains("Too slow") }, "\(exported)")
                let erased = try await subjects.erase(site: "localhost", subject: .visitor(hash))
                #expect(erased["clickhouse_feedback"] == 2 && (erased["clickhouse_events"] ?? 0) >= 2, "\(erased)")
                #expect(try await subjects.feedback(site: "localhost", subject: .visitor(hash)).isEmpty)
                let after = try await nodeB.execute(uri: "/api/stats/feedback?site=localhost&range=7d", method: .get, headers: bearer).json
                #expect(after["detractors"] as? Int == 1 && after["answers"] as? Int == 4, "\(after)")
                #expect(!((after["comments"] as? [[String: Any]]) ?? []).contains { ($0["comment"] as? String)?.hasPrefix("Too slow") == true })
            }
        }
    }

    /// While ClickHouse is down answers wait in the outbox, within its bound: past
    /// `outbox_max_events` an answer is refused (503 outbox_full) before any part of it is kept.
    @Test func answersWaitInTheBoundedOutboxWhileClickHouseIsDown() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let dir = TempDir()
        var config = ClickHouseNodesTests.nodeConfig(dir.path, server: server, database: "veil_down_\(UInt32.random(in: 0...UInt32.max))", node: "down")
        config.sites = try Self.config(dir.path).sites
        config.clickhouse.outboxMaxEvents = 4
        try await withLiveVeil(config) { client in
            let headers: HTTPFields = [.userAgent: Self.agent(1)]
            // The day's salt is agreed and the first event shipped while ClickHouse is up.
            #expect(try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#, headers: headers).status == .accepted)
            for _ in 0..<600 {
                if try await client.execute(uri: "/metrics", method: .get, headers: bearer).text.contains("veil_outbox_events 0") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            server.stop()
            let page = "http://localhost/"
            #expect(try await client.post("/api/feedback", FeedbackTests.answer("nps", nil, page: page), headers: headers).status == .accepted)
            // An answer is an event and a survey row: depth 3, then a showing makes 4.
            #expect(try await client.post("/api/feedback", FeedbackTests.answer("nps", 8, page: page), headers: headers).status == .accepted)
            #expect(try await client.post("/api/feedback", FeedbackTests.answer("nps", nil, page: page), headers: headers).status == .accepted)
            let refused = try await client.post("/api/feedback", FeedbackTests.answer("nps", 6, page: page), headers: headers)
            #expect(refused.status == .serviceUnavailable && refused.json["error"] as? String == "outbox_full" && refused.headers[.retryAfter] == "10", "\(refused.text)")
        }
        let db = try VeilDatabase.open(folder: dir.path)
        let rows = try await db.outboxBatch(limit: 100)
        #expect(rows.map(\.destination) == [.feedback, .events, .feedback, .feedback], "\(rows.map(\.destination))")
    }

    static func bytes(hex: String) -> [UInt8]? {
        var out: [UInt8] = []
        var chars = Array(hex.utf8)[...]
        while chars.count >= 2 {
            guard let b = UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
            chars = chars.dropFirst(2)
        }
        return chars.isEmpty ? out : nil
    }
}
