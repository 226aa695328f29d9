import Hummingbird
import Privacy
import Storage

/// The JSON stats API (`/api/stats/...`), for a bearer token or a signed-in session.
/// Every table and series the dashboard shows, with the same `range`, `from`, `to` and
/// filter parameters; breakdowns also as CSV (`format=csv`).
struct StatsController: Sendable {
    let catalog: SiteCatalog
    let stats: any StatsStore
    let auth: DashboardAuth
    let clock: TimeSource
    let queries: QueryLimiter

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("overview", use: gated(overview))
        routes.get("breakdown", use: gated(breakdown))
        routes.get("series", use: gated(series))
        routes.get("realtime", use: gated(realtime))
        routes.get("properties", use: gated(properties))
        routes.get("funnel", use: gated(funnel))
        routes.get("journey", use: gated(journey))
        routes.get("cohorts", use: gated(cohorts))
        for path in ["overview", "breakdown", "series", "realtime", "properties", "funnel", "journey", "cohorts"] {
            routes.onlyAllow(RouterPath(path), [.get])
        }
        return routes
    }

    /// Every route: check access, then answer within the site's query share, cancelled if
    /// the client goes away.
    private func gated(_ handler: @escaping @Sendable (Request, VeilRequestContext) async throws -> Response) -> @Sendable (Request, VeilRequestContext) async throws -> Response {
        { request, context in
            let site = SitePagesController.query(request)["site"].flatMap { catalog.site($0) }?.key ?? ""
            try await auth.requireAPIAccess(request, site: site)
            return try await queries.answer([.site(site)], context) { try await handler(request, context) }
        }
    }

    /// Access is checked by `gated` before this runs.
    private func parse(_ request: Request) async throws -> (SiteRules, StatsRequest, [String: String]) {
        let q = SitePagesController.query(request)
        guard let domain = q["site"], !domain.isEmpty else { throw APIError(.badRequest, "missing_site", "site is required") }
        guard let site = catalog.site(domain) else { throw APIError(.notFound, "unknown_site", "there is no site \"\(domain)\" in the config") }
        return (site, try StatsRequest.parse(site: site.key, rules: site.analytics, query: q, now: clock.nowMillis()), q)
    }

    private static func limit(_ q: [String: String]) throws(APIError) -> Int {
        guard let text = q["limit"] else { return 100 }
        guard let n = Int(text), (1...10_000).contains(n) else { throw APIError(.badRequest, "invalid_limit", "limit must be 1 to 10000") }
        return n
    }

    @Sendable func overview(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (_, stats, _) = try await parse(request)
        return try .json(OverviewAnswer(try await DashboardData.load(stats: self.stats, request: stats, now: clock.nowMillis())))
    }

    @Sendable func breakdown(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (_, stats, q) = try await parse(request)
        guard let name = q["dim"], let dim = StatsDimension(rawValue: name) else {
            throw APIError(.badRequest, "invalid_dim", "dim must be one of " + StatsDimension.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let b = try await self.stats.breakdown(stats.scope, dim, limit: try Self.limit(q), offset: try SitePagesController.offset(q))
        if q["format"] == "csv" {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: SitePagesController.csv(dim, b))))
        }
        return try .json(BreakdownAnswer(dim: dim.rawValue, total: b.total, rows: RowAnswer.list(b.rows)))
    }

    @Sendable func series(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (_, stats, q) = try await parse(request)
        var granularity = stats.range.granularity
        if let g = q["granularity"] {
            guard let parsed = Granularity(rawValue: g) else { throw APIError(.badRequest, "invalid_granularity", "granularity must be hour, day, week or month") }
            guard parsed != .hour || stats.range.days <= 31 else { throw APIError(.badRequest, "invalid_granularity", "hourly series cover at most 31 days") }
            granularity = parsed
        }
        let points = try await self.stats.series(stats.scope, granularity: granularity)
        return try .json(SeriesAnswer(timezone: stats.calendar.identifier, granularity: granularity.rawValue, series: points.map { PointAnswer($0, calendar: stats.calendar) }))
    }

    @Sendable func realtime(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (_, stats, _) = try await parse(request)
        let rt = try await self.stats.realtime(site: stats.site, now: clock.nowMillis())
        return try .json(RealtimeAnswer(visitors: rt.visitors, pages: RowAnswer.list(rt.pages)))
    }

    @Sendable func properties(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (_, stats, q) = try await parse(request)
        guard let event = q["event"], !event.isEmpty else { throw APIError(.badRequest, "missing_event", "event is required") }
        let keys = try await self.stats.propertyKeys(stats.scope, event: event)
        guard let key = q["key"] else {
            return try .json(PropertyKeysAnswer(event: event, keys: keys))
        }
        let b = try await self.stats.propertyBreakdown(stats.scope, event: event, key: key, limit: try Self.limit(q), offset: try SitePagesController.offset(q))
        return try .json(PropertyAnswer(event: event, key: key, total: b.total, rows: RowAnswer.list(b.rows)))
    }

    @Sendable func funnel(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (site, stats, q) = try await parse(request)
        let steps: [Goal], window: Int?
        if let name = q["name"] {
            guard let f = site.analytics.funnels.first(where: { $0.name == name }) else { throw APIError(.notFound, "unknown_funnel", "no funnel \"\(name)\" for this site") }
            steps = f.steps.compactMap { site.analytics.goal(named: $0) }
            window = f.windowMinutes
        } else if let text = q["steps"] {
            steps = try SitePagesController.adhocSteps(text, rules: site.analytics)
            window = nil
        } else {
            throw APIError(.badRequest, "missing_funnel", "give name=<funnel> or steps=<step>|<step>…")
        }
        let result = try await self.stats.funnel(stats.scope, steps: steps, windowMinutes: window)
        return try .json(FunnelAnswer(steps: result.map { .init(step: $0.goal, visitors: $0.visitors, sessions: $0.sessions) }))
    }

    @Sendable func journey(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (_, stats, q) = try await parse(request)
        guard let at = q["at"], !at.isEmpty else { throw APIError(.badRequest, "missing_page", "at=<path> is required") }
        guard at.count <= 2048 else { throw APIError(.badRequest, "invalid_page", "at is longer than 2048 characters") }
        let j = try await self.stats.journey(stats.scope, page: at, limit: try Self.limit(q))
        return try .json(JourneyAnswer(at: at, previous: RowAnswer.list(j.previous), next: RowAnswer.list(j.next)))
    }

    @Sendable func cohorts(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (site, stats, _) = try await parse(request)
        let c = try await self.stats.cohorts(site: stats.site, fromDay: stats.range.fromDay, toDay: stats.range.toDay, calendar: stats.calendar)
        return try .json(CohortsAnswer(identity: site.identity.rawValue, timezone: stats.calendar.identifier, cohorts: c.map {
            .init(week: DayCalendar.dateString($0.weekStartDay), size: $0.size, active: $0.active)
        }))
    }
}
