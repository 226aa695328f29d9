import Hummingbird
import Privacy
import Storage

/// PostHog's capture endpoints, so posthog-js, posthog-python and the other SDKs send to
/// Veil unchanged (their `host` set to Veil's URL). Each request becomes items for the one
/// ingest pipeline (`PostHogAdapter`); answers and errors are in the shapes PostHog's
/// clients read: `{"status": 1}` for v0, a per-event results map for v1, and
/// `{"type", "code", "detail"}` errors.
struct PostHogController: Sendable {
    let limits: IngestLimits
    let adapter: PostHogAdapter
    let gate: IngestGate
    let runner: IngestRunner
    let counters: IngestCounters

    static let capturePaths = ["batch", "capture", "e", "track", "i/v0/e"]
    static let v1Path = "i/v1/analytics/events"

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        for path in Self.capturePaths {
            routes.post(RouterPath(path)) { request, context in try await receive(request, context, endpoint: .capture) }
        }
        routes.post("engage") { request, context in try await receive(request, context, endpoint: .engage) }
        routes.post(RouterPath(Self.v1Path)) { request, context in try await receive(request, context, endpoint: .v1) }
        for path in Self.capturePaths + ["engage", Self.v1Path] {
            gate.ingestRoute(routes, RouterPath(path), allowHeaders: "Content-Type, Content-Encoding, Authorization")
        }
        // Everything else under PostHog's prefixes (feature flags, recordings, surveys…)
        // is named in the log once, so an operator sees what a client expects.
        for path in ["i/**", "decide/**", "flags/**", "s/**", "decide", "flags", "s"] {
            for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch, .head, .options] {
                routes.on(RouterPath(path), method: method) { request, _ in
                    await counters.recordUnknownPath(request.uri.path, protocol: "posthog")
                    return Self.error(APIError(.notFound, "not_found", "Veil serves PostHog's capture endpoints only (/batch/, /capture/, /e/, /i/v0/e/, /track/, /engage/, /\(Self.v1Path)); feature flags, recordings and surveys are not available"))
                }
            }
        }
        return routes
    }

    func receive(_ request: Request, _ context: VeilRequestContext, endpoint: PostHogAdapter.Endpoint) async throws -> Response {
        do {
            return try await gate.admitted(request, context, limit: limits.batchBodyBytes, mediaTypes: .jsonOrForm) { body in
                let json = try await payload(body, request: request)
                let root: JSONValue
                do { root = try JSONParser.parse(json) } catch {
                    throw await gate.reject(IngestRejection(.invalidJSON, "the body is not valid JSON: \(error)"))
                }
                let items: [SDKItem]
                do {
                    let query = request.uri.queryParameters
                    items = try adapter.items(root, endpoint: endpoint, bearer: Self.bearer(request), queryKey: query["api_key"].map(String.init),
                                              querySentAt: query["_"].flatMap { Int64($0) }, receivedAt: gate.clock.nowMillis())
                } catch let rejection as IngestRejection {
                    throw await gate.reject(rejection)
                }
                let outcomes = try await runner.run(items, request: request, context: context)
                var headers = gate.cors(request, site: items.first?.site)
                headers[.contentType] = "application/json"
                guard endpoint == .v1 else { return .json(status: .ok, "{\"status\":1}", headers: headers) }
                return .json(status: .ok, Self.results(items, outcomes), headers: headers)
            }
        } catch let error as APIError {
            var response = Self.error(error)
            for field in gate.cors(request, site: nil) { response.headers[field.name] = field.value }
            return response
        }
    }

    /// The JSON the body carries: a form's `data=` field, then `compression` undone
    /// (`gzip-js`, `lz64`, `base64`); a body that is not JSON is tried as base64.
    func payload(_ body: [UInt8], request: Request) async throws -> [UInt8] {
        var data = body
        var compression = request.uri.queryParameters["compression"].map(String.init)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") || body.starts(with: Array("data=".utf8)) {
            let fields = WireText.formFields(body)
            guard let field = fields.first(where: { $0.0 == "data" }) else {
                throw await gate.reject(IngestRejection(.missingField, "a form body must have a data field"))
            }
            data = field.1
            if compression == nil, let c = fields.first(where: { $0.0 == "compression" }) { compression = String(decoding: c.1, as: UTF8.self) }
        }
        switch compression ?? "" {
        case "", "none": break
        case "gzip-js", "gzip": data = try await gate.inflate(data, wrapper: .gzip, limit: limits.batchBodyBytes)
        case "lz64":
            switch LZString.decompressFromBase64(data, limit: limits.batchBodyBytes) {
            case .decoded(let text): data = text
            case .tooLarge: throw await gate.reject(IngestRejection(.bodyTooLarge, "the body decodes to more than the limit of \(limits.batchBodyBytes) bytes"))
            case .damaged: throw await gate.reject(IngestRejection(.invalidEncoding, "the body is not valid lz-string base64 (compression=lz64)"))
            }
        case "base64": data = try await base64(data)
        default:
            throw await gate.reject(IngestRejection(.invalidEncoding, "compression \"\(LogText.clean(String((compression ?? "").prefix(20))))\" is not supported; use gzip-js, lz64 or base64"))
        }
        let first = data.first { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") && $0 != UInt8(ascii: "\t") }
        if let first, first != UInt8(ascii: "{"), first != UInt8(ascii: "[") { data = try await base64(data) }
        return data
    }

    private func base64(_ data: [UInt8]) async throws -> [UInt8] {
        guard let decoded = WireText.base64Decoded(data) else { throw await gate.reject(IngestRejection(.invalidEncoding, "the data is neither JSON nor base64")) }
        return decoded
    }

    static func bearer(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// v1's per-event answer: `ok` for stored (and already stored) events, `drop` with the
    /// reason for the others; the client re-sends only `retry`, which Veil never asks for
    /// event by event (a failed commit fails the whole request with a 503).
    static func results(_ items: [SDKItem], _ outcomes: [IngestRunner.Outcome]) -> String {
        var entries: [String] = []
        for (item, outcome) in zip(items, outcomes) {
            guard let id = item.messageID else { continue }
            switch outcome {
            case .dropped(let reason): entries.append(JSONWriter.string(id) + ":{\"result\":\"drop\",\"details\":\(JSONWriter.string(reason.rawValue))}")
            default: entries.append(JSONWriter.string(id) + ":{\"result\":\"ok\"}")
            }
        }
        return "{\"results\":{" + entries.joined(separator: ",") + "}}"
    }

    /// PostHog's error shape (`type`, `code`, `detail`), with Veil's `error` beside it.
    static func error(_ error: APIError) -> Response {
        let type: String
        switch error.status.code {
        case 401: type = "authentication_error"
        case 400, 413, 415: type = "validation_error"
        case 429: type = "throttled"
        default: type = "server_error"
        }
        var response = Response.json(status: error.status, JSONWriter.object([("type", type), ("code", error.code), ("detail", error.detail), ("error", error.code)]))
        for field in error.headers { response.headers.append(field) }
        return response
    }
}
