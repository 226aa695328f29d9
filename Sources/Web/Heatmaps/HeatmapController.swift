import Foundation
import Hummingbird
import Privacy
import Storage

/// The Heatmaps tab (`/sites/:domain/heatmaps`) and `GET /api/stats/heatmap`: clicks by
/// element and scroll depth for one page and device class, over the page's latest
/// recorded snapshot in the player's sandboxed frame.
struct HeatmapController: Sendable {
    let catalog: SiteCatalog
    let database: VeilDatabase
    /// Autocaptured clicks (`$click` events by their CSS path), for sites with autocapture on.
    let stats: any StatsStore
    let auth: DashboardAuth
    let pages: PageRenderer
    let clock: TimeSource
    let queries: QueryLimiter

    static let devices = ["desktop", "tablet", "mobile"]

    var pageRoutes: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        let owner = routes.group("sites/:domain").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog))
        owner.get("heatmaps", use: page)
        return routes
    }

    var apiRoutes: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("heatmap", use: api)
        routes.onlyAllow("heatmap", [.get])
        return routes
    }

    struct Query: Sendable {
        var range: DateRange
        var path: String?
        var device: String
    }

    static func parse(_ q: [String: String], site: SiteRules, now: Int64) throws(APIError) -> Query {
        let range = try DateRange.resolve(range: q["range"], from: q["from"], to: q["to"], now: now, calendar: site.analytics.calendar)
        let device = q["device"].flatMap { $0.isEmpty ? nil : $0 } ?? "desktop"
        guard devices.contains(device) else { throw APIError(.badRequest, "invalid_device", "device must be desktop, tablet or mobile") }
        let path = q["page"].flatMap { $0.isEmpty ? nil : $0 }
        if let path, !path.hasPrefix("/") || path.utf8.count > 2048 { throw APIError(.badRequest, "invalid_page", "page must be a path such as /pricing") }
        return Query(range: range, path: path, device: device)
    }

    private func millis(_ site: SiteRules, _ range: DateRange) -> (Int64, Int64) {
        (site.analytics.calendar.start(ofDay: range.fromDay), site.analytics.calendar.start(ofDay: range.toDay))
    }

    /// Where autocapture is on: its clicks on the page by the element's CSS path, from the
    /// events Veil already holds (the visit's device class from its user agent). They carry
    /// no position inside the element, so they are drawn at its centre.
    private func autocaptured(site: SiteRules, path: String, device: String, range: DateRange) async throws -> [BreakdownRow] {
        guard site.analytics.autocapture else { return [] }
        let scope = StatsScope(site: site.key, fromDay: range.fromDay, toDay: range.toDay, filters: [StatsFilter(.page, path), StatsFilter(.device, device)],
                               rules: site.analytics)
        return try await stats.propertyBreakdown(scope, event: "$click", key: "path", limit: 200, offset: 0).rows
    }

    @Sendable func api(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let q = SitePagesController.query(request)
        let site = try await auth.apiSite(request, query: q, catalog: catalog)
        let query = try Self.parse(q, site: site, now: clock.nowMillis())
        guard let path = query.path else { throw APIError(.badRequest, "missing_page", "page is required (a path such as /pricing)") }
        let (from, to) = millis(site, query.range)
        let (report, auto) = try await queries.answer([.site(site.key)], context) {
            (try await database.heatmap(site: site.key, path: path, device: query.device, from: from, to: to),
             try await autocaptured(site: site, path: path, device: query.device, range: query.range))
        }
        return try .json(HeatmapAnswer(report, autocaptured: auto, site: site.key, page: path, device: query.device, range: query.range))
    }

    @Sendable func page(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let owner = try context.siteAccess()
        let q = SitePagesController.query(request)
        let query = try Self.parse(q, site: owner.site, now: clock.nowMillis())
        let (from, to) = millis(owner.site, query.range)
        let base = owner.base
        // Without a page: the most clicked page for the device asked (or any device).
        let (list, chosenPath, device, report, auto): ([HeatmapPage], String?, String, HeatmapReport?, [BreakdownRow]) = try await queries.answer(owner.queryKeys, context) {
            let list = try await database.heatmapPages(site: owner.domain, from: from, to: to)
            let pick = query.path.map { HeatmapPage(path: $0, device: query.device, clicks: 0) } ?? list.first(where: { $0.device == query.device }) ?? list.first
            guard let pick else { return (list, nil, query.device, nil, []) }
            var r = try await database.heatmap(site: owner.domain, path: pick.path, device: pick.device, from: from, to: to)
            r.elements = Array(r.elements.prefix(500))
            return (list, pick.path, pick.device, r, try await autocaptured(site: owner.site, path: pick.path, device: pick.device, range: query.range))
        }
        var page = HeatmapsPage(domain: owner.site.domain, base: base, tabs: StatsHeader.tabs(base: base, current: "heatmaps", query: "", readOnly: owner.readOnly),
                                range: q["range"] ?? "30d", path: chosenPath ?? "", device: device, username: owner.username, csrf: owner.csrf)
        page.isAdmin = owner.isAdmin
        page.replayEnabled = owner.site.replay.enabled
        page.ranges = DateRange.Kind.allCases.filter { $0 != .custom }.map { .init(value: $0.rawValue, label: $0.label, selected: $0.rawValue == page.range) }
        page.devices = Self.devices.map { .init(value: $0, label: $0.capitalized, selected: $0 == device) }
        page.pages = list.map { p in
            .init(path: p.path, device: p.device, clicks: p.clicks, current: p.path == chosenPath && p.device == device,
                  href: base + "/heatmaps?range=\(StatsRequest.encode(page.range))&page=\(StatsRequest.encode(p.path))&device=\(p.device)")
        }
        if let report {
            page.fill(report, autocaptured: auto, base: base)
        }
        return .html(pages.render(page, template: "heatmaps"), headers: [.contentSecurityPolicy: ReplayPagesController.playerCSP])
    }
}

/// `GET /api/stats/heatmap`.
struct HeatmapAnswer: Encodable, Sendable {
    struct Cell: Encodable, Sendable { var x: Int; var y: Int; var clicks: Int }
    struct Element: Encodable, Sendable {
        var element: String
        var clicks: Int
        var dead_clicks: Int
        var rage_clicks: Int
        var share_of_page_views: Double
        var cells: [Cell]
        var dead_recordings: [Int64]
        var rage_recordings: [Int64]
    }
    struct Snapshot: Encodable, Sendable { var recording: Int64; var offset_ms: Int64; var events: String }
    struct Autocaptured: Encodable, Sendable { var selector: String; var clicks: Int; var visitors: Int }
    var site: String
    var page: String
    var device: String
    var from: String
    var to: String
    var page_views: Int
    var clicks: Int
    var dead_clicks: Int
    var rage_clicks: Int
    /// Share of page views whose viewport reached each tenth of the page (0 to 1).
    var scroll_depth: [Double]
    var snapshot: Snapshot?
    var elements: [Element]
    /// Sites with autocapture: its `$click` events on the page by CSS path (no position inside the element).
    var autocaptured: [Autocaptured]
    /// Cells are 5 % of the element's box each way: x and y from 0 to 19.
    var cell_size_percent = 5

    init(_ r: HeatmapReport, autocaptured auto: [BreakdownRow] = [], site: String, page: String, device: String, range: DateRange) {
        autocaptured = auto.map { Autocaptured(selector: $0.value, clicks: $0.hits, visitors: $0.visitors) }
        self.site = site
        self.page = page
        self.device = device
        from = range.fromDate
        to = range.toDate
        page_views = r.pageViews
        clicks = r.elements.reduce(0) { $0 + $1.clicks }
        dead_clicks = r.deadClicks
        rage_clicks = r.rageClicks
        scroll_depth = r.depthShares.map { ($0 * 1000).rounded() / 1000 }
        snapshot = r.snapshot.map { Snapshot(recording: $0.recording, offset_ms: $0.offsetMillis, events: "/api/recordings/\($0.recording)/events") }
        elements = r.elements.map { e in
            Element(element: e.element, clicks: e.clicks, dead_clicks: e.dead, rage_clicks: e.rage,
                    share_of_page_views: (r.perPageView(e.clicks) * 1000).rounded() / 1000,
                    cells: e.cells.map { Cell(x: $0.x, y: $0.y, clicks: $0.clicks) }, dead_recordings: e.deadRecordings, rage_recordings: e.rageRecordings)
        }
    }
}
