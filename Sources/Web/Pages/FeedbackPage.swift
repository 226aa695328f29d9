import Foundation
import Privacy
import Storage

/// The Feedback tab: NPS over time, sentiment, comments.
struct FeedbackPage: Sendable {
    struct Option: Sendable { var value: String; var label: String; var selected: Bool }
    struct Stat: Sendable { var label: String; var value: String }
    struct Band: Sendable {
        var label: String
        var count: Int
        var share: String
        var width: String
        var css: String
        /// This tab narrowed to the band; and every other view narrowed to the visits that answered so.
        var href: String
        var dashboardHref: String
    }
    struct Page: Sendable { var path: String; var answers: Int; var average: String; var counts: String }
    struct Comment: Sendable {
        var at: String
        var kind: String
        var score: Int
        var band: String
        var comment: String
        var path: String
        var device: String
        var country: String
        var replayHref: String?
    }

    var domain: String
    var base: String
    var tabs: [StatsHeader.Link]
    var npsEnabled: Bool
    var sentimentEnabled: Bool
    var ranges: [Option]
    var devices: [Option]
    var bands: [Option]
    var path: String
    var country: String
    var filtered: Bool
    var rangeLabel: String
    var nps: String
    var stats: [Stat]
    var npsBands: [Band]
    var chart: NPSChart
    var hasNPS: Bool
    var sentiment: [Band]
    var hasSentiment: Bool
    var sentimentPages: [Page]
    var comments: [Comment]
    var hasComments: Bool
    var csvHref: String
    var apiHref: String
    var isAdmin = false
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string

    static let faces = ["Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"]
}

/// NPS answers per day as stacked bars (detractors, passives, promoters), each with a
/// `<title>` naming the day's numbers, so hovering shows them without script.
struct NPSChart: Sendable {
    struct Bar: Sendable { var x: String; var y: String; var w: String; var h: String; var css: String; var label: String }
    struct Tick: Sendable { var x: String; var y: String; var label: String }
    var width = 600
    var height = 160
    var bars: [Bar] = []
    var ticks: [Tick] = []
    var summary: String

    init(days: [NPSDay], fromDay: Int64, toDay: Int64) {
        let byDay = Dictionary(uniqueKeysWithValues: days.map { ($0.day, $0) })
        let n = max(1, Int(toDay - fromDay))
        let plot = 130.0, top = 6.0, left = 4.0
        let slot = (Double(width) - left) / Double(n)
        let peak = Double(max(1, days.map(\.answers).max() ?? 1))
        func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
        for i in 0..<n {
            let day = fromDay + Int64(i)
            guard let d = byDay[day], d.answers > 0 else { continue }
            var y = top + plot
            let label = "\(DayCalendar.dateString(day)): NPS \(d.score.map(String.init) ?? "–"), \(d.promoters) promoters, \(d.passives) passives, \(d.detractors) detractors"
            for (count, css) in [(d.detractors, "det"), (d.passives, "pas"), (d.promoters, "pro")] where count > 0 {
                let h = Double(count) / peak * plot
                y -= h
                // At most 40 px wide: a range of a day or two is a narrow bar, not a wall.
                let barWidth = min(40, max(1, slot * 0.7))
                bars.append(Bar(x: fmt(left + Double(i) * slot + (slot - barWidth) / 2), y: fmt(y), w: fmt(barWidth), h: fmt(h), css: css, label: label))
            }
        }
        let every = max(1, n / 6), bottom = fmt(Double(height) - 4)
        let answers = days.reduce(0) { $0 + $1.answers }
        summary = "\(answers) NPS answers over \(n) days; at most \(Int(peak)) in one day"
        ticks = stride(from: 0, to: n, by: every).map { i in
            Tick(x: fmt(left + Double(i) * slot + 2), y: bottom, label: String(DayCalendar.dateString(fromDay + Int64(i)).dropFirst(5)))
        }
    }
}
