import Foundation
import Privacy
import Storage

/// A ranked table on a dashboard page. Rows link to the same view filtered by their value.
struct StatsTable: Sendable {
    struct Row: Sendable {
        var label: String
        var href: String
        var visitors: String
        var count: String
        var extra: String
        var shareStep: Int
        var linked = true
        var hasExtra = false
        /// The recordings of visits with this value (owner views of sites with replay).
        var replayHref = ""
        var hasReplay = false
    }
    var id: String
    var title: String
    var column: String
    var countLabel: String
    var extraLabel: String
    var hasExtra: Bool
    var rows: [Row]
    var empty: String
    var hasRows: Bool
    var moreHref: String
    var hasMore: Bool
    var csvHref: String
    /// Exit pages are counted by visits that ended there, not by visitors: no such column.
    var hasVisitors: Bool
    /// A sentence under the table (the Countries table without a country database).
    var note = ""
    var hasNote = false

    init(dim: StatsDimension, breakdown: Breakdown, request: StatsRequest, base: String, empty: String, totalVisitors: Int = 0) {
        let top = max(1, breakdown.rows.map { dim == .exit ? $0.sessions : $0.visitors }.max() ?? 1)
        id = dim.rawValue
        title = dim.title
        column = dim.column
        countLabel = dim.countLabel
        hasExtra = dim == .goal
        hasVisitors = dim != .exit
        extraLabel = hasExtra ? "Conversion" : ""
        rows = breakdown.rows.map { r in
            Row(label: r.value.isEmpty ? dim.noneLabel : r.value, href: base + request.query([(dim.rawValue, r.value)]),
                visitors: dim == .exit ? "–" : Format.compact(r.visitors), count: Format.compact(dim.count(r)),
                extra: totalVisitors > 0 ? Format.percent(Double(r.visitors) / Double(totalVisitors)) : "–",
                shareStep: Int((Double(dim == .exit ? r.sessions : r.visitors) / Double(top) * 20).rounded()), hasExtra: dim == .goal)
        }
        self.empty = empty
        hasRows = !rows.isEmpty
        moreHref = base + "/breakdown/" + dim.rawValue + request.query()
        hasMore = breakdown.total > breakdown.rows.count
        csvHref = base + "/csv/" + dim.rawValue + request.query()
    }

    /// Links each row to the replays of visits that viewed the page or converted on the goal.
    mutating func linkReplays(base: String) {
        let parameter: String
        switch id {
        case StatsDimension.page.rawValue, StatsDimension.entry.rawValue, StatsDimension.exit.rawValue: parameter = "page"
        case StatsDimension.goal.rawValue: parameter = "goal"
        default: return
        }
        for i in rows.indices where !rows[i].label.isEmpty {
            rows[i].replayHref = base + "/replays?\(parameter)=" + StatsRequest.encode(rows[i].label)
            rows[i].hasReplay = true
        }
    }
}

/// Shared parts of every analytics page: title, tabs, range links, filter chips.
struct StatsHeader: Sendable {
    struct Link: Sendable { var label: String; var href: String; var current: Bool }
    struct Chip: Sendable { var label: String; var value: String; var removeHref: String }
    var domain: String
    var base: String
    var tabs: [Link]
    var ranges: [Link]
    var rangeLabel: String
    var fromDate: String
    var toDate: String
    var hidden: [Link]
    var chips: [Chip]
    var hasChips: Bool
    var readOnly: Bool
    /// The Live view is the last five minutes of the whole site: no range, no filters.
    var hasRanges: Bool

    /// The site's views; Replays only for the owner.
    static func tabs(base: String, current: String, query: String, readOnly: Bool) -> [Link] {
        let tabs = [("Overview", "", "overview"), ("Funnels", "/funnels", "funnels"), ("Journeys", "/journeys", "journeys"),
                    ("Retention", "/retention", "retention"), ("Live", "/live", "live")] + (readOnly ? [] : [("Replays", "/replays", "replays"), ("Heatmaps", "/heatmaps", "heatmaps"), ("Feedback", "/feedback", "feedback")])
        // Replays, heatmaps and feedback take their own filters, not the stats range and filters.
        let own: Set<String> = ["replays", "heatmaps", "feedback"]
        return tabs.map { Link(label: $0.0, href: base + $0.1 + (own.contains($0.2) ? "" : query), current: $0.2 == current) }
    }

    init(domain: String, base: String, tab: String, request: StatsRequest, readOnly: Bool) {
        self.domain = domain
        self.base = base
        let q = request.query()
        tabs = Self.tabs(base: base, current: tab, query: q, readOnly: readOnly)
        let path = tab == "overview" ? base : base + "/" + tab
        ranges = DateRange.Kind.allCases.filter { $0 != .custom }.map { kind in
            Link(label: kind.label, href: path + "?range=" + kind.rawValue + request.filterQuery(), current: request.range.kind == kind)
        }
        rangeLabel = request.range.label + " (" + request.calendar.identifier + ")"
        fromDate = request.range.fromDate
        toDate = request.range.toDate
        hidden = request.filters.map { Link(label: $0.dimension.rawValue, href: $0.value, current: false) }
        chips = request.filters.map { f in
            Chip(label: f.dimension.column == "Value" ? f.dimension.rawValue.replacingOccurrences(of: "_", with: " ") : f.dimension.column,
                 value: f.value.isEmpty ? f.dimension.noneLabel : f.value, removeHref: path + request.query([(f.dimension.rawValue, nil)]))
        }
        hasRanges = tab != "live"
        hasChips = hasRanges && !chips.isEmpty
        self.readOnly = readOnly
    }
}

/// The site overview page model.
struct SitePage: Sendable {
    struct KPI: Sendable { var label: String; var value: String; var change: String; var trend: String; var hasChange: Bool }
    struct Prop: Sendable { var key: String; var href: String; var current: Bool }

    var header: StatsHeader
    var hasData: Bool
    var kpis: [KPI]
    var comparison: String
    var chart: Chart
    var tables: [StatsTable]
    var countriesHint: String
    var hasCountriesHint: Bool
    var live: Bool
    var liveVisitors: String
    /// The realtime card counts the whole site: said when the view is filtered.
    var liveIgnoresFilters: Bool
    var livePages: [StatsTable.Row]
    var liveHref: String
    var refresh: Bool
    var propertyEvent: String
    var hasPropertyEvent: Bool
    var hasProperties: Bool
    var propertyKeys: [Prop]
    var propertyTable: StatsTable?
    var snippet: String
    var retention: String
    var shareURL: String
    var hasShare: Bool
    var signedIn: Bool
    var username: String
    var csrf: String
    var version = VeilVersion.string
    /// An admin is signed in: the nav shows Users; admin-only tools show.
    var isAdmin = false

    init(data: DashboardData, header: StatsHeader, geoConfigured: Bool, snippet: String, retentionDays: Int, oldestEvent: Int64?,
         properties: (event: String, keys: [String], key: String?, breakdown: Breakdown?)?, shareURL: String?, username: String, csrf: String) {
        let base = header.base
        self.header = header
        let t = data.current.totals, p = data.previous
        hasData = t.hits > 0
        func change(_ now: Double, _ before: Double, lowerIsBetter: Bool = false) -> (String, String) {
            guard before > 0 else { return (now > 0 ? "new" : "", "") }
            let c = (now - before) / before
            let text = (c >= 0 ? "+" : "−") + Format.percent(abs(c))
            return (text, (c >= 0) != lowerIsBetter ? "up" : "down")
        }
        func kpi(_ label: String, _ value: String, _ now: Double, _ before: Double, lowerIsBetter: Bool = false) -> KPI {
            let (c, trend) = change(now, before, lowerIsBetter: lowerIsBetter)
            return KPI(label: label, value: value, change: c, trend: trend, hasChange: !c.isEmpty)
        }
        kpis = [
            kpi("Unique visitors", Format.compact(t.visitors), Double(t.visitors), Double(p.visitors)),
            kpi("Pageviews", Format.compact(t.pageviews), Double(t.pageviews), Double(p.pageviews)),
            kpi("Visits", Format.compact(t.sessions), Double(t.sessions), Double(p.sessions)),
            kpi("Bounce rate", t.sessions == 0 ? "–" : Format.percent(t.bounceRate), t.bounceRate, p.bounceRate, lowerIsBetter: true),
            kpi("Visit duration", t.sessions == 0 ? "–" : Format.duration(seconds: t.averageDurationSeconds), t.averageDurationSeconds, p.averageDurationSeconds),
            kpi("Custom events", Format.compact(t.customEvents), Double(t.customEvents), Double(p.customEvents)),
        ]
        comparison = data.comparison
        chart = Chart(series: data.current.series, previous: data.previousSeries, granularity: data.request.range.granularity, calendar: data.request.calendar)
        let empties: [StatsDimension: String] = [
            .page: "No pageviews in this range.",
            .source: "No referrers in this range: visits were direct or from your own site.",
            .event: "No custom events yet. Call veil.track(\"Name\", {…}) from your site.",
            .goal: "No goals converted. Declare goals for this site in the config (goals:).",
            .country: geoConfigured ? "No countries in this range." : "Countries need a country database: set geoip.database in the config to a MaxMind-format .mmdb file.",
        ]
        var tables: [StatsTable] = []
        for d in DashboardData.dimensions {
            let b = data.current.breakdowns[d] ?? Breakdown(rows: [], total: 0)
            // UTM tables only appear when campaigns are tagged.
            if [.utmSource, .utmMedium, .utmCampaign, .utmTerm, .utmContent].contains(d), b.rows.allSatisfy({ $0.value.isEmpty }) { continue }
            tables.append(StatsTable(dim: d, breakdown: b, request: data.request, base: base, empty: empties[d] ?? "Nothing in this range.", totalVisitors: t.visitors))
        }
        if !geoConfigured, let i = tables.firstIndex(where: { $0.id == StatsDimension.country.rawValue }) {
            // Every visit is "unknown" without a database: the hint stays once rows exist.
            tables[i].note = empties[.country]!
            tables[i].hasNote = tables[i].hasRows
        }
        self.tables = tables
        hasCountriesHint = !geoConfigured
        countriesHint = empties[.country]!
        live = data.realtime != nil
        liveVisitors = Format.count(data.realtime?.visitors ?? 0, "visitor", "visitors")
        liveIgnoresFilters = !data.request.filters.isEmpty
        livePages = (data.realtime?.pages ?? []).map {
            StatsTable.Row(label: $0.value, href: base + data.request.query([("page", $0.value)]), visitors: Format.compact($0.visitors), count: "", extra: "", shareStep: 0)
        }
        liveHref = base + "/live"
        refresh = data.request.range.kind == .today
        if let properties {
            propertyEvent = properties.event
            hasPropertyEvent = true
            hasProperties = !properties.keys.isEmpty
            propertyKeys = properties.keys.map { Prop(key: $0, href: base + data.request.query([("prop", $0)]), current: $0 == properties.key) }
            propertyTable = properties.breakdown.map { b in
                var table = StatsTable(dim: .event, breakdown: b, request: data.request, base: base, empty: "")
                table.title = "\(properties.event) · \(properties.key ?? "")"
                table.column = properties.key ?? "Value"
                table.id = "prop"
                table.rows = b.rows.map { r in
                    StatsTable.Row(label: r.value, href: "", visitors: Format.compact(r.visitors), count: Format.compact(r.hits), extra: "",
                                   shareStep: Int((Double(r.visitors) / Double(max(1, b.rows.first?.visitors ?? 1)) * 20).rounded()), linked: false)
                }
                table.csvHref = base + "/csv/prop" + data.request.query([("prop", properties.key ?? "")])
                table.hasMore = false
                return table
            }
        } else {
            propertyEvent = ""
            hasPropertyEvent = false
            hasProperties = false
            propertyKeys = []
            propertyTable = nil
        }
        self.snippet = snippet
        let oldest = oldestEvent.map { "the oldest event held is from \(DayCalendar.dateString(DayCalendar.utc.day(of: $0)))" } ?? "no events are held yet"
        retention = "Events are kept for \(retentionDays) days and then deleted automatically; \(oldest)."
        self.shareURL = shareURL ?? ""
        hasShare = shareURL != nil
        signedIn = !header.readOnly
        self.username = username
        self.csrf = csrf
    }
}
