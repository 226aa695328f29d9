import Privacy

/// The one seam every dashboard and API question goes through: named operations that
/// take typed queries (a `StatsScope`: site, days, filters, rules) and return typed
/// results. No SQLite type appears here, so a second backend (a column store for those
/// who outgrow one machine) can answer the same questions; `VeilDatabase` answers them
/// from SQLite today.
public protocol StatsStore: Sendable {
    // Screens: everything one page shows, from one consistent snapshot.
    func overviewScreen(_ query: OverviewQuery) async throws(StorageError) -> OverviewScreen
    func breakdownScreen(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int, withTotals: Bool) async throws(StorageError) -> BreakdownScreen
    func funnelsScreen(_ scope: StatsScope, funnels: [FunnelQuery]) async throws(StorageError) -> [[FunnelStep]]
    func journeysScreen(_ scope: StatsScope, at: String?, pages: Int, limit: Int) async throws(StorageError) -> JourneysScreen
    func replayListScreen(site: String, filter: RecordingFilter, rules: AnalyticsRules) async throws(StorageError) -> ReplayListScreen
    func replayPlayerScreen(site: String, id: Int64, rules: AnalyticsRules) async throws(StorageError) -> ReplayPlayerScreen?

    // Single questions (the JSON API, CSV exports, the sites list).
    func totals(_ scope: StatsScope) async throws(StorageError) -> Totals
    func breakdown(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int) async throws(StorageError) -> Breakdown
    func series(_ scope: StatsScope, granularity: Granularity) async throws(StorageError) -> [SeriesPoint]
    func realtime(site: String, now: Int64, windowMillis: Int64, limit: Int) async throws(StorageError) -> Realtime
    func propertyKeys(_ scope: StatsScope, event: String) async throws(StorageError) -> [String]
    func propertyBreakdown(_ scope: StatsScope, event: String, key: String, limit: Int, offset: Int) async throws(StorageError) -> Breakdown
    func funnel(_ scope: StatsScope, steps: [Goal], windowMinutes: Int?) async throws(StorageError) -> [FunnelStep]
    func journey(_ scope: StatsScope, page: String, limit: Int) async throws(StorageError) -> Journey
    func cohorts(site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) async throws(StorageError) -> [Cohort]
    /// The Feedback tab: survey answers of `[from, to)` (every node's, on ClickHouse).
    func feedbackReport(site: String, from: Int64, to: Int64, calendar: DayCalendar, filter: FeedbackFilter,
                        commentLimit: Int) async throws(StorageError) -> FeedbackReport
}

extension VeilDatabase: StatsStore {}

extension StatsStore {
    /// Visitors active in the last five minutes and the pages they are on.
    public func realtime(site: String, now: Int64, limit: Int = 10) async throws(StorageError) -> Realtime {
        try await realtime(site: site, now: now, windowMillis: 300_000, limit: limit)
    }

    public func breakdown(_ scope: StatsScope, _ dim: StatsDimension, limit: Int) async throws(StorageError) -> Breakdown {
        try await breakdown(scope, dim, limit: limit, offset: 0)
    }
}
