import Foundation
import Privacy
import Storage

/// An inline SVG chart: bars for pageviews, a line for visitors, a dashed line for the
/// previous period's visitors, and a few axis labels. Coordinates are computed here so
/// the template only prints numbers; every bar has a text title for screen readers.
struct Chart: Sendable {
    struct Bar: Sendable { var x: String; var y: String; var w: String; var h: String; var label: String }
    struct Tick: Sendable { var x: String; var y: String; var label: String }
    var width: Int
    var height: Int
    var bars: [Bar]
    var line: String
    var previousLine: String
    var hasPrevious: Bool
    var ticks: [Tick]
    var summary: String

    init(series: [SeriesPoint], previous: [SeriesPoint], granularity: Granularity, calendar: DayCalendar = .utc) {
        let width = 600, height = 180
        let plotHeight = 150.0, top = 8.0
        let n = max(1, series.count)
        let slot = Double(width) / Double(n)
        let peak = Double(max(1, (series + previous).map { max($0.pageviews, $0.visitors) }.max() ?? 1))
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        func when(_ ms: Int64) -> String {
            let s = calendar.dateTime(ms)
            switch granularity {
            case .hour: return s
            case .day: return String(s.prefix(10))
            case .week: return "week of " + String(s.prefix(10))
            case .month: return String(s.prefix(7))
            }
        }
        bars = series.enumerated().map { i, p in
            let h = Double(p.pageviews) / peak * plotHeight
            return Bar(x: fmt(Double(i) * slot + slot * 0.15), y: fmt(top + plotHeight - h), w: fmt(slot * 0.7), h: fmt(h),
                       label: "\(when(p.start)): \(p.pageviews) pageviews, \(p.visitors) visitors")
        }
        func polyline(_ s: [SeriesPoint]) -> String {
            s.prefix(n).enumerated().map { i, p in
                fmt(Double(i) * slot + slot / 2) + "," + fmt(top + plotHeight - Double(p.visitors) / peak * plotHeight)
            }.joined(separator: " ")
        }
        line = polyline(series)
        previousLine = polyline(previous)
        hasPrevious = previous.contains { $0.visitors > 0 }
        let step = max(1, n / 6)
        ticks = stride(from: 0, to: series.count, by: step).map { i in
            let s = calendar.dateTime(series[i].start)
            let label = granularity == .hour ? String(s.suffix(5)) : granularity == .month ? String(s.prefix(7)) : String(s.prefix(10).dropFirst(5))
            return Tick(x: fmt(Double(i) * slot + 2), y: fmt(Double(height) - 4), label: label)
        }
        self.width = width
        self.height = height
        let pv = series.reduce(0) { $0 + $1.pageviews }
        let unit = granularity.rawValue
        summary = "\(pv) pageviews over \(series.count) \(unit)s; peak of \(Int(peak)) in one \(unit)"
    }
}
