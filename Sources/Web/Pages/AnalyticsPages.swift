import Foundation
import Privacy
import Storage

/// A whole breakdown, paginated ("show more").
struct BreakdownPage: Sendable {
    var header: StatsHeader
    var table: StatsTable
    var rangeText: String
    var prevHref: String
    var hasPrev: Bool
    var nextHref: String
    var hasNext: Bool
    var signedIn: Bool
    var username: String
    var isAdmin = false
    var csrf: String
    var version = VeilVersion.string
}

/// Funnels: declared ones and an ad-hoc one from `step` parameters.
struct FunnelsPage: Sendable {
    struct Step: Sendable {
        var name: String
        var visitors: String
        var sessions: String
        var ofFirst: String
        var dropped: String
        var shareStep: Int
        /// Replays of visits that reached this step but not the next one.
        var dropHref = ""
        var hasDropHref = false
    }
    struct Funnel: Sendable {
        var name: String
        var window: String
        var steps: [Step]
        var summary: String
    }
    var header: StatsHeader
    var funnels: [Funnel]
    var hasFunnels: Bool
    var goals: [String]
    var hasGoals: Bool
    var adhocSteps: String
    var signedIn: Bool
    var username: String
    var isAdmin = false
    var csrf: String
    var version = VeilVersion.string

    /// `replayBase`: link each drop-off to its replays (config funnels, whose steps are goals).
    static func funnel(name: String, window: Int?, steps: [FunnelStep], replayBase: String? = nil) -> Funnel {
        let first = max(1, steps.first?.visitors ?? 0)
        var out: [Step] = []
        for (i, s) in steps.enumerated() {
            let dropped = i + 1 < steps.count ? s.visitors - steps[i + 1].visitors : 0
            out.append(Step(name: s.goal, visitors: Format.compact(s.visitors), sessions: Format.compact(s.sessions),
                            ofFirst: Format.percent(Double(s.visitors) / Double(first)), dropped: i + 1 < steps.count ? Format.compact(dropped) : "–",
                            shareStep: Int((Double(s.visitors) / Double(first) * 20).rounded())))
            if let replayBase, i + 1 < steps.count, dropped > 0 {
                out[i].dropHref = replayBase + "/replays?goal=" + StatsRequest.encode(s.goal) + "&without_goal=" + StatsRequest.encode(steps[i + 1].goal)
                out[i].hasDropHref = true
            }
        }
        let converted = steps.last?.visitors ?? 0
        let entering = steps.first?.visitors ?? 0
        return Funnel(name: name, window: window.map { "within \($0) minutes" } ?? "within one visit", steps: out,
                      summary: "\(entering) visitors entered, \(converted) converted (\(entering == 0 ? "0%" : Format.percent(Double(converted) / Double(entering))))")
    }
}

/// Next and previous pages from a chosen page.
struct JourneysPage: Sendable {
    var header: StatsHeader
    var at: String
    var hasPage: Bool
    var pages: [String]
    var previous: StatsTable
    var next: StatsTable
    var signedIn: Bool
    var username: String
    var isAdmin = false
    var csrf: String
    var version = VeilVersion.string
}

/// Weekly retention cohorts.
struct RetentionPage: Sendable {
    struct Cell: Sendable { var value: String; var shade: Int }
    struct Row: Sendable { var week: String; var size: String; var cells: [Cell] }
    var header: StatsHeader
    var persistent: Bool
    var rows: [Row]
    var hasRows: Bool
    var columns: [String]
    var signedIn: Bool
    var username: String
    var isAdmin = false
    var csrf: String
    var version = VeilVersion.string

    init(header: StatsHeader, persistent: Bool, cohorts: [Cohort], username: String, csrf: String) {
        self.header = header
        self.persistent = persistent
        let width = cohorts.map(\.active.count).max() ?? 0
        columns = (0..<width).map { "Week \($0)" }
        rows = cohorts.map { c in
            Row(week: DayCalendar.dateString(c.weekStartDay), size: Format.compact(c.size), cells: c.active.map { n in
                let f = c.size == 0 ? 0 : Double(n) / Double(c.size)
                return Cell(value: Format.percent(f), shade: Int((f * 10).rounded()))
            })
        }
        hasRows = !rows.isEmpty
        signedIn = !header.readOnly
        self.username = username
        self.csrf = csrf
    }
}

/// Visitors now, refreshed by a meta refresh (no script).
struct LivePage: Sendable {
    var header: StatsHeader
    var visitors: String
    var pages: [StatsTable.Row]
    var hasPages: Bool
    var updated: String
    var signedIn: Bool
    var username: String
    var isAdmin = false
    var csrf: String
    var version = VeilVersion.string
}
