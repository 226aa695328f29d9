import Hummingbird
import NIOCore
import Privacy
import Storage

/// `GET /api/export/events?site=S&from=D&to=D`: a site's raw events as gzip-compressed
/// NDJSON (the format `veil export events` writes), streamed as it is read. API token only:
/// it is every event of the site.
struct EventExportController: Sendable {
    let catalog: SiteCatalog
    let auth: DashboardAuth
    let exporter: EventExporter

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("events", use: events)
        routes.onlyAllow("events", [.get])
        return routes
    }

    @Sendable func events(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard auth.hasAPIToken(request) else {
            throw APIError(.unauthorized, "unauthorized", "the raw-event export needs Authorization: Bearer <api.token>", headers: [.wwwAuthenticate: "Bearer"])
        }
        let q = request.uri.queryParameters
        guard let name = q["site"].map(String.init), let site = catalog.site(name) else {
            throw APIError(.badRequest, "unknown_site", "site must be one of the configured sites")
        }
        let range: Range<Int64>
        do { range = try EventExporter.range(from: q["from"].map(String.init), to: q["to"].map(String.init), calendar: site.analytics.calendar) } catch {
            throw APIError(.badRequest, "invalid_range", error.message)
        }
        let exporter = self.exporter, logger = context.logger, key = site.key
        return Response(status: .ok, headers: [.contentType: "application/gzip", .contentDisposition: "attachment; filename=\"veil-events-\(key).ndjson.gz\"",
                                               .cacheControl: "no-store"],
                        body: ResponseBody { writer in
                            do {
                                _ = try await exporter.write(site: key, from: range.lowerBound, to: range.upperBound) { try await writer.write(ByteBuffer(bytes: $0)) }
                            } catch {
                                // The status is sent already; a truncated gzip stream is what the client sees.
                                logger.error("event export stream failed", metadata: ["site": "\(key)", "error": "\(error)"])
                                throw error
                            }
                            try await writer.finish(nil)
                        })
    }
}
