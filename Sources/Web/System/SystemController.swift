import Hummingbird
import NIOCore
import Privacy
import Storage
import VeilAssets

/// Health, embedded assets, the tracker and the demo page.
struct SystemController: Sendable {
    let catalog: SiteCatalog
    /// Where the tracker is served (`tracker_path`).
    let trackerPath: String
    let database: VeilDatabase
    let auth: DashboardAuth
    let writer: EventWriter
    let pages: PageRenderer
    let tracker = StaticAsset(EmbeddedAssets.trackerJS, contentType: "text/javascript; charset=utf-8")
    let autocapture = StaticAsset(EmbeddedAssets.autocaptureJS, contentType: "text/javascript; charset=utf-8")
    let recorder = StaticAsset(EmbeddedAssets.recorderJS, contentType: "text/javascript; charset=utf-8")
    let widget = StaticAsset(EmbeddedAssets.feedbackJS, contentType: "text/javascript; charset=utf-8")
    let heatmap = StaticAsset(EmbeddedAssets.heatmapJS, contentType: "text/javascript; charset=utf-8")
    let player = StaticAsset(EmbeddedAssets.playerJS, contentType: "text/javascript; charset=utf-8")
    let stylesheet = StaticAsset(EmbeddedAssets.stylesheet, contentType: "text/css; charset=utf-8")
    let demoJS = StaticAsset(EmbeddedAssets.demoJS, contentType: "text/javascript; charset=utf-8")
    let demoQueueJS = StaticAsset(EmbeddedAssets.demoQueueJS, contentType: "text/javascript; charset=utf-8")

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("healthz", use: health)
        routes.onlyAllow("healthz", [.get])
        routes.get(RouterPath(trackerPath), use: trackerScript)
        routes.get("va.js") { [autocapture] request, _ in autocapture.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"]) }
        routes.get("vr.js") { [recorder] request, _ in recorder.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"]) }
        routes.get("vf.js") { [widget] request, _ in widget.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"]) }
        routes.get("assets/vp.js") { [player] request, _ in player.response(to: request) }
        routes.get("assets/hm.js") { [heatmap] request, _ in heatmap.response(to: request) }
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

    @Sendable func trackerScript(_ request: Request, context: VeilRequestContext) async throws -> Response {
        // Any site may load the tracker; it is public and holds no secrets.
        tracker.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"])
    }

    @Sendable func demo(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let replay = catalog.site("localhost")?.replay
        return .html(pages.render(DemoPage(trackerPath: trackerPath, replay: replay?.enabled == true, replayRate: "\(replay?.sampleRate ?? 0)",
                                                   feedback: catalog.site("localhost")?.feedback.enabled == true), template: "demo"))
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
