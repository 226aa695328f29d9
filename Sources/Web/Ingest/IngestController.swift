import Hummingbird
import Logging
import NIOCore
import Privacy
import ServiceLifecycle
import Storage

/// `POST /api/event`, `POST /api/batch` and their CORS preflights.
struct IngestController: Sendable {
    let config: VeilConfig
    let parser: EventParser
    let writer: EventWriter
    let salts: SaltKeeper
    let counters: IngestCounters
    let addresses: ClientAddressResolver
    let clock: TimeSource
    let secret: [UInt8]
    let geo: MMDB?
    let gate: AdmissionGate
    let clientLimits: TokenBuckets
    let siteLimits: TokenBuckets

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("event", use: single)
        routes.post("batch", use: batch)
        for path in ["event", "batch"] {
            routes.on(RouterPath(path), method: .options, use: preflight)
            for method in [HTTPRequest.Method.get, .put, .delete, .patch, .head] {
                routes.on(RouterPath(path), method: method) { _, _ -> Response in
                    throw APIError(.methodNotAllowed, "method_not_allowed", "use POST", headers: [.allow: "POST, OPTIONS"])
                }
            }
        }
        return routes
    }

    @Sendable func single(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await admitted(request, context, limit: config.limits.eventBodyBytes) { body in
            let event: RawEvent
            do { event = try parser.parseSingle(body) } catch let error as IngestRejection { throw await reject(error) }
            let (accepted, dropped, reason) = try await ingest([event], request: request, context: context)
            var json = "{\"accepted\":\(accepted)"
            if dropped > 0 { json += ",\"dropped\":\(dropped)" }
            if let reason { json += ",\"reason\":\"\(reason.rawValue)\"" }
            json += "}"
            return .json(status: .accepted, json, headers: cors(request, site: event.site))
        }
    }

    @Sendable func batch(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await admitted(request, context, limit: config.limits.batchBodyBytes) { body in
            let events: [RawEvent]
            do { events = try parser.parseBatch(body) } catch let error as IngestRejection { throw await reject(error) }
            let (accepted, dropped, _) = try await ingest(events, request: request, context: context)
            return .json(status: .accepted, "{\"accepted\":\(accepted),\"dropped\":\(dropped)}", headers: cors(request, site: events.first?.site))
        }
    }

    /// Runs `work` on the request's body once the request is admitted: header checks
    /// (415, 413), the client's rate limit (429), then capacity (503 with Retry-After),
    /// all before a body byte is read, so shedding load costs almost nothing.
    func admitted(_ request: Request, _ context: VeilRequestContext, limit: Int, _ work: ([UInt8]) async throws -> Response) async throws -> Response {
        try await checkHead(request, limit: limit)
        let client = addresses.clientIP(peer: context.remoteAddress, headers: request.headers)
        if let wait = clientLimits.take(client) {
            await counters.recordRateLimited("client")
            throw APIError(.tooManyRequests, "rate_limited", "too many requests from this address; retry in \(wait) s", headers: [.retryAfter: "\(wait)"])
        }
        let declared = request.headers[.contentLength].flatMap(Int.init).map { min($0, limit) } ?? limit
        let ticket: AdmissionGate.Ticket
        switch gate.admit(bytes: declared) {
        case .success(let t): ticket = t
        case .failure(let refusal):
            await counters.recordOverload(refusal.rawValue)
            throw APIError(.serviceUnavailable, "overloaded", "Veil is busy (\(refusal.rawValue)); retry shortly", headers: [.retryAfter: "1"])
        }
        defer { gate.release(ticket) }
        return try await work(try await collectBody(request, limit: limit))
    }

    @Sendable func preflight(_ request: Request, context: VeilRequestContext) async throws -> Response {
        var headers = cors(request, site: nil)
        headers[.accessControlAllowMethods] = "POST"
        headers[.accessControlAllowHeaders] = "Content-Type"
        headers[.accessControlMaxAge] = "86400"
        return Response(status: .noContent, headers: headers)
    }

    /// Runs the pipeline over each event and hands the survivors to the writer.
    /// Returns (accepted, dropped, the drop reason when exactly one event was sent).
    private func ingest(_ events: [RawEvent], request: Request, context: VeilRequestContext) async throws -> (Int, Int, DropReason?) {
        // Per-site budget in events, under the site's metric label so random names share one bucket.
        var perSite: [String: Int] = [:]
        for event in events { perSite[counters.siteLabel(event.site), default: 0] += 1 }
        for (site, n) in perSite {
            if let wait = siteLimits.take(site, cost: n) {
                await counters.recordRateLimited("site")
                throw APIError(.tooManyRequests, "rate_limited", "this site receives more events than its limit; retry in \(wait) s", headers: [.retryAfter: "\(wait)"])
            }
        }
        let ctx = ingestContext(request, context)
        let pipeline = try await pipeline(context, geo: geo)
        var clean: [CleanEvent] = []
        var lastReason: DropReason?
        var dropped = 0
        var memo = IngestPipeline.RequestMemo(scrubBudget: ScrubBudget(bytes: config.limits.scrubBytes))
        var scrubbed: [String: [PIIScrubber.Kind: Int]] = [:]
        for event in events {
            switch pipeline.run(event, context: ctx, memo: &memo) {
            case .success(let e):
                clean.append(e)
                for (kind, n) in e.scrubbed { scrubbed[e.site, default: [:]][kind, default: 0] += n }
            case .failure(let reason):
                dropped += 1
                lastReason = reason
                await counters.recordDrop(reason, site: event.site)
            }
        }
        for (site, counts) in scrubbed { await counters.recordScrubbed(counts, site: site) }
        let outcomes: [InsertOutcome]
        do {
            // The server drains in-flight requests before the writer service is told to
            // stop; a request waiting for its commit must not wait out the flush interval.
            let writer = self.writer
            outcomes = try await withGracefulShutdownHandler {
                try await writer.submit(clean)
            } onGracefulShutdown: {
                Task { await writer.stopLingering() }
            }
        } catch StorageError.queueFull {
            await counters.recordOverload()
            throw APIError(.serviceUnavailable, "overloaded", "the write queue is full; retry shortly", headers: [.retryAfter: "1"])
        } catch StorageError.shuttingDown {
            throw APIError(.serviceUnavailable, "shutting_down", "Veil is restarting; retry shortly", headers: [.retryAfter: "2"])
        } catch {
            context.logger.error("event write failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "unavailable", "storage is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        // A duplicate is acknowledged like a stored event: the client's retry succeeded.
        for (event, outcome) in zip(clean, outcomes) where outcome == .duplicate {
            await counters.recordDrop(.duplicate, site: event.site)
        }
        await counters.recordAccepted(outcomes.count)
        return (outcomes.count, dropped, events.count == 1 ? lastReason : nil)
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
    func pipeline(_ context: VeilRequestContext, geo: MMDB? = nil) async throws -> IngestPipeline {
        let active: ActiveSalts
        do { active = try await salts.current() } catch {
            context.logger.error("salts unavailable", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "unavailable", "storage is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        return IngestPipeline(sites: config.sites, allowedQuery: Set(config.queryAllowlist), salts: active, secret: secret, geo: geo)
    }

    /// What can be refused from the head alone: media type, encoding and declared size.
    func checkHead(_ request: Request, limit: Int) async throws {
        if let type = request.headers[.contentType], !Self.acceptsMediaType(type) {
            await counters.recordRejection("unsupported_media_type")
            throw APIError(.unsupportedMediaType, "unsupported_media_type", "send application/json or text/plain")
        }
        if let encoding = request.headers[.contentEncoding], encoding.lowercased().trimmingCharacters(in: .whitespaces) != "identity" {
            await counters.recordRejection("unsupported_encoding")
            throw APIError(.unsupportedMediaType, "unsupported_encoding", "Content-Encoding \"\(LogText.clean(String(encoding.prefix(40))))\" is not supported; send the body uncompressed")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw await reject(IngestRejection(.bodyTooLarge, "body is \(length) bytes; the limit is \(limit)"))
        }
    }

    /// `application/json` or `text/plain` (sendBeacon's type), exactly, with parameters allowed.
    static func acceptsMediaType(_ header: String) -> Bool {
        let type = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return type == "application/json" || type == "text/plain"
    }

    func collectBody(_ request: Request, limit: Int) async throws -> [UInt8] {
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

    func reject(_ rejection: IngestRejection) async -> APIError {
        await counters.recordRejection(rejection.code.rawValue)
        return APIError(.init(code: rejection.httpStatus), rejection.code.rawValue, rejection.detail)
    }

    /// CORS: echo the Origin only when it belongs to the event's site (or, for a
    /// preflight, to any configured site). Others get no CORS headers at all.
    func cors(_ request: Request, site: String?) -> HTTPFields {
        var headers: HTTPFields = [.vary: "Origin"]
        guard let origin = request.headers[.origin] else { return headers }
        let candidates = site.flatMap { config.site($0) }.map { [$0] } ?? config.sites
        if candidates.contains(where: { $0.allows(origin: origin) }) {
            headers[.accessControlAllowOrigin] = origin
        }
        return headers
    }
}
