import Hummingbird
import NIOCore
import Privacy
import Storage
import VeilAssets

/// Health, metrics, embedded assets, the tracker and the demo page.
struct SystemController: Sendable {
    let catalog: SiteCatalog
    /// Where the tracker is served (`tracker_path`).
    let trackerPath: String
    let database: VeilDatabase
    let auth: DashboardAuth
    let counters: IngestCounters
    let writer: EventWriter
    let pages: PageRenderer
    let gate: AdmissionGate
    let connections: ConnectionStats
    let queries: QueryLimiter
    let deadlines: DeadlineStats
    let tracker = StaticAsset(EmbeddedAssets.trackerJS, contentType: "text/javascript; charset=utf-8")
    let autocapture = StaticAsset(EmbeddedAssets.autocaptureJS, contentType: "text/javascript; charset=utf-8")
    let recorder = StaticAsset(EmbeddedAssets.recorderJS, contentType: "text/javascript; charset=utf-8")
    let player = StaticAsset(EmbeddedAssets.playerJS, contentType: "text/javascript; charset=utf-8")
    let stylesheet = StaticAsset(EmbeddedAssets.stylesheet, contentType: "text/css; charset=utf-8")
    let demoJS = StaticAsset(EmbeddedAssets.demoJS, contentType: "text/javascript; charset=utf-8")
    let demoQueueJS = StaticAsset(EmbeddedAssets.demoQueueJS, contentType: "text/javascript; charset=utf-8")

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("healthz", use: health)
        routes.get("metrics", use: metrics)
        routes.onlyAllow("healthz", [.get])
        routes.onlyAllow("metrics", [.get])
        routes.get(RouterPath(trackerPath), use: trackerScript)
        routes.get("va.js") { [autocapture] request, _ in autocapture.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"]) }
        routes.get("vr.js") { [recorder] request, _ in recorder.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"]) }
        routes.get("assets/vp.js") { [player] request, _ in player.response(to: request) }
        routes.get("assets/veil.css") { [stylesheet] request, _ in stylesheet.response(to: request) }
        routes.get("assets/demo.js") { [demoJS] request, _ in demoJS.response(to: request) }
        routes.get("assets/demo-queue.js") { [demoQueueJS] request, _ in demoQueueJS.response(to: request) }
        routes.get("demo", use: demo)
        routes.get("demo/**", use: demo)
        return routes
    }

    @Sendable func health(_ request: Request, context: VeilRequestContext) async throws -> Response {
        do {
            try await database.health()
        } catch {
            context.logger.error("health check failed", metadata: ["error": "\(error)"])
            return try .json(status: .serviceUnavailable, HealthAnswer(status: "error", database: "unavailable"))
        }
        if let failure = await writer.commitFailure {
            // Reads work but commits fail (disk full, read-only, locked): ingest cannot
            // acknowledge anything, so the instance is not healthy.
            return try .json(status: .serviceUnavailable, HealthAnswer(status: "error", database: "commits_failing", reason: String(failure.prefix(300))))
        }
        return try .json(HealthAnswer(status: "ok", database: "ok", queuedEvents: await writer.queuedEvents))
    }

    @Sendable func metrics(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccess(request)
        var text = await counters.prometheusText()
        text += "# TYPE veil_write_queue_events gauge\nveil_write_queue_events \(await writer.queuedEvents)\n"
        text += "# TYPE veil_commits_failed_total counter\nveil_commits_failed_total \(writer.failedCommits.load(ordering: .relaxed))\n"
        let flight = gate.inFlight
        text += "# TYPE veil_ingest_in_flight_requests gauge\nveil_ingest_in_flight_requests \(flight.requests)\n"
        text += "# TYPE veil_ingest_in_flight_bytes gauge\nveil_ingest_in_flight_bytes \(flight.bytes)\n"
        let conns = connections.snapshot
        text += "# TYPE veil_http_connections_open gauge\nveil_http_connections_open \(conns.open)\n"
        text += "# TYPE veil_http_connections_peak gauge\nveil_http_connections_peak \(conns.peak)\n"
        text += "# TYPE veil_http_connection_cap_reached_total counter\nveil_http_connection_cap_reached_total \(conns.capHits)\n"
        let timeouts = deadlines.snapshot
        text += "# TYPE veil_http_deadline_closed_total counter\n"
        for phase in DeadlineStats.Phase.allCases { text += "veil_http_deadline_closed_total{phase=\"\(phase.rawValue)\"} \(timeouts[phase] ?? 0)\n" }
        let q = queries.stats
        text += "# TYPE veil_queries_running gauge\nveil_queries_running \(q.running)\n"
        text += "# TYPE veil_queries_waiting gauge\nveil_queries_waiting \(q.waiting)\n"
        text += "# TYPE veil_queries_refused_total counter\n"
        for reason in [QueryRefusal.site, .shareLink, .busy] { text += "veil_queries_refused_total{reason=\"\(reason.rawValue)\"} \(q.refused[reason] ?? 0)\n" }
        text += "# TYPE veil_queries_cancelled_total counter\nveil_queries_cancelled_total \(q.cancelled)\n"
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: .init(string: text)))
    }

    @Sendable func trackerScript(_ request: Request, context: VeilRequestContext) async throws -> Response {
        // Any site may load the tracker; it is public and holds no secrets.
        tracker.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"])
    }

    @Sendable func demo(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let replay = catalog.site("localhost")?.replay
        return .html(pages.render(DemoPage(trackerPath: trackerPath, replay: replay?.enabled == true, replayRate: "\(replay?.sampleRate ?? 0)"), template: "demo"))
    }
}

/// `/healthz`: whether the database answers and commits succeed.
struct HealthAnswer: Encodable {
    var status: String
    var database: String
    var reason: String?
    var queuedEvents: Int?

    enum CodingKeys: String, CodingKey {
        case status, database, reason
        case queuedEvents = "queued_events"
    }
}
