import Hummingbird
import Privacy
import Storage

/// Segment's tracking API (`/v1/batch`, `/v1/track`, `page`, `screen`, `identify`, `group`,
/// `alias`), so Segment's sources send to Veil by changing their host. The write key comes
/// from HTTP Basic auth or the body's `writeKey`. Segment's limits (32 KB per call and per
/// message, 500 KB per batch) are answered as Segment does, with a 400; answers are
/// `{"success": true}` and errors `{"success": false, "message", "code"}`.
struct SegmentController: Sendable {
    let adapter: SegmentAdapter
    let gate: IngestGate
    let runner: IngestRunner
    let counters: IngestCounters

    static let calls = ["track", "page", "screen", "identify", "group", "alias"]

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("v1/batch") { request, context in try await receive(request, context, call: nil) }
        for call in Self.calls {
            routes.post(RouterPath("v1/" + call)) { request, context in try await receive(request, context, call: call) }
        }
        for path in ["batch"] + Self.calls {
            gate.ingestRoute(routes, RouterPath("v1/" + path), allowHeaders: "Content-Type, Content-Encoding, Authorization")
        }
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head, .options] {
            routes.on("v1/**", method: method) { request, _ in
                await counters.recordUnknownPath(request.uri.path, protocol: "segment")
                return Self.error(APIError(.notFound, "not_found", "Veil serves Segment's /v1/batch, /v1/track, /v1/page, /v1/screen, /v1/identify, /v1/group and /v1/alias"))
            }
        }
        return routes
    }

    func receive(_ request: Request, _ context: VeilRequestContext, call: String?) async throws -> Response {
        let limit = call == nil ? SegmentAdapter.batchBytes : SegmentAdapter.callBytes
        do {
            return try await gate.admitted(request, context, limit: limit) { body in
                let root: JSONValue
                do { root = try JSONParser.parse(body) } catch {
                    throw await gate.reject(IngestRejection(.invalidJSON, "the body is not valid JSON: \(error)"))
                }
                let items: [SDKItem]
                do {
                    items = try adapter.items(root, call: call, basicKey: Self.basicUser(request), receivedAt: gate.clock.nowMillis())
                } catch let rejection as IngestRejection {
                    throw await gate.reject(rejection)
                }
                _ = try await runner.run(items, request: request, context: context)
                return .json(status: .ok, "{\"success\":true}", headers: gate.cors(request, site: items.first?.site))
            }
        } catch let error as APIError {
            var response = Self.error(error)
            for field in gate.cors(request, site: nil) { response.headers[field.name] = field.value }
            return response
        }
    }

    /// The user name of `Authorization: Basic base64(writeKey:)`.
    static func basicUser(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("basic ") else { return nil }
        guard let decoded = WireText.base64Decoded(Array(header.dropFirst(6).trimmingCharacters(in: .whitespaces).utf8)) else { return nil }
        let user = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return user.isEmpty ? nil : user
    }

    /// Segment's error shape; its size limits are a 400, as Segment answers them.
    static func error(_ error: APIError) -> Response {
        let status: HTTPResponse.Status = error.status == .contentTooLarge ? .badRequest : error.status
        let body = "{\"success\":false,\"message\":\(JSONWriter.string(error.detail)),\"code\":\(JSONWriter.string(error.code)),\"error\":\(JSONWriter.string(error.code))}"
        var response = Response.json(status: status, body)
        for field in error.headers { response.headers.append(field) }
        return response
    }
}
