import Foundation
import Testing
import Privacy
@testable import Storage

@Suite("veil migrate --to clickhouse", .enabled(if: ClickHouseTestServer.available, "needs Debian's clickhouse-server (.ci/run installs it)"))
struct ClickHouseMigrationTests {
    typealias A = AnalyticsTests

    /// A SQLite folder copied into ClickHouse: interrupted after part of a batch landed,
    /// resumed, nothing doubled, counts agree per site and day, and the dashboards'
    /// answers from ClickHouse equal SQLite's.
    @Test func copyResumeCheckAndAnswerAlike() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        for e in A.dataset { _ = try await db.insert([e], sessionTimeoutMillis: 30 * A.minute, rules: [A.site: A.rules]) }
        var rng = SplitMix(5)
        var clock = TestData.midnight - 3 * TestData.day
        for _ in 0..<300 {
            clock += Int64.random(in: 0...(20 * A.minute), using: &rng)
            _ = try await db.insert([A.ev(clock, UInt8.random(in: 20...40, using: &rng), ["/", "/docs", "/pricing"].randomElement(using: &rng)!)],
                                    sessionTimeoutMillis: 30 * A.minute, rules: [A.site: A.rules])
        }
        // Survey rows on four days (one only shown, one with a comment) go along.
        for (i, score) in [9, nil, 3, 10].enumerated() {
            try await db.insertFeedback(FeedbackEntry(site: A.site, visitorCandidates: [[UInt8](repeating: UInt8(50 + i), count: 16)],
                                                      receivedAt: TestData.midnight - Int64(i) * TestData.day + 3_600_000, kind: .nps, score: score,
                                                      comment: score == 3 ? "slow" : nil, path: "/pricing", device: "desktop", country: ""),
                                        sessionTimeoutMillis: 30 * A.minute)
        }
        let total = try await db.eventCount(site: A.site)
        let client = try await server.client()
        let migration = ClickHouseMigration(database: db, client: client, node: "migrate-test", batch: 50)
        // A run that stopped after 60 events were stored, 10 of them from a batch whose
        // answer never came back.
        let first = try await VeilDatabase.wrap { try await db.pool.read { d in try ClickHouseMigration.rows(d, after: 0, limit: 60) } }
        var body: [UInt8] = []
        for row in first { ClickHouseRow.line(node: "migrate-test", seq: row.id, row: row.json, into: &body) }
        try await client.insert(table: "events", jsonLines: body)
        var seen: [Int] = []
        let done = try await migration.run { seen.append($0.copied) }
        #expect(done.copied == total && done.total == total && seen.last == total && seen.count >= (total - 60) / 50)
        #expect(try await client.rows("SELECT count(), uniqExact(seq) FROM events").first == [String(total), String(total)])
        let check = try await migration.check()
        #expect(check.mismatches.isEmpty && check.days >= 4, "\(check.mismatches)")
        #expect(try await client.rows("SELECT count() FROM feedback").first?.first == "4")
        // Running again copies nothing.
        #expect(try await migration.run { _ in }.copied == total)
        #expect(try await client.rows("SELECT count() FROM events").first?.first == String(total))
        #expect(try await client.rows("SELECT count() FROM feedback").first?.first == "4")
        let ch = ClickHouseStats(client: client, sessionTimeoutMillis: 30 * A.minute)
        // The Feedback tab from ClickHouse equals SQLite's (sessions and recordings stay local).
        let from = TestData.midnight - 4 * TestData.day, to = TestData.midnight + TestData.day
        var local = try await db.feedbackReport(site: A.site, from: from, to: to, calendar: .utc)
        for i in local.comments.indices { local.comments[i].sessionID = nil; local.comments[i].recordingID = nil }
        let shared = try await ch.feedbackReport(site: A.site, from: from, to: to, calendar: .utc, filter: FeedbackFilter(), commentLimit: 200)
        #expect(shared == local && shared.npsAnswers == 3 && shared.npsShown == 1 && shared.comments.count == 1, "\(shared)\n\(local)")
        for day in (A.day - 3)...A.day {
            try await ClickHouseQueryTests.compare(db, ch, A.scope(from: day, to: day + 1), "migrated day \(day)")
        }
        // Retention applies to both stores: events before D-1 go, on ClickHouse as a mutation.
        let time = ManualTime(TestData.midnight + TestData.day)
        var retention = RetentionService(database: db, policies: [RetentionService.Policy(site: A.site, eventsDays: 2, rules: A.rules)],
                                         clock: time.source, logger: TestData.logger())
        retention.clickhouse = client
        let cutoff = TestData.midnight - TestData.day
        let expired = Int(try await client.rows("SELECT count() FROM events WHERE ts < \(cutoff)").first?.first ?? "") ?? -1
        #expect(expired > 0)
        let purged = await retention.purgeOnce()
        #expect(purged[A.site, default: 0] >= expired)
        for _ in 0..<600 where try await client.rows("SELECT count() FROM events WHERE ts < \(cutoff)").first?.first != "0" {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await client.rows("SELECT count() FROM events WHERE ts < \(cutoff)").first?.first == "0")
        // Survey rows before the cutoff go too (the two of D-2 and D-3).
        for _ in 0..<600 where try await client.rows("SELECT count() FROM feedback WHERE ts < \(cutoff)").first?.first != "0" {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await client.rows("SELECT count() FROM feedback").first?.first == "2")
        #expect(try await client.rows("SELECT count() FROM events").first?.first == String(try await db.eventCount(site: A.site)))
        try await ClickHouseQueryTests.compare(db, ch, A.scope(), "day D after retention")
    }
}
