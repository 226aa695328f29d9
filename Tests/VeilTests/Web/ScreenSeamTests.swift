import Foundation
import Hummingbird
import HummingbirdTesting
import Privacy
import Storage
import Synchronization
import Testing
@testable import Web

/// Every question a page asks, counted on the way to the real database.
final class CountingStats: StatsStore, Sendable {
    let base: VeilDatabase
    let calls = Mutex<[String]>([])

    init(_ base: VeilDatabase) { self.base = base }

    func take() -> [String] { calls.withLock { c in defer { c = [] }; return c } }
    private func note(_ name: String) { calls.withLock { $0.append(name) } }

    func overviewScreen(_ q: OverviewQuery) async throws(StorageError) -> OverviewScreen { note("overviewScreen"); return try await base.overviewScreen(q) }
    func breakdownScreen(_ s: StatsScope, _ d: StatsDimension, limit: Int, offset: Int, withTotals: Bool) async throws(StorageError) -> BreakdownScreen {
        note("breakdownScreen"); return try await base.breakdownScreen(s, d, limit: limit, offset: offset, withTotals: withTotals)
    }
    func funnelsScreen(_ s: StatsScope, funnels: [FunnelQuery]) async throws(StorageError) -> [[FunnelStep]] { note("funnelsScreen"); return try await base.funnelsScreen(s, funnels: funnels) }
    func journeysScreen(_ s: StatsScope, at: String?, pages: Int, limit: Int) async throws(StorageError) -> JourneysScreen {
        note("journeysScreen"); return try await base.journeysScreen(s, at: at, pages: pages, limit: limit)
    }
    func replayListScreen(site: String, filter: RecordingFilter, rules: AnalyticsRules) async throws(StorageError) -> ReplayListScreen {
        note("replayListScreen"); return try await base.replayListScreen(site: site, filter: filter, rules: rules)
    }
    func replayPlayerScreen(site: String, id: Int64, rules: AnalyticsRules) async throws(StorageError) -> ReplayPlayerScreen? {
        note("replayPlayerScreen"); return try await base.replayPlayerScreen(site: site, id: id, rules: rules)
    }
    func totals(_ s: StatsScope) async throws(StorageError) -> Totals { note("totals"); return try await base.totals(s) }
    func breakdown(_ s: StatsScope, _ d: StatsDimension, limit: Int, offset: Int) async throws(StorageError) -> Breakdown {
        note("breakdown"); return try await base.breakdown(s, d, limit: limit, offset: offset)
    }
    func series(_ s: StatsScope, granularity: Granularity) async throws(StorageError) -> [SeriesPoint] { note("series"); return try await base.series(s, granularity: granularity) }
    func realtime(site: String, now: Int64, windowMillis: Int64, limit: Int) async throws(StorageError) -> Realtime {
        note("realtime"); return try await base.realtime(site: site, now: now, windowMillis: windowMillis, limit: limit)
    }
    func propertyKeys(_ s: StatsScope, event: String) async throws(StorageError) -> [String] { note("propertyKeys"); return try await base.propertyKeys(s, event: event) }
    func propertyBreakdown(_ s: StatsScope, event: String, key: String, limit: Int, offset: Int) async throws(StorageError) -> Breakdown {
        note("propertyBreakdown"); return try await base.propertyBreakdown(s, event: event, key: key, limit: limit, offset: offset)
    }
    func funnel(_ s: StatsScope, steps: [Goal], windowMinutes: Int?) async throws(StorageError) -> [FunnelStep] {
        note("funnel"); return try await base.funnel(s, steps: steps, windowMinutes: windowMinutes)
    }
    func journey(_ s: StatsScope, page: String, limit: Int) async throws(StorageError) -> Journey { note("journey"); return try await base.journey(s, page: page, limit: limit) }
    func cohorts(site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) async throws(StorageError) -> [Cohort] {
        note("cohorts"); return try await base.cohorts(site: site, fromDay: fromDay, toDay: toDay, calendar: calendar)
    }
    func feedbackReport(site: String, from: Int64, to: Int64, calendar: DayCalendar, filter: FeedbackFilter, commentLimit: Int) async throws(StorageError) -> FeedbackReport {
        note("feedbackReport"); return try await base.feedbackReport(site: site, from: from, to: to, calendar: calendar, filter: filter, commentLimit: commentLimit)
    }
}

@Suite("Screens: each dashboard page asks the stats seam one question")
struct ScreenSeamTests {
    @Test func everyPageLoadsWithOneStorageCall() async throws {
        let dir = TempDir()
        let config = replayConfig(dataDir: dir.path)
        let db = try VeilDatabase.open(folder: dir.path)
        try await db.upsertUser(username: config.adminUsername, passwordHash: config.adminPasswordHash, nowMillis: 0)
        // A visit with a custom event and a recording, so the pages have something to show.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try await db.insert([TestData.clean(site: "localhost", at: now - 60_000, path: "/"), TestData.clean(site: "localhost", at: now - 30_000, name: "signup", path: "/pricing")],
                                sessionTimeoutMillis: 1_800_000)
        let counting = CountingStats(db)
        var environment = TestData.environment()
        environment.statsStore = { _ in counting }
        let app = try await buildApplication(config: config, environment: environment)
        let pages: [(String, [String])] = [
            ("/sites/localhost", ["overviewScreen"]),
            ("/sites/localhost?event=signup", ["overviewScreen"]),
            ("/sites/localhost?page=%2Fpricing&range=7d", ["overviewScreen"]),
            ("/sites/localhost/breakdown/goal", ["breakdownScreen"]),
            ("/sites/localhost/funnels?steps=page:/%7Cpage:/pricing", ["funnelsScreen"]),
            ("/sites/localhost/journeys", ["journeysScreen"]),
            ("/sites/localhost/retention", ["cohorts"]),
            ("/sites/localhost/live", ["realtime"]),
            ("/sites/localhost/replays", ["replayListScreen"]),
            ("/sites/localhost/replays/999", ["replayPlayerScreen"]),
        ]
        try await app.test(.router) { client in
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            _ = counting.take()
            for (path, expected) in pages {
                let r = try await client.execute(uri: path, method: .get, headers: jar.header)
                #expect(r.status == .ok || r.status == .notFound, "\(path): \(r.status)")
                #expect(counting.take() == expected, "\(path)")
            }
        }
    }
}
