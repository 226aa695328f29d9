import Hummingbird
import NIOCore
import Privacy
import Storage
import Synchronization

/// What every public ingest route (events, batches, replay chunks) goes through before
/// and around its own work: the head checks, the client's rate limit and admission
/// (before a body byte is read), body reading within the route's limit, rejection
/// answers, CORS, the request's facts, and the pipeline with today's salts. Shared by
/// the event and replay controllers, so neither holds the other.
struct IngestGate: Sendable {
    let sites: [SiteRules]
    let queryAllowlist: Set<String>
    let salts: SaltKeeper
    let counters: IngestCounters
    let addresses: ClientAddressResolver
    let clock: TimeSource
    let secret: [UInt8]
    let geo: MMDB?
    let admission: AdmissionGate
    let clientLimits: TokenBuckets
    let clientTimes: ClientTimeWindow
    /// The pipeline is rebuilt only when the salts change (once a day), not per request.
    private let cached = PipelineCache()

    init(sites: [SiteRules], queryAllowlist: [String], salts: SaltKeeper, counters: IngestCounters, addresses: ClientAddressResolver, clock: TimeSource,
         secret: [UInt8], geo: MMDB?, admission: AdmissionGate, clientLimits: TokenBuckets, clientTimes: ClientTimeWindow = ClientTimeWindow()) {
        self.sites = sites
        self.queryAllowlist = Set(queryAllowlist)
        self.salts = salts
        self.counters = counters
        self.addresses = addresses
        self.clock = clock
        self.secret = secret
        self.geo = geo
        self.admission = admission
        self.clientLimits = clientLimits
        self.clientTimes = clientTimes
    }

    /// A CORS preflight answer: the Origin echoed only for a configured site.
    func preflight(allowMethods: String, allowHeaders: String) -> @Sendable (Request, VeilRequestContext) async throws -> Response {
        { request, _ in
            var headers = cors(request, site: nil)
            headers[.accessControlAllowMethods] = allowMethods
            headers[.accessControlAllowHeaders] = allowHeaders
            headers[.accessControlMaxAge] = "86400"
            return Response(status: .noContent, headers: headers)
        }
    }

    /// A POST-only ingest route's preflight and its 405s for other methods.
    func ingestRoute(_ routes: RouteCollection<VeilRequestContext>, _ path: RouterPath, allowMethods: String = "POST", allowHeaders: String = "Content-Type") {
        routes.on(path, method: .options, use: preflight(allowMethods: allowMethods, allowHeaders: allowHeaders))
        for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
            routes.on(path, method: method) { _, _ -> Response in
                throw APIError(.methodNotAllowed, "method_not_allowed", "use POST", headers: [.allow: "POST, OPTIONS"])
            }
        }
    }

    /// Runs `work` on the request's body once the request is admitted: header checks
    /// (415, 413), the client's rate limit (429), then capacity (503 with Retry-After),
    /// all before a body byte is read, so shedding load costs almost nothing.
    func admitted(_ request: Request, _ context: VeilRequestContext, limit: Int, mediaTypes: MediaTypes = .json,
                  _ work: ([UInt8]) async throws -> Response) async throws -> Response {
        try await checkHead(request, limit: limit, mediaTypes: mediaTypes)
        let client = addresses.clientIP(peer: context.remoteAddress, headers: request.headers)
        if let wait = clientLimits.take(client) {
            await counters.recordRateLimited("client")
            throw APIError(.tooManyRequests, "rate_limited", "too many requests from this address; retry in \(wait) s", headers: [.retryAfter: "\(wait)"])
        }
        let declared = request.headers[.contentLength].flatMap(Int.init).map { min($0, limit) } ?? limit
        let ticket: AdmissionGate.Ticket
        switch admission.admit(bytes: declared) {
        case .success(let t): ticket = t
        case .failure(let refusal):
            await counters.recordOverload(refusal.rawValue)
            throw APIError(.serviceUnavailable, "overloaded", "Veil is busy (\(refusal.rawValue)); retry shortly", headers: [.retryAfter: "1"])
        }
        defer { admission.release(ticket) }
        return try await work(try await collectBody(request, limit: limit))
    }

    /// Facts about the request every ingest path needs (the address and user agent stay
    /// inside this value and the pipeline run).
    func ingestContext(_ request: Request, _ context: VeilRequestContext) -> IngestContext {
        IngestContext(
            clientIP: addresses.clientIP(peer: context.remoteAddress, headers: request.headers),
            userAgent: request.headers[.userAgent] ?? "",
            origin: request.headers[.origin],
            doNotTrack: request.headers[.dnt] == "1",
            globalPrivacyControl: request.headers[.secGPC] == "1",
            receivedAt: clock.nowMillis()
        )
    }

    /// The pipeline with the current salts, or a 503 when they cannot be read.
    func pipeline(_ context: VeilRequestContext) async throws -> IngestPipeline {
        let active: ActiveSalts
        do { active = try await salts.current() } catch {
            context.logger.error("salts unavailable", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "unavailable", "storage is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        return cached.pipeline(for: active) { IngestPipeline(sites: sites, allowedQuery: queryAllowlist, salts: active, secret: secret, geo: geo, clientTimes: clientTimes) }
    }

    /// What can be refused from the head alone: media type, encoding and declared size.
    func checkHead(_ request: Request, limit: Int, mediaTypes: MediaTypes = .json) async throws {
        if let type = request.headers[.contentType], !mediaTypes.accepts(type) {
            await counters.recordRejection("unsupported_media_type")
            throw APIError(.unsupportedMediaType, "unsupported_media_type", mediaTypes == .json ? "send application/json or text/plain" : "send application/json, text/plain or a form")
        }
        if let encoding = request.headers[.contentEncoding], Self.encoding(encoding) == nil {
            await counters.recordRejection("unsupported_encoding")
            throw APIError(.unsupportedMediaType, "unsupported_encoding",
                           "Content-Encoding \"\(LogText.clean(String(encoding.prefix(40))))\" is not supported; send the body uncompressed, gzip- or deflate-compressed")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw await reject(IngestRejection(.bodyTooLarge, "body is \(length) bytes; the limit is \(limit)"))
        }
    }

    /// The media types a route reads, matched exactly, with parameters allowed.
    enum MediaTypes: Sendable, Equatable {
        /// `application/json` or `text/plain` (sendBeacon's type).
        case json
        /// Also `application/x-www-form-urlencoded` (SDKs that send `data=`).
        case jsonOrForm

        func accepts(_ header: String) -> Bool {
            let type = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
            return type == "application/json" || type == "text/plain" || (self == .jsonOrForm && type == "application/x-www-form-urlencoded")
        }
    }

    /// A body encoding Veil reads.
    enum BodyEncoding: Equatable {
        case identity
        case compressed(Zlib.Wrapper)
    }

    /// The encoding a `Content-Encoding` header names, or nil for one Veil does not read.
    static func encoding(_ header: String) -> BodyEncoding? {
        switch header.lowercased().trimmingCharacters(in: .whitespaces) {
        case "identity", "": .identity
        case "gzip", "x-gzip": .compressed(.gzip)
        case "deflate": .compressed(.zlib)
        default: nil
        }
    }

    /// The body, inflated when it is gzip- or deflate-compressed. The limit holds for the
    /// compressed bytes read and again for the inflated ones, and inflating stops at the
    /// limit, so a decompression bomb costs at most `limit` bytes.
    func collectBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        let raw = try await collectRawBody(request, limit: limit)
        guard let header = request.headers[.contentEncoding], case .compressed(let wrapper)? = Self.encoding(header) else { return raw }
        return try await inflate(raw, wrapper: wrapper, limit: limit)
    }

    /// Inflates a compressed body (or an SDK's compressed payload) within `limit`.
    func inflate(_ raw: [UInt8], wrapper: Zlib.Wrapper, limit: Int) async throws -> [UInt8] {
        switch Zlib.inflate(raw, wrapper: wrapper, limit: limit) {
        case .inflated(let body): return body
        case .tooLarge: throw await reject(IngestRejection(.bodyTooLarge, "the body inflates to more than the limit of \(limit) bytes"))
        case .damaged: throw await reject(IngestRejection(.invalidEncoding, "the body is not a complete \(wrapper == .gzip ? "gzip" : "deflate") stream"))
        }
    }

    private func collectRawBody(_ request: Request, limit: Int) async throws -> [UInt8] {
        do {
            let buffer = try await request.body.collect(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw await reject(IngestRejection(.bodyTooLarge, "the body is larger than the limit of \(limit) bytes"))
        } catch is NIOTooManyBytesError {
            // A chunked body declares no length; it is cut off at the limit instead.
            throw await reject(IngestRejection(.bodyTooLarge, "the body is larger than the limit of \(limit) bytes"))
        }
    }

    /// Parses an ingest body; one that does not parse is a counted 400 saying why.
    func parseJSON(_ body: [UInt8], maxDepth: Int) async throws -> JSONValue {
        do { return try JSONParser.parse(body, maxDepth: maxDepth) } catch {
            switch error {
            case .invalidUTF8: throw await reject(IngestRejection(.invalidUTF8, "the body is not valid UTF-8"))
            case .duplicateKey(let key): throw await reject(IngestRejection(.duplicateKey, "the key \"\(key.prefix(64))\" appears twice in one object"))
            default: throw await reject(IngestRejection(.invalidJSON, "the body is not valid JSON (\(error)); nesting is limited to \(maxDepth) levels"))
            }
        }
    }

    func reject(_ rejection: IngestRejection) async -> APIError {
        await counters.recordRejection(rejection.code.rawValue)
        return APIError(.init(code: rejection.httpStatus), rejection.code.rawValue, rejection.detail)
    }

    /// CORS: echo the Origin only when it belongs to the event's site (or, for a
    /// preflight, to any configured site). Others get no CORS headers at all.
    func cors(_ request: Request, site: String?) -> HTTPFields {
        var headers: HTTPFields = [.vary: "Origin"]
        guard let origin = request.headers[.origin] else { return headers }
        let candidates = site.flatMap { sites.site($0) }.map { [$0] } ?? sites
        if candidates.contains(where: { $0.allows(origin: origin) }) {
            headers[.accessControlAllowOrigin] = origin
        }
        return headers
    }
}

/// The last pipeline built and the salt it was built with.
private final class PipelineCache: Sendable {
    private let state = Mutex<(salt: [UInt8], previous: [UInt8]?, pipeline: IngestPipeline)?>(nil)

    func pipeline(for salts: ActiveSalts, build: () -> IngestPipeline) -> IngestPipeline {
        if let hit = state.withLock({ $0 }), hit.salt == salts.current, hit.previous == salts.previous { return hit.pipeline }
        let fresh = build()
        state.withLock { $0 = (salts.current, salts.previous, fresh) }
        return fresh
    }
}
