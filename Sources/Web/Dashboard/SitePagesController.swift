import Crypto
import Foundation
import Hummingbird
import Privacy
import Storage

/// The analytics pages of a site: overview, full breakdowns, CSV, funnels, journeys,
/// retention and live. Each is served to the signed-in owner under `/sites/:domain` and,
/// read-only, under `/share/:token` when the owner created a public link.
struct SitePagesController: Sendable {
    let catalog: SiteCatalog
    let snippet: Snippet
    /// A country database is loaded (otherwise the countries table says how to add one).
    let geoConfigured: Bool
    let database: VeilDatabase
    /// Every question a page shows the answer to.
    let stats: any StatsStore
    let auth: DashboardAuth
    let pages: PageRenderer
    let clock: TimeSource
    let queries: QueryLimiter

    /// Who is looking, at which site, and where links point (set by the group's middleware).
    typealias Viewer = SiteAccess

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        let owner = routes.group("sites/:domain").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog))
        let shared = routes.group("share/:token").add(middleware: ShareAccessMiddleware(database: database, catalog: catalog))
        for group in [owner, shared] {
            group.get(use: viewed(overview))
            group.get("breakdown/:dim", use: viewed(breakdown))
            group.get("csv/:dim", use: viewed(csv))
            group.get("funnels", use: viewed(funnels))
            group.get("journeys", use: viewed(journeys))
            group.get("retention", use: viewed(retention))
            group.get("live", use: viewed(live))
        }
        // Link management is an admin's.
        let admin = routes.group("sites/:domain").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog, adminOnly: true))
        admin.post("share", use: createShare)
        admin.post("share/revoke", use: revokeShare)
        return routes
    }

    // MARK: Access

    /// Every page: answered within the site's and link's report shares, cancelled if the
    /// client goes away.
    private func viewed(_ page: @escaping @Sendable (Request, VeilRequestContext, Viewer) async throws -> Response) -> @Sendable (Request, VeilRequestContext) async throws -> Response {
        { request, context in
            let viewer = try context.siteAccess()
            return try await queries.answer(viewer.queryKeys, context) { try await page(request, context, viewer) }
        }
    }

    private func stats(_ request: Request, _ viewer: Viewer) throws -> StatsRequest {
        try StatsRequest.parse(site: viewer.domain, rules: viewer.site.analytics, query: Self.query(request), now: clock.nowMillis())
    }

    static func query(_ request: Request) -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in request.uri.queryParameters where out[String(k)] == nil { out[String(k)] = String(v) }
        return out
    }

    // MARK: Pages

    func overview(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        let stats = try stats(request, viewer)
        let query = Self.query(request)
        let event = stats.filters.first(where: { $0.dimension == .event })?.value
        let data = try await DashboardData.load(stats: self.stats, request: stats, now: clock.nowMillis(),
                                                property: event.map { ($0, query["prop"]) }, ownerFacts: !viewer.readOnly)
        let screen = data.screen
        let properties = event.map { (event: $0, keys: screen.propertyKeys, key: screen.propertyKey, breakdown: screen.properties) }
        var shareURL: String?
        if let created = screen.shareLinkCreated {
            shareURL = "A public read-only link exists (created \(stats.calendar.dateTime(created)) \(stats.calendar.identifier))."
        }
        let header = StatsHeader(domain: viewer.site.domain, base: viewer.base, tab: "overview", request: stats, readOnly: viewer.readOnly)
        var page = SitePage(data: data, header: header, geoConfigured: geoConfigured,
                            snippet: snippet.tag(for: viewer.site, request: request), retentionDays: viewer.site.eventsRetentionDays,
                            oldestEvent: screen.oldestEvent, properties: properties,
                            shareURL: shareURL, username: viewer.username, csrf: viewer.csrf)
        page.isAdmin = viewer.isAdmin
        if !viewer.readOnly && viewer.site.replay.enabled {
            for i in page.tables.indices { page.tables[i].linkReplays(base: viewer.base) }
        }
        return .html(pages.render(page, template: "site"))
    }

    func breakdown(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        let stats = try stats(request, viewer)
        let dim = try Self.dimension(context)
        let offset = try Self.offset(Self.query(request))
        let limit = 100
        let screen = try await self.stats.breakdownScreen(stats.scope, dim, limit: limit, offset: offset, withTotals: dim == .goal)
        let b = screen.breakdown, totals = screen.totals
        let header = StatsHeader(domain: viewer.site.domain, base: viewer.base, tab: "overview", request: stats, readOnly: viewer.readOnly)
        var table = StatsTable(dim: dim, breakdown: b, request: stats, base: viewer.base, empty: "Nothing in this range.", totalVisitors: totals.visitors)
        table.hasMore = false
        if !viewer.readOnly && viewer.site.replay.enabled { table.linkReplays(base: viewer.base) }
        let here = viewer.base + "/breakdown/" + dim.rawValue
        var page = BreakdownPage(header: header, table: table,
                                 rangeText: b.total == 0 ? "" : "\(offset + 1)–\(offset + b.rows.count) of \(b.total)",
                                 prevHref: here + stats.query([("offset", String(max(0, offset - limit)))]), hasPrev: offset > 0,
                                 nextHref: here + stats.query([("offset", String(offset + limit))]), hasNext: offset + limit < b.total,
                                 signedIn: !viewer.readOnly, username: viewer.username, csrf: viewer.csrf)
        page.isAdmin = viewer.isAdmin
        return .html(pages.render(page, template: "breakdown"))
    }

    func csv(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        let stats = try stats(request, viewer)
        let name = context.parameters.get("dim") ?? ""
        let body: String
        if name == "prop" {
            let query = Self.query(request)
            guard let event = stats.filters.first(where: { $0.dimension == .event })?.value, let key = query["prop"] else {
                throw APIError(.badRequest, "missing_property", "property CSVs need an event filter and prop=<key>")
            }
            let b = try await self.stats.propertyBreakdown(stats.scope, event: event, key: key, limit: 100_000, offset: 0)
            body = CSV.document(header: [key, "visitors", "events"], rows: b.rows.map { [$0.value, String($0.visitors), String($0.hits)] })
        } else {
            let dim = try Self.dimension(context)
            let b = try await self.stats.breakdown(stats.scope, dim, limit: 100_000)
            body = Self.csv(dim, b)
        }
        let filename = "\(viewer.domain)-\(name)-\(stats.range.fromDate)-\(stats.range.toDate).csv".filter { $0.isLetter || $0.isNumber || "-._".contains($0) }
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\"", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func csv(_ dim: StatsDimension, _ b: Breakdown) -> String {
        CSV.document(header: [dim.column.lowercased(), "visitors", dim.countLabel.lowercased()],
                     rows: b.rows.map { [$0.value, String($0.visitors), String(dim.count($0))] })
    }

    func funnels(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        let stats = try stats(request, viewer)
        let rules = viewer.site.analytics
        let adhoc = Self.query(request)["steps"] ?? ""
        let adhocSteps = adhoc.isEmpty ? nil : try Self.adhocSteps(adhoc, rules: rules)
        let configured = rules.funnels.map { FunnelQuery(steps: $0.steps.compactMap { rules.goal(named: $0) }, windowMinutes: $0.windowMinutes) }
        let results = try await self.stats.funnelsScreen(stats.scope, funnels: (adhocSteps.map { [FunnelQuery(steps: $0, windowMinutes: nil)] } ?? []) + configured)
        var out: [FunnelsPage.Funnel] = []
        if adhocSteps != nil { out.append(FunnelsPage.funnel(name: "Ad-hoc funnel", window: nil, steps: results[0])) }
        for (funnel, steps) in zip(rules.funnels, results.suffix(configured.count)) {
            out.append(FunnelsPage.funnel(name: funnel.name, window: funnel.windowMinutes, steps: steps,
                                          replayBase: !viewer.readOnly && viewer.site.replay.enabled ? viewer.base : nil))
        }
        let header = StatsHeader(domain: viewer.site.domain, base: viewer.base, tab: "funnels", request: stats, readOnly: viewer.readOnly)
        var page = FunnelsPage(header: header, funnels: out, hasFunnels: !out.isEmpty, goals: rules.goals.map(\.name), hasGoals: !rules.goals.isEmpty, adhocSteps: adhoc,
                               signedIn: !viewer.readOnly, username: viewer.username, csrf: viewer.csrf)
        page.isAdmin = viewer.isAdmin
        return .html(pages.render(page, template: "funnels"))
    }

    /// `steps=Goal name|page:/pricing*|event:Signup`, 2 to 10 steps.
    static func adhocSteps(_ text: String, rules: AnalyticsRules) throws(APIError) -> [Goal] {
        guard text.count <= 4096 else { throw APIError(.badRequest, "invalid_steps", "steps is longer than 4096 characters") }
        let parts = text.split(separator: "|").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard (2...10).contains(parts.count) else { throw APIError(.badRequest, "invalid_steps", "a funnel has 2 to 10 steps separated by |") }
        return try parts.map { (p: String) throws(APIError) -> Goal in
            if p.hasPrefix("page:") { return Goal(name: p, page: String(p.dropFirst(5))) }
            if p.hasPrefix("event:") { return Goal(name: p, event: String(p.dropFirst(6))) }
            guard let goal = rules.goal(named: p) else {
                throw APIError(.badRequest, "unknown_goal", "\"\(p)\" is not a goal; use a goal name, page:/path* or event:Name")
            }
            return goal
        }
    }

    func journeys(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        let stats = try stats(request, viewer)
        let asked = Self.query(request)["at"]
        guard (asked ?? "").count <= 2048 else { throw APIError(.badRequest, "invalid_page", "at is longer than 2048 characters") }
        let screen = try await self.stats.journeysScreen(stats.scope, at: asked, pages: 50, limit: 15)
        let top = screen.pages, at = screen.at, journey = screen.journey
        let header = StatsHeader(domain: viewer.site.domain, base: viewer.base, tab: "journeys", request: stats, readOnly: viewer.readOnly)
        func table(_ title: String, _ rows: [BreakdownRow]) -> StatsTable {
            var t = StatsTable(dim: .page, breakdown: Breakdown(rows: rows, total: rows.count), request: stats, base: viewer.base, empty: "No pages in this range.")
            t.title = title
            t.countLabel = "Transitions"
            t.rows = zip(t.rows, rows).map { row, r in
                var row = row
                row.href = viewer.base + "/journeys" + stats.query([("at", r.value)])
                return row
            }
            return t
        }
        var page = JourneysPage(header: header, at: at, hasPage: !at.isEmpty, pages: top.rows.map(\.value),
                                previous: table("Came from", journey.previous), next: table("Went next to", journey.next),
                                signedIn: !viewer.readOnly, username: viewer.username, csrf: viewer.csrf)
        page.isAdmin = viewer.isAdmin
        return .html(pages.render(page, template: "journeys"))
    }

    func retention(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        var stats = try stats(request, viewer)
        if Self.query(request)["range"] == nil { stats = try StatsRequest.parse(site: viewer.domain, rules: viewer.site.analytics, query: ["range": "12mo"], now: clock.nowMillis()) }
        let cohorts = try await self.stats.cohorts(site: viewer.domain, fromDay: stats.range.fromDay, toDay: stats.range.toDay, calendar: stats.calendar)
        let header = StatsHeader(domain: viewer.site.domain, base: viewer.base, tab: "retention", request: stats, readOnly: viewer.readOnly)
        var page = RetentionPage(header: header, persistent: viewer.site.identity == .persistent, cohorts: cohorts, username: viewer.username, csrf: viewer.csrf)
        page.isAdmin = viewer.isAdmin
        return .html(pages.render(page, template: "retention"))
    }

    func live(_ request: Request, context: VeilRequestContext, viewer: Viewer) async throws -> Response {
        let stats = try stats(request, viewer)
        let now = clock.nowMillis()
        let rt = try await self.stats.realtime(site: viewer.domain, now: now, limit: 20)
        let header = StatsHeader(domain: viewer.site.domain, base: viewer.base, tab: "live", request: stats, readOnly: viewer.readOnly)
        var page = LivePage(header: header, visitors: Format.compact(rt.visitors), pages: rt.pages.map {
            StatsTable.Row(label: $0.value, href: viewer.base + stats.query([("page", $0.value)]), visitors: Format.compact($0.visitors), count: "", extra: "", shareStep: 0)
        }, hasPages: !rt.pages.isEmpty, updated: stats.calendar.dateTime(now) + " " + stats.calendar.identifier, signedIn: !viewer.readOnly, username: viewer.username, csrf: viewer.csrf)
        page.isAdmin = viewer.isAdmin
        return .html(pages.render(page, template: "live"))
    }

    // MARK: Public link

    @Sendable func createShare(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (viewer, _) = try await verifiedOwner(request, context)
        var bytes = [UInt8](repeating: 0, count: 24)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = rng.next() }
        let token = Data(bytes).base64URLEncoded
        try await database.createShareLink(site: viewer.domain, tokenHash: Array(SHA256.hash(data: Array(token.utf8))), nowMillis: clock.nowMillis())
        context.logger.notice("public link created", metadata: ["site": "\(viewer.domain)"])
        let page = ShareCreatedPage(domain: viewer.site.domain, base: viewer.base, path: "/share/" + token, username: viewer.username, csrf: viewer.csrf)
        return .html(pages.render(page, template: "share"))
    }

    @Sendable func revokeShare(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (viewer, _) = try await verifiedOwner(request, context)
        try await database.revokeShareLink(site: viewer.domain)
        context.logger.notice("public link revoked", metadata: ["site": "\(viewer.domain)"])
        return .seeOther(viewer.base)
    }

    private func verifiedOwner(_ request: Request, _ context: VeilRequestContext) async throws -> (Viewer, [String: String]) {
        let viewer = try context.siteAccess()
        return (viewer, try await auth.verifiedForm(request, csrf: viewer.csrf))
    }

    // MARK: Parameters

    static func dimension(_ context: VeilRequestContext) throws(APIError) -> StatsDimension {
        let name = context.parameters.get("dim") ?? ""
        guard let dim = StatsDimension(rawValue: name) else {
            throw APIError(.notFound, "unknown_dimension", "no table \"\(name)\"; tables are " + StatsDimension.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return dim
    }

    static func offset(_ query: [String: String]) throws(APIError) -> Int {
        guard let text = query["offset"] else { return 0 }
        guard let n = Int(text), n >= 0, n <= 10_000_000 else { throw APIError(.badRequest, "invalid_offset", "offset must be a whole number ≥ 0") }
        return n
    }
}

struct ShareCreatedPage: Sendable {
    var domain: String
    var base: String
    var path: String
    var signedIn = true
    /// Made by an admin-only route.
    var isAdmin = true
    var username: String
    var csrf: String
    var version = VeilVersion.string
}
