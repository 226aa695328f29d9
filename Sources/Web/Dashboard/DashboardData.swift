import Foundation
import Privacy
import Storage

/// The numbers behind one overview: the dashboard page and `/api/stats/overview` both
/// render this value, so the two can never disagree.
struct DashboardData: Sendable {
    /// The tables an overview shows, in order (from the dimension catalogue).
    static let dimensions = StatsDimension.overview

    var request: StatsRequest
    /// Everything the screen read, in one snapshot.
    var screen: OverviewScreen
    /// What the KPI changes compare with, in words.
    var comparison = "compared with the previous period"

    var current: StatsSnapshot { screen.current }
    var previous: Totals { screen.previousTotals }
    var previousSeries: [SeriesPoint] { screen.previousSeries }
    var realtime: Realtime? { screen.realtime }

    /// The overview's numbers; `property` also breaks down a custom event's properties,
    /// `ownerFacts` reads what only the owner sees.
    static func load(stats: any StatsStore, request: StatsRequest, now: Int64, limit: Int = 10,
                     property: (event: String, key: String?)? = nil, ownerFacts: Bool = false) async throws(StorageError) -> DashboardData {
        var query = OverviewQuery(scope: request.scope, previous: request.previousScope, granularity: request.range.granularity, dimensions: dimensions, limit: limit)
        let calendar = request.calendar
        let today = calendar.day(of: now)
        if request.range.contains(day: today) { query.realtimeAt = now }
        let days = request.range.days
        var comparison = "compared with the \(days == 1 ? "previous day" : "previous \(days) days")"
        // Today is compared with yesterday until the same time, not with all of yesterday.
        if request.range.kind == .today, request.filters.isEmpty {
            let yesterday = calendar.start(ofDay: today - 1)
            let elapsed = now - calendar.start(ofDay: today)
            query.comparisonRange = TimeRange(from: yesterday, to: yesterday + elapsed)
            comparison = "compared with yesterday until " + String(calendar.dateTime(yesterday + elapsed).suffix(5)) + " " + calendar.identifier
        }
        query.propertyEvent = property?.event
        query.propertyKey = property?.key
        query.ownerFacts = ownerFacts
        return DashboardData(request: request, screen: try await stats.overviewScreen(query), comparison: comparison)
    }
}
