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
    static func load(database: VeilDatabase, request: StatsRequest, now: Int64, limit: Int = 10,
                     property: (event: String, key: String?)? = nil, ownerFacts: Bool = false) async throws(StorageError) -> DashboardData {
        var query = OverviewQuery(scope: request.scope, previous: request.previousScope, granularity: request.range.granularity, dimensions: dimensions, limit: limit)
        let today = SaltSchedule.day(ofMillis: now)
        if request.range.contains(day: today) { query.realtimeAt = now }
        let days = request.range.days
        var comparison = "compared with the \(days == 1 ? "previous day" : "previous \(days) days")"
        // Today is compared with yesterday until the same time, not with all of yesterday.
        if request.range.kind == .today, request.filters.isEmpty {
            let yesterday = (today - 1) * 86_400_000
            let elapsed = now - today * 86_400_000
            query.comparisonRange = TimeRange(from: yesterday, to: yesterday + elapsed)
            comparison = "compared with yesterday until " + String(DateRange.dateTime(millis: yesterday + elapsed).suffix(5)) + " UTC"
        }
        query.propertyEvent = property?.event
        query.propertyKey = property?.key
        query.ownerFacts = ownerFacts
        return DashboardData(request: request, screen: try await database.overviewScreen(query), comparison: comparison)
    }

    var json: String {
        let t = current.totals, p = previous
        let r = request.range
        var out = "{\"site\":\(JSONWriter.string(request.site)),\"from\":\(JSONWriter.string(r.fromDate)),\"to\":\(JSONWriter.string(r.toDate)),"
        out += "\"granularity\":\"\(r.granularity.rawValue)\",\"filters\":" + StatsJSON.filters(request.filters) + ","
        out += "\"visitors\":\(t.visitors),\"pageviews\":\(t.pageviews),\"events\":\(t.customEvents),\"sessions\":\(t.sessions),"
        out += "\"bounce_rate\":\(StatsJSON.number(t.bounceRate)),\"visit_duration_s\":\(StatsJSON.number(t.averageDurationSeconds)),"
        out += "\"comparison\":\(JSONWriter.string(comparison)),"
        out += "\"previous\":{\"visitors\":\(p.visitors),\"pageviews\":\(p.pageviews),\"events\":\(p.customEvents),\"sessions\":\(p.sessions),"
        out += "\"bounce_rate\":\(StatsJSON.number(p.bounceRate)),\"visit_duration_s\":\(StatsJSON.number(p.averageDurationSeconds))},"
        out += "\"series\":" + StatsJSON.series(current.series) + ",\"previous_series\":" + StatsJSON.series(previousSeries) + ","
        if let realtime { out += "\"realtime\":{\"visitors\":\(realtime.visitors),\"pages\":" + StatsJSON.rows(realtime.pages, dim: .page) + "}," }
        out += "\"breakdowns\":{" + Self.dimensions.map { d in
            let b = current.breakdowns[d] ?? Breakdown(rows: [], total: 0)
            return "\"\(d.rawValue)\":{\"total\":\(b.total),\"rows\":" + StatsJSON.rows(b.rows, dim: d) + "}"
        }.joined(separator: ",") + "}}"
        return out
    }
}

/// Small JSON writers for the stats API (the lean writer, not Foundation's encoder).
enum StatsJSON {
    static func number(_ v: Double) -> String { v.isFinite ? String(format: "%.4f", v) : "0" }

    static func rows(_ rows: [BreakdownRow], dim: StatsDimension) -> String {
        "[" + rows.map {
            "{\"value\":\(JSONWriter.string($0.value)),\"visitors\":\($0.visitors),\"events\":\($0.hits),\"pageviews\":\($0.pageviews),\"visits\":\($0.sessions)}"
        }.joined(separator: ",") + "]"
    }

    static func series(_ s: [SeriesPoint]) -> String {
        "[" + s.map { "{\"start\":\(JSONWriter.string(DateRange.dateTime(millis: $0.start))),\"visitors\":\($0.visitors),\"pageviews\":\($0.pageviews)}" }.joined(separator: ",") + "]"
    }

    static func filters(_ f: [StatsFilter]) -> String {
        "{" + f.map { "\(JSONWriter.string($0.dimension.rawValue)):\(JSONWriter.string($0.value))" }.joined(separator: ",") + "}"
    }
}
