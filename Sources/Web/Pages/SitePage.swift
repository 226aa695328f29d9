import Foundation
import Storage

/// The site overview page model.
struct SitePage: Sendable {
    struct RangeLink: Sendable { var label: String; var href: String; var current: Bool }
    struct KPI: Sendable { var label: String; var value: String }
    struct Row: Sendable { var label: String; var visitors: String; var count: String; var shareStep: Int }
    struct Table: Sendable {
        var title: String
        var column: String
        var countLabel: String
        var rows: [Row]
        var empty: String
        // Stored, not computed: Mustache reads fields through reflection.
        var hasRows: Bool
    }

    var domain: String
    var domainPath: String
    var ranges: [RangeLink]
    var rangeLabel: String
    var fromDate: String
    var toDate: String
    var hasData: Bool
    var kpis: [KPI]
    var chart: Chart
    var tables: [Table]
    var snippet: String
    /// The site's retention policy and the oldest data held, in words.
    var retention: String
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string

    init(data: OverviewData, snippet: String, retentionDays: Int, oldestEvent: Int64?, username: String, csrf: String) {
        let domainPath = data.site.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? data.site
        self.domain = data.site
        self.domainPath = domainPath
        self.ranges = [("Today", "today"), ("7 days", "7d"), ("30 days", "30d")].map { label, key in
            RangeLink(label: label, href: "/sites/\(domainPath)?range=\(key)", current: data.range.kind.rawValue == key)
        }
        self.rangeLabel = data.range.fromDate == data.range.toDate ? data.range.fromDate : "\(data.range.fromDate) to \(data.range.toDate)"
        self.fromDate = data.range.fromDate
        self.toDate = data.range.toDate
        let t = data.totals
        self.hasData = t.pageviews > 0 || !data.events.isEmpty
        self.kpis = [
            KPI(label: "Unique visitors", value: Format.compact(t.visitors)),
            KPI(label: "Pageviews", value: Format.compact(t.pageviews)),
            KPI(label: "Sessions", value: Format.compact(t.sessions)),
            KPI(label: "Bounce rate", value: t.sessions == 0 ? "–" : Format.percent(t.bounceRate)),
            KPI(label: "Visit duration", value: t.sessions == 0 ? "–" : Format.duration(seconds: t.averageDurationSeconds)),
        ]
        self.chart = Chart(series: data.series, hourly: data.range.bucketMillis < OverviewRange.day)
        func table(_ title: String, _ column: String, _ countLabel: String, _ rows: [RankedRow], _ empty: String) -> Table {
            let top = max(1, rows.map(\.visitors).max() ?? 1)
            return Table(title: title, column: column, countLabel: countLabel, rows: rows.map {
                Row(label: $0.label, visitors: Format.compact($0.visitors), count: Format.compact($0.count), shareStep: Int((Double($0.visitors) / Double(top) * 20).rounded()))
            }, empty: empty, hasRows: !rows.isEmpty)
        }
        self.tables = [
            table("Top pages", "Page", "Pageviews", data.pages, "No pageviews in this range."),
            table("Top referrers", "Source", "Pageviews", data.referrers, "No referrers in this range: visits were direct or from your own site."),
            table("Custom events", "Event", "Events", data.events, "No custom events yet. Call veil.track(\"Name\", {…}) from your site."),
        ]
        self.snippet = snippet
        let oldest = oldestEvent.map { "the oldest event held is from \(OverviewRange.dateString(day: $0 / OverviewRange.day))" } ?? "no events are held yet"
        self.retention = "Events are kept for \(retentionDays) days and then deleted automatically; \(oldest)."
        self.username = username
        self.csrf = csrf
    }
}

/// An inline SVG chart: bars for pageviews, a line for visitors, a few axis labels.
/// Coordinates are computed here so the template only prints numbers.
struct Chart: Sendable {
    struct Bar: Sendable { var x: String; var y: String; var w: String; var h: String; var label: String }
    struct Tick: Sendable { var x: String; var y: String; var label: String }
    var width: Int
    var height: Int
    var bars: [Bar]
    var line: String
    var ticks: [Tick]
    var summary: String

    init(series: [SeriesPoint], hourly: Bool) {
        let width = 600, height = 180
        let plotHeight = 150.0, top = 8.0
        let n = max(1, series.count)
        let slot = Double(width) / Double(n)
        let peak = Double(max(1, series.map { max($0.pageviews, $0.visitors) }.max() ?? 1))
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        func when(_ ms: Int64) -> String {
            let day = ms / OverviewRange.day
            let date = OverviewRange.dateString(day: day)
            return hourly ? date + " " + String(format: "%02d:00", (ms % OverviewRange.day) / 3_600_000) : date
        }
        bars = series.enumerated().map { i, p in
            let h = Double(p.pageviews) / peak * plotHeight
            return Bar(x: fmt(Double(i) * slot + slot * 0.15), y: fmt(top + plotHeight - h), w: fmt(slot * 0.7), h: fmt(h),
                       label: "\(when(p.start)): \(p.pageviews) pageviews, \(p.visitors) visitors")
        }
        line = series.enumerated().map { i, p in
            fmt(Double(i) * slot + slot / 2) + "," + fmt(top + plotHeight - Double(p.visitors) / peak * plotHeight)
        }.joined(separator: " ")
        let step = max(1, n / 6)
        ticks = stride(from: 0, to: series.count, by: step).map { i in
            let label = hourly ? String(format: "%02d:00", (series[i].start % OverviewRange.day) / 3_600_000) : String(when(series[i].start).dropFirst(5))
            return Tick(x: fmt(Double(i) * slot + 2), y: fmt(Double(height) - 4), label: label)
        }
        self.width = width
        self.height = height
        let pv = series.reduce(0) { $0 + $1.pageviews }
        summary = "\(pv) pageviews over \(series.count) \(hourly ? "hours" : "days"); peak of \(Int(peak)) in one \(hourly ? "hour" : "day")"
    }
}
