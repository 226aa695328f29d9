import Foundation
import Privacy
import Storage

/// The Heatmaps tab: pages with clicks, the chosen page's snapshot with hotspots and
/// scroll depth, and the ranked elements with their dead and rage clicks.
struct HeatmapsPage: Sendable {
    struct Option: Sendable { var value: String; var label: String; var selected: Bool }
    struct PageLink: Sendable { var path: String; var device: String; var clicks: Int; var current: Bool; var href: String }
    struct Replay: Sendable { var href: String; var label: String }
    struct Row: Sendable {
        var element: String
        /// The last steps, readable (`… › p:nth-of-type(3) › button`); the full path is its title.
        var short: String
        var clicks: Int
        var share: String
        var dead: Int
        var rage: Int
        var replays: [Replay]
    }
    struct Depth: Sendable { var label: String; var share: String; var width: String }
    struct Auto: Sendable { var selector: String; var clicks: Int }

    var domain: String
    var base: String
    var tabs: [StatsHeader.Link]
    var range: String
    var path: String
    var device: String
    var ranges: [Option] = []
    var devices: [Option] = []
    var pages: [PageLink] = []
    var hasPages: Bool { !pages.isEmpty }
    var replayEnabled = false
    var hasReport = false
    var hasSnapshot = false
    var eventsURL = ""
    var at = "0"
    /// `{cells: [[element, x, y, clicks]…], reached: [share…]}` for hm.js; escaped by the template.
    var heatmapJSON = "{}"
    var pageViews = 0
    var deadClicks = 0
    var rageClicks = 0
    var rows: [Row] = []
    var depth: [Depth] = []
    var autocaptured: [Auto] = []
    var hasAutocaptured: Bool { !autocaptured.isEmpty }
    var isAdmin = false
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string

    init(domain: String, base: String, tabs: [StatsHeader.Link], range: String, path: String, device: String, username: String, csrf: String) {
        self.domain = domain
        self.base = base
        self.tabs = tabs
        self.range = range
        self.path = path
        self.device = device
        self.username = username
        self.csrf = csrf
    }

    static func short(_ path: String) -> String {
        let steps = path.split(separator: ">").map { $0.replacingOccurrences(of: ":nth-of-type(1)", with: "") }
        let tail = steps.suffix(3).joined(separator: " › ")
        return steps.count > 3 ? "… › " + tail : tail
    }

    mutating func fill(_ r: HeatmapReport, autocaptured auto: [BreakdownRow] = [], base: String) {
        autocaptured = auto.map { Auto(selector: $0.value, clicks: $0.hits) }
        hasReport = true
        pageViews = r.pageViews
        deadClicks = r.deadClicks
        rageClicks = r.rageClicks
        func percent(_ n: Int) -> String { r.pageViews > 0 ? String(format: "%.0f %%", r.perPageView(n) * 100) : "–" }
        rows = r.elements.prefix(100).map { e in
            let replays = (e.deadRecordings.map { ($0, "dead") } + e.rageRecordings.map { ($0, "rage") })
            var seen = Set<Int64>()
            return Row(element: e.element, short: Self.short(e.element), clicks: e.clicks, share: percent(e.clicks), dead: e.dead, rage: e.rage,
                       replays: replays.filter { seen.insert($0.0).inserted }.prefix(5).map { Replay(href: base + "/replays/\($0.0)", label: "#\($0.0) (\($0.1))") })
        }
        let shares = r.depthShares
        depth = shares.enumerated().map { i, s in
            Depth(label: "\(i * 10)–\(i * 10 + 10) %", share: String(format: "%.0f %%", s * 100), width: "w\(Int((s * 20).rounded()))")
        }
        if let snap = r.snapshot {
            hasSnapshot = true
            eventsURL = "/api/recordings/\(snap.recording)/events"
            at = String(snap.offsetMillis)
        }
        var cells: [String] = []
        for e in r.elements.prefix(500) {
            for c in e.cells { cells.append("[\(JSONWriter.string(e.element)),\(c.x),\(c.y),\(c.clicks)]") }
        }
        let autoJSON = auto.map { "[\(JSONWriter.string($0.value)),\($0.hits)]" }.joined(separator: ",")
        heatmapJSON = "{\"cells\":[" + cells.joined(separator: ",") + "],\"reached\":[" + shares.map { String(format: "%.3f", $0) }.joined(separator: ",") + "],\"auto\":[" + autoJSON + "]}"
    }
}
