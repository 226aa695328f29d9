import Foundation
import Privacy
import Storage

/// An inline SVG chart: bars for pageviews, a line for visitors, a dashed line for the
/// previous period's visitors, and a few axis labels. Coordinates are computed here so
/// the template only prints numbers; every bar has a text title for screen readers.
struct Chart: Sendable {
    struct Bar: Sendable { var x: String; var y: String; var w: String; var h: String; var label: String }
    struct Tick: Sendable { var x: String; var y: String; var label: String }
    /// A horizontal grid line of the y scale and its value.
    struct Level: Sendable { var y: String; var x2: String; var labelY: String; var label: String }
    var width: Int
    var height: Int
    var bars: [Bar]
    var line: String
    var previousLine: String
    var hasPrevious: Bool
    var ticks: [Tick]
    var levels: [Level]
    var summary: String

    /// The y scale's step: 1, 2 or 5 times a power of ten, so about four steps reach `peak`.
    static func step(for peak: Double) -> Double {
        let rough = max(1, peak / 4)
        let power = pow(10, floor(log10(rough)))
        for m in [1.0, 2.0, 5.0, 10.0] where m * power >= rough { return m * power }
        return 10 * power
    }

    init(series: [SeriesPoint], previous: [SeriesPoint], granularity: Granularity, calendar: DayCalendar = .utc) {
        let width = 600, height = 180
        let plotHeight = 150.0, top = 8.0
        // The scale's labels take the left edge; the plot starts after them.
        let left = 44.0
        let n = max(1, series.count)
        let slot = (Double(width) - left) / Double(n)
        let highest = Double(max(1, (series + previous).map { max($0.pageviews, $0.visitors) }.max() ?? 1))
        let step = Self.step(for: highest)
        let peak = (highest / step).rounded(.up) * step
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
            return Bar(x: fmt(left + Double(i) * slot + slot * 0.15), y: fmt(top + plotHeight - h), w: fmt(slot * 0.7), h: fmt(h),
                       label: "\(when(p.start)): \(p.pageviews) pageviews, \(p.visitors) visitors")
        }
        func polyline(_ s: [SeriesPoint]) -> String {
            s.prefix(n).enumerated().map { i, p in
                fmt(left + Double(i) * slot + slot / 2) + "," + fmt(top + plotHeight - Double(p.visitors) / peak * plotHeight)
            }.joined(separator: " ")
        }
        line = polyline(series)
        previousLine = polyline(previous)
        hasPrevious = previous.contains { $0.visitors > 0 }
        levels = stride(from: 0.0, through: peak, by: step).map { v in
            let y = top + plotHeight - v / peak * plotHeight
            return Level(y: fmt(y), x2: String(width), labelY: fmt(y + 4), label: Format.compact(Int(v)))
        }
        let every = max(1, n / 6)
        ticks = stride(from: 0, to: series.count, by: every).map { i in
            let s = calendar.dateTime(series[i].start)
            let label = granularity == .hour ? String(s.suffix(5)) : granularity == .month ? String(s.prefix(7)) : String(s.prefix(10).dropFirst(5))
            return Tick(x: fmt(left + Double(i) * slot + 2), y: fmt(Double(height) - 4), label: label)
        }
        self.width = width
        self.height = height
        let pv = series.reduce(0) { $0 + $1.pageviews }
        let unit = granularity.rawValue
        summary = "\(pv) pageviews over \(series.count) \(unit)s; peak of \(Int(highest)) in one \(unit)"
    }
}
