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

/// Data-subject export (`GET`) and erasure (`POST`, bearer token only, so no CSRF).
struct PrivacyController: Sendable {
    let config: VeilConfig
    let auth: DashboardAuth
    let requests: PrivacyRequests

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("export", use: export)
        routes.post("erase", use: erase)
        return routes
    }

    @Sendable func export(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccess(request, apiToken: config.apiToken)
        let q = request.uri.queryParameters
        let (site, subject) = try selector(site: q["site"].map(String.init), session: q["session"].map(String.init),
                                           visitor: q["visitor"].map(String.init), user: q["user"].map(String.init))
        let actor = DashboardAuth.bearerMatches(request, token: config.apiToken) ? "api token" : (try await auth.signedIn(request)?.user.username ?? "dashboard")
        return exportResponse(try await requests.export(site: site, subject: subject, actor: actor), site: site, subject: subject)
    }

    @Sendable func erase(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard DashboardAuth.bearerMatches(request, token: config.apiToken) else {
            throw APIError(.unauthorized, "unauthorized", "erasure through the API needs Authorization: Bearer <api.token>", headers: [.wwwAuthenticate: "Bearer"])
        }
        let body = try await request.body.collect(upTo: 4096)
        let json: JSONValue
        do { json = try JSONParser.parse(Array(body.readableBytesView)) } catch { throw APIError(.badRequest, "invalid_json", "send {\"site\": …, \"session\": …}") }
        let (site, subject) = try selector(site: json["site"]?.stringValue, session: json["session"].flatMap { $0.scalarText },
                                           visitor: json["visitor"]?.stringValue, user: json["user"]?.stringValue)
        let counts = try await requests.erase(site: site, subject: subject, actor: "api token")
        context.logger.notice("erased a data subject", metadata: ["site": "\(site)", "events": "\(counts["events"] ?? 0)", "sessions": "\(counts["sessions"] ?? 0)"])
        let rows = counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        return .json("{\"erased\":{\(rows)}}")
    }

    private func selector(site: String?, session: String?, visitor: String?, user: String?) throws -> (String, Subject) {
        guard let site, let rules = config.site(site) else { throw APIError(.badRequest, "unknown_site", "site must be one of the configured sites") }
        let domain = rules.domain.lowercased()
        return (domain, try requests.subject(site: domain, session: session, visitor: visitor, user: user))
    }
}

/// An export as a download: JSON, or a zip for large subjects.
func exportResponse(_ file: PrivacyRequests.ExportFile, site: String, subject: Subject) -> Response {
    let name = "veil-export-\(site)-\(subject.kind).\(file.fileExtension)"
    let disposition = "attachment; filename=\"\(name)\""
    switch file {
    case .json(let text): return .json(text, headers: [.contentDisposition: disposition])
    case .zip(let bytes):
        return Response(status: .ok, headers: [.contentType: "application/zip", .contentDisposition: disposition, .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Health, metrics, embedded assets, the tracker and the demo page.
struct SystemController: Sendable {
    let config: VeilConfig
    let database: VeilDatabase
    let auth: DashboardAuth
    let counters: IngestCounters
    let writer: EventWriter
    let pages: PageRenderer

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("healthz", use: health)
        routes.get("metrics", use: metrics)
        routes.get(RouterPath(config.trackerPath), use: tracker)
        routes.get("assets/veil.css") { _, _ in asset(EmbeddedAssets.stylesheet, type: "text/css; charset=utf-8") }
        routes.get("assets/demo.js") { _, _ in asset(EmbeddedAssets.demoJS, type: "text/javascript; charset=utf-8") }
        routes.get("assets/demo-queue.js") { _, _ in asset(EmbeddedAssets.demoQueueJS, type: "text/javascript; charset=utf-8") }
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

    @Sendable func tracker(_ request: Request, context: VeilRequestContext) async throws -> Response {
        var response = asset(EmbeddedAssets.trackerJS, type: "text/javascript; charset=utf-8")
        // Any site may load the tracker; it is public and holds no secrets.
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }

    @Sendable func demo(_ request: Request, context: VeilRequestContext) async throws -> Response {
        .html(pages.render(DemoPage(trackerPath: config.trackerPath), template: "demo"))
    }
}

import NIOCore
import VeilAssets

func asset(_ bytes: [UInt8], type: String) -> Response {
    Response(status: .ok, headers: [.contentType: type, .cacheControl: "public, max-age=3600"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
}
