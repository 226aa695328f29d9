import Hummingbird
import NIOCore
import Privacy
import Storage
import VeilAssets

/// Health, metrics, embedded assets, the tracker and the demo page.
struct SystemController: Sendable {
    let config: VeilConfig
    let database: VeilDatabase
    let auth: DashboardAuth
    let counters: IngestCounters
    let writer: EventWriter
    let pages: PageRenderer
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
        routes.get(RouterPath(config.trackerPath), use: trackerScript)
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
            return .json(status: .serviceUnavailable, "{\"status\":\"error\",\"database\":\"unavailable\"}")
        }
        return .json("{\"status\":\"ok\",\"database\":\"ok\",\"queued_events\":\(await writer.queuedEvents)}")
    }

    @Sendable func metrics(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccess(request, apiToken: config.apiToken)
        var text = await counters.prometheusText()
        text += "# TYPE veil_write_queue_events gauge\nveil_write_queue_events \(await writer.queuedEvents)\n"
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: .init(string: text)))
    }

    @Sendable func trackerScript(_ request: Request, context: VeilRequestContext) async throws -> Response {
        // Any site may load the tracker; it is public and holds no secrets.
        tracker.response(to: request, extraHeaders: [.accessControlAllowOrigin: "*"])
    }

    @Sendable func demo(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let replay = config.site("localhost")?.replay
        return .html(pages.render(DemoPage(trackerPath: config.trackerPath, replay: replay?.enabled == true, replayRate: "\(replay?.sampleRate ?? 0)"), template: "demo"))
    }
}
