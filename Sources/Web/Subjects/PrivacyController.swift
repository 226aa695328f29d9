import Hummingbird
import Logging
import NIOCore
import Privacy
import Storage

/// Data-subject export (`GET`) and erasure (`POST`, bearer token only, so no CSRF).
struct PrivacyController: Sendable {
    let catalog: SiteCatalog
    let auth: DashboardAuth
    let requests: PrivacyRequests

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("export", use: export)
        routes.post("erase", use: erase)
        routes.onlyAllow("export", [.get])
        routes.onlyAllow("erase", [.post])
        return routes
    }

    @Sendable func export(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await auth.requireAPIAccessForChange(request, admin: true)
        let q = request.uri.queryParameters
        let (site, subject) = try selector(site: q["site"].map(String.init), session: q["session"].map(String.init),
                                           visitor: q["visitor"].map(String.init), user: q["user"].map(String.init))
        let actor = auth.hasAPIToken(request) ? "api token" : (try await auth.signedIn(request)?.user.username ?? "dashboard")
        return exportResponse(try await requests.export(site: site, subject: subject, actor: actor), site: site, subject: subject, logger: context.logger)
    }

    @Sendable func erase(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard auth.hasAPIToken(request) else {
            throw APIError(.unauthorized, "unauthorized", "erasure through the API needs Authorization: Bearer <api.token>", headers: [.wwwAuthenticate: "Bearer"])
        }
        let body = try await request.body.collect(upTo: 4096)
        let json: JSONValue
        do { json = try JSONParser.parse(Array(body.readableBytesView)) } catch { throw APIError.json(error, expected: "{\"site\": …, \"session\": …}") }
        let (site, subject) = try selector(site: json["site"]?.stringValue, session: json["session"].flatMap { $0.scalarText },
                                           visitor: json["visitor"]?.stringValue, user: json["user"]?.stringValue)
        let counts = try await requests.erase(site: site, subject: subject, actor: "api token")
        context.logger.notice("erased a data subject", metadata: ["site": "\(site)", "events": "\(counts["events"] ?? 0)", "sessions": "\(counts["sessions"] ?? 0)"])
        return try .json(ErasedAnswer(erased: counts))
    }

    private func selector(site: String?, session: String?, visitor: String?, user: String?) throws -> (String, Subject) {
        guard let site, let rules = catalog.site(site) else { throw APIError(.badRequest, "unknown_site", "site must be one of the configured sites") }
        let domain = rules.key
        return (domain, try requests.subject(site: domain, session: session, visitor: visitor, user: user))
    }
}

/// An export as a download: JSON, or a zip for large subjects, streamed as it is written.
func exportResponse(_ export: PrivacyRequests.Export, site: String, subject: Subject, logger: Logger) -> Response {
    let name = "veil-export-\(site)-\(subject.kind).\(export.fileExtension)"
    let type = export.format == .zip ? "application/zip" : "application/json; charset=utf-8"
    return Response(status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"\(name)\"", .cacheControl: "no-store"],
                    body: ResponseBody { writer in
                        do {
                            try await export.write { try await writer.write(ByteBuffer(bytes: $0)) }
                        } catch {
                            // The status is sent already; ending early (a truncated file) is all that is left.
                            logger.error("export stream failed", metadata: ["site": "\(site)", "error": "\(error)"])
                            throw error
                        }
                        try await writer.finish(nil)
                    })
}

/// What an erasure deleted, rows per table.
struct ErasedAnswer: Encodable {
    var erased: [String: Int]
}
