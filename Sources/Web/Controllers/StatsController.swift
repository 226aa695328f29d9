import Hummingbird
import Privacy
import Storage

/// The JSON stats API (`/api/stats/...`), for a bearer token or a signed-in session.
struct StatsController: Sendable {
    let config: VeilConfig
    let database: VeilDatabase
    let auth: DashboardAuth
    let clock: TimeSource

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("overview", use: overview)
        return routes
    }

    @Sendable func overview(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccess(request, apiToken: config.apiToken)
        let q = request.uri.queryParameters
        guard let domain = q["site"].map(String.init), !domain.isEmpty else { throw APIError(.badRequest, "missing_site", "site is required") }
        guard let site = config.site(domain) else { throw APIError(.notFound, "unknown_site", "there is no site \"\(domain)\" in the config") }
        let range = try OverviewRange.resolve(range: q["range"].map(String.init), from: q["from"].map(String.init), to: q["to"].map(String.init), now: clock.nowMillis())
        let data = try await OverviewData.load(database: database, site: site.domain.lowercased(), range: range)
        return .json(data.json)
    }
}
