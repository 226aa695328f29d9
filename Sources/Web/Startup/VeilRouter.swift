import Foundation
import Hummingbird
import Privacy
import Storage
import Synchronization

/// What lives as long as the process, whatever a reloaded config says: the database and
/// its writer, counters and limiters whose state must not reset, and the renderer.
struct ServerParts: Sendable {
    let database: VeilDatabase
    let stats: any StatsStore
    /// The ClickHouse outbox's figures (nil with SQLite).
    let outbox: OutboxGauge?
    /// The subjects' events in ClickHouse (nil with SQLite).
    let clickhouseSubjects: ClickHouseSubjects?
    let secret: [UInt8]
    let sites: LiveSites
    let writer: EventWriter
    let salts: SaltKeeper
    let counters: IngestCounters
    let pages: PageRenderer
    let throttle: LoginThrottle
    let connections: ConnectionStats
    let queries: QueryLimiter
    let deadlines: DeadlineStats
    let admission: AdmissionGate
    let clientLimits: TokenBuckets
    let siteLimits: TokenBuckets
    /// Hashed against when a sign-in names no user, so both cases cost the same.
    let dummyHash: String
    let metrics: VeilMetrics
    /// The served certificate when Veil itself terminates TLS.
    let certificates: CertificateStore?
    let environment: VeilEnvironment

    /// `/metrics`: behind `auth` and `token` on the main listener, open (nil) on `metrics.listen`.
    func metricsController(auth: DashboardAuth?, token: String) -> MetricsController {
        MetricsController(auth: auth, metricsToken: token, metrics: metrics, database: database, counters: counters, writer: writer, outbox: outbox, gate: admission,
                          connections: connections, queries: queries, deadlines: deadlines, clock: environment.clock)
    }
}

/// The separate metrics listener (`metrics.listen`): `/metrics` alone, without sign-in.
func makeMetricsRouter(parts: ServerParts) -> Router<VeilRequestContext> {
    let router = Router(context: VeilRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware())
    router.addRoutes(parts.metricsController(auth: nil, token: "").endpoints)
    return router
}

/// Every route, built from one configuration. A reload builds a new router and swaps it
/// in (see `RouterSwitch`); requests under way finish on the one they started on.
func makeRouter(config: VeilConfig, geo: MMDB?, parts: ServerParts) throws -> Router<VeilRequestContext> {
    let database = parts.database, stats = parts.stats, secret = parts.secret, counters = parts.counters, pages = parts.pages
    let clock = parts.environment.clock, random = parts.environment.random
    let addresses = try ClientAddressResolver(trustedProxies: config.trustedProxies)
    let auth = DashboardAuth(database: database, secret: secret, secureCookies: config.secureCookies, apiToken: config.apiToken, clock: clock, random: random)
    let catalog = config.catalog

    let router = Router(context: VeilRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(metrics: parts.metrics))
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: SecureCookieMiddleware(tls: parts.certificates != nil, addresses: addresses))
    router.add(middleware: ErrorMiddleware(pages: pages))
    let ingestGate = IngestGate(sites: config.sites, queryAllowlist: config.queryAllowlist, salts: parts.salts, counters: counters, addresses: addresses, clock: clock,
                                secret: secret, geo: geo, admission: parts.admission, clientLimits: parts.clientLimits, clientTimes: config.limits.clientTimes)
    let runner = IngestRunner(writer: parts.writer, database: database, counters: counters, gate: ingestGate, siteLimits: parts.siteLimits, limits: config.limits)
    router.addRoutes(IngestController(limits: config.limits, parser: EventParser(limits: config.limits), gate: ingestGate, runner: runner).endpoints, atPath: "/api")
    // Other analytics clients' protocols, each an adapter onto the same runner.
    let sdkKeys = SDKKeyMap(sites: config.sites)
    router.addRoutes(PostHogController(limits: config.limits, adapter: PostHogAdapter(limits: config.limits, keys: sdkKeys), gate: ingestGate, runner: runner,
                                       counters: counters).endpoints)
    router.addRoutes(SegmentController(adapter: SegmentAdapter(limits: config.limits, keys: sdkKeys), gate: ingestGate, runner: runner, counters: counters).endpoints)
    router.addRoutes(UmamiController(limits: config.limits, adapter: UmamiAdapter(limits: config.limits, keys: sdkKeys), gate: ingestGate, runner: runner).endpoints,
                     atPath: "/api")
    router.addRoutes(ReplayController(catalog: catalog, limits: config.limits, sessionTimeoutMillis: config.writer.sessionTimeoutMillis, database: database, auth: auth, gate: ingestGate,
                                      counters: counters, clock: clock, secret: secret, random: random).endpoints, atPath: "/api")
    router.addRoutes(FeedbackIngest(catalog: catalog, limits: config.limits, sessionTimeoutMillis: config.writer.sessionTimeoutMillis, database: database, outbox: parts.outbox,
                                    outboxLimit: config.clickhouse.outboxMaxEvents,
                                    runner: runner, gate: ingestGate, counters: counters, clock: clock).endpoints, atPath: "/api")
    let feedback = FeedbackController(catalog: catalog, stats: stats, auth: auth, pages: pages, clock: clock, queries: parts.queries)
    router.addRoutes(feedback.apiRoutes, atPath: "/api/stats")
    router.addRoutes(feedback.pageRoutes)
    let heatmaps = HeatmapController(catalog: catalog, database: database, stats: stats, auth: auth, pages: pages, clock: clock, queries: parts.queries)
    router.addRoutes(heatmaps.apiRoutes, atPath: "/api/stats")
    router.addRoutes(heatmaps.pageRoutes)
    router.addRoutes(StatsController(catalog: catalog, stats: stats, auth: auth, clock: clock, queries: parts.queries).endpoints, atPath: "/api/stats")
    let privacyRequests = PrivacyRequests(database: database, clock: clock, secret: secret, rules: config.sites.analyticsRules, clickhouse: parts.clickhouseSubjects)
    router.addRoutes(PrivacyController(catalog: catalog, auth: auth, requests: privacyRequests).endpoints, atPath: "/api/privacy")
    router.addRoutes(EventExportController(catalog: catalog, auth: auth, exporter: EventExporter(database: database)).endpoints, atPath: "/api/export")
    router.addRoutes(PrivacyPagesController(catalog: catalog, database: database, auth: auth, counters: counters, requests: privacyRequests, pages: pages).endpoints)
    router.addRoutes(SystemController(catalog: catalog, trackerPath: config.trackerPath, database: database, auth: auth, writer: parts.writer, pages: pages).endpoints)
    router.addRoutes(parts.metricsController(auth: auth, token: config.metricsToken).endpoints)
    router.addRoutes(ReplayPagesController(catalog: catalog, database: database, stats: stats, auth: auth, pages: pages, clock: clock, random: random, secret: secret).endpoints)
    router.addRoutes(SitePagesController(catalog: catalog, snippet: config.snippet, geoConfigured: !config.geoipDatabase.isEmpty, database: database, stats: stats, auth: auth,
                                         pages: pages, clock: clock, queries: parts.queries).endpoints)
    router.addRoutes(AccountsController(catalog: catalog, database: database, auth: auth, passwords: parts.environment.passwordHasher, pages: pages, clock: clock,
                                        random: random).endpoints)
    router.addRoutes(DashboardController(catalog: catalog, snippet: config.snippet, database: database, stats: stats, auth: auth, throttle: parts.throttle,
                                         passwords: parts.environment.passwordHasher, pages: pages, addresses: addresses, clock: clock, dummyHash: parts.dummyHash).endpoints)
    return router
}

/// The application's responder: the router of the configuration in force, replaced as a
/// whole by a reload. Each request takes the router current when it arrives.
final class RouterSwitch: HTTPResponder, Sendable {
    typealias Context = VeilRequestContext
    private let current: Mutex<RouterResponder<VeilRequestContext>>

    init(_ responder: RouterResponder<VeilRequestContext>) {
        current = Mutex(responder)
    }

    func replace(with responder: RouterResponder<VeilRequestContext>) {
        current.withLock { $0 = responder }
    }

    func respond(to request: Request, context: VeilRequestContext) async throws -> Response {
        let responder = current.withLock { $0 }
        return try await responder.respond(to: request, context: context)
    }
}
