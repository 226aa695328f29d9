import Foundation
import Testing
import Privacy
@testable import Storage

/// Veil's SQL must run on Debian's ClickHouse 18.16 (what CI runs) and on current
/// ClickHouse. Every statement Veil sends while answering the query-correctness questions,
/// shipping, agreeing salts, erasing a visitor and applying retention is recorded with
/// 18.16's answer, then replayed in order on chDB (the in-process engine of a current
/// ClickHouse, from PyPI): each must be accepted, and each read must answer the same rows.
@Suite("ClickHouse SQL on a current ClickHouse (chDB)", .serialized, .enabled(if: ClickHouseTestServer.available, "needs Debian's clickhouse-server (.ci/run installs it)"))
struct ClickHouseCompatibilityTests {
    typealias A = AnalyticsTests
    static let chdbVersion = "4.4.0"

    /// A virtual environment with chDB, made once under .build-chdb-venv; nil when PyPI
    /// cannot be reached.
    static let python: String? = {
        let venv = SharedFixtures.projectRoot.appendingPathComponent(".build-chdb-venv")
        let python = venv.appendingPathComponent("bin/python").path
        func works() -> Bool { ClickHouseTestServer.run([python, "-c", "import chdb; assert chdb.__version__ == '\(chdbVersion)'"]) == 0 }
        if FileManager.default.fileExists(atPath: python), works() { return python }
        guard ClickHouseTestServer.run(["python3", "-m", "venv", venv.path]) == 0,
              ClickHouseTestServer.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "chdb==\(chdbVersion)"]) == 0 else { return nil }
        return works() ? python : nil
    }()

    @Test(.enabled(if: python != nil || ProcessInfo.processInfo.environment["CI"] != nil, "chdb could not be installed from PyPI; CI requires it"))
    func everyStatementRunsAndAnswersAlikeOnCurrentClickHouse() async throws {
        let python = try #require(Self.python, "could not install chdb==\(Self.chdbVersion) from PyPI into .build-chdb-venv")
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let log = ClickHouseStatementLog()
        var client = try ClickHouseClient(settings: server.settings())
        client.log = log
        _ = try await ClickHouseSchema(settings: client.settings).migrate(client)

        // Reads whose answers are compared: the known dataset's questions.
        let (sqlite, ch, dir) = try await ClickHouseQueryTests.load(A.dataset.map { [$0] }, rules: A.rules, server: server, client: client)
        defer { withExtendedLifetime(dir) {} }
        try await ClickHouseQueryTests.compare(sqlite, ch, A.scope(from: A.day - 1), "two days")
        try await ClickHouseQueryTests.compare(sqlite, ch, A.scope([StatsFilter(.goal, "Pro signup"), StatsFilter(.channel, "Direct")]), "goal and channel")
        try await ClickHouseQueryTests.comparePaths(sqlite, ch, A.scope(from: A.day - 1), "two days")
        _ = try await ch.cohorts(site: A.site, fromDay: A.day - 10, toDay: A.day + 1, calendar: .utc)
        _ = try await ch.realtime(site: A.site, now: TestData.midnight + 15 * A.hour + 4 * A.minute, windowMillis: 300_000, limit: 10)
        _ = try await ch.rawTotals(site: A.site, from: TestData.midnight, to: TestData.midnight + 10 * A.hour, rules: A.rules)
        var berlin = A.rules
        berlin.calendar = try #require(DayCalendar(identifier: "Europe/Berlin"))
        _ = try await ch.series(StatsScope(site: A.site, fromDay: A.day - 1, toDay: A.day + 1, rules: berlin), granularity: .hour)
        // Survey rows: shipped like events, the Feedback tab's counts and comments, a band.
        var surveyRows: [UInt8] = []
        for (i, score) in [9, nil, 3, 7].enumerated() {
            let entry = FeedbackEntry(site: A.site, visitorCandidates: [Array(repeating: UInt8(2 + i % 2), count: 16)], receivedAt: TestData.midnight + Int64(i) * A.hour,
                                      kind: .nps, score: score, comment: score == 3 ? "slow\tand\nodd" : nil, path: "/pricing", device: "desktop", country: "")
            ClickHouseRow.line(node: "compat", seq: Int64(i + 1), row: ClickHouseRow.encode(entry), into: &surveyRows)
        }
        try await client.insert(table: "feedback", jsonLines: surveyRows)
        for filter in [FeedbackFilter(), FeedbackFilter(band: .detractor)] {
            _ = try await ch.feedbackReport(site: A.site, from: TestData.midnight - TestData.day, to: TestData.midnight + TestData.day, calendar: berlin.calendar,
                                            filter: filter, commentLimit: 200)
        }
        let compared = log.all.count

        // Statements that only need to be accepted (their answers depend on time and randomness).
        let salts = SharedSalts(client: client)
        _ = try await salts.agreedSalt(day: A.day + 1, proposal: Array(repeating: 7, count: 16))
        try await salts.forget(before: A.day)
        let subjects = ClickHouseSubjects(client: client)
        let visitor = Array(repeating: UInt8(2), count: 16)
        #expect(try await subjects.events(site: A.site, subject: .visitor(visitor)).count > 0)
        #expect(try await subjects.feedback(site: A.site, subject: .visitor(visitor)).count == 2)
        #expect((try await subjects.erase(site: A.site, subject: .visitor(visitor))["clickhouse_events"] ?? 0) > 0)
        _ = try await subjects.purgeExpired(site: A.site, cutoff: TestData.midnight)
        #expect(try await ch.totals(A.scope()).visitors == 2, "visitor 2 is erased")

        let entries = log.all
        #expect(entries.allSatisfy { $0.status == 200 }, "18.16 refused: \(entries.filter { $0.status != 200 }.map { String(decoding: $0.answer.prefix(300), as: UTF8.self) })")
        let plan: [String: Any] = [
            "database": client.settings.database,
            "statements": entries.map { e -> [String: Any] in
                let body = String(decoding: e.body, as: UTF8.self)
                return e.query.map { ["sql": $0, "data": body] } ?? ["sql": body, "data": NSNull()]
            },
        ]
        let work = TempDir()
        let input = work.path + "/plan.json", output = work.path + "/answers.json"
        try JSONSerialization.data(withJSONObject: plan).write(to: URL(fileURLWithPath: input))
        let status = ClickHouseTestServer.run([python, SharedFixtures.projectRoot.appendingPathComponent("scripts/chdb-replay.py").path, input, output])
        try #require(status == 0, "chdb-replay.py failed")
        let answers = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [[String: Any]])
        try #require(answers.count == entries.count)
        var reads = 0
        for (i, (entry, answer)) in zip(entries, answers).enumerated() {
            let sql = String(decoding: entry.body.prefix(400), as: UTF8.self)
            #expect(answer["ok"] as? Bool == true, "current ClickHouse refused statement \(i): \(answer["error"] ?? "") — \(entry.query ?? sql)")
            // Reads of the compared part: the same rows (in any order; ordered answers are
            // ordered by unique keys, so the same multiset means the same answer).
            guard i < compared, entry.query == nil, sql.hasPrefix("SELECT") || sql.hasPrefix("\n") || sql.contains("FORMAT TabSeparated"),
                  !sql.contains("version()"), !sql.contains("veil_migrations"), !sql.contains("system.") else { continue }
            let old = String(decoding: entry.answer, as: UTF8.self).split(separator: "\n").sorted()
            let new = (answer["answer"] as? String ?? "").split(separator: "\n").sorted()
            #expect(old == new, "statement \(i) answers differ: 18.16 \(old.prefix(5)) current \(new.prefix(5)) — \(sql)")
            reads += 1
        }
        // The comparison covered the questions' reads (46 when written: cells, property keys
        // and values, funnels, journeys, screens), not a filtered-away handful.
        #expect(reads >= 40, "only \(reads) reads were compared")
    }
}
