import Foundation
import Privacy
import Storage

/// The numbers behind one overview: the dashboard page and `/api/stats/overview` both
/// render this value, so the two can never disagree.
struct DashboardData: Sendable {
    /// The tables an overview shows, in order (from the dimension catalogue).
    static let dimensions = StatsDimension.overview

    var request: StatsRequest
    var current: StatsSnapshot
    var previous: Totals
    var previousSeries: [SeriesPoint]
    var realtime: Realtime?
    /// What the KPI changes compare with, in words.
    var comparison = "compared with the previous period"

    static func load(database: VeilDatabase, request: StatsRequest, now: Int64, limit: Int = 10) async throws(StorageError) -> DashboardData {
        let granularity = request.range.granularity
        let current = try await database.snapshot(request.scope, granularity: granularity, dimensions: dimensions, limit: limit)
        let before = try await database.snapshot(request.previousScope, granularity: granularity, dimensions: [], limit: 0)
        let today = SaltSchedule.day(ofMillis: now)
        let live = request.range.contains(day: today) ? try await database.realtime(site: request.site, now: now) : nil
        var previous = before.totals
        let days = request.range.days
        var comparison = "compared with the \(days == 1 ? "previous day" : "previous \(days) days")"
        // Today is compared with yesterday until the same time, not with all of yesterday.
        if request.range.kind == .today, request.filters.isEmpty {
            let yesterday = (today - 1) * 86_400_000
            let elapsed = now - today * 86_400_000
            previous = try await database.rawTotals(site: request.site, from: yesterday, to: yesterday + elapsed)
            comparison = "compared with yesterday until " + String(DateRange.dateTime(millis: yesterday + elapsed).suffix(5)) + " UTC"
        }
        return DashboardData(request: request, current: current, previous: previous, previousSeries: before.series, realtime: live, comparison: comparison)
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
