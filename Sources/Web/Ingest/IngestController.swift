import Hummingbird
import Logging
import NIOCore
import Privacy
import ServiceLifecycle
import Storage

/// `POST /api/event`, `POST /api/batch` and their CORS preflights.
struct IngestController: Sendable {
    let limits: IngestLimits
    let parser: EventParser
    let writer: EventWriter
    let counters: IngestCounters
    let gate: IngestGate
    let siteLimits: TokenBuckets

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("event", use: single)
        routes.post("batch", use: batch)
        for path in ["event", "batch"] { gate.ingestRoute(routes, RouterPath(path)) }
        return routes
    }

    @Sendable func single(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.eventBodyBytes) { body in
            let event: RawEvent
            do { event = try parser.parseSingle(body) } catch let error as IngestRejection { throw await gate.reject(error) }
            let (accepted, dropped, reason) = try await ingest([event], request: request, context: context)
            var json = "{\"accepted\":\(accepted)"
            if dropped > 0 { json += ",\"dropped\":\(dropped)" }
            if let reason { json += ",\"reason\":\"\(reason.rawValue)\"" }
            json += "}"
            return .json(status: .accepted, json, headers: gate.cors(request, site: event.site))
        }
    }

    @Sendable func batch(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.batchBodyBytes) { body in
            let events: [RawEvent]
            do { events = try parser.parseBatch(body) } catch let error as IngestRejection { throw await gate.reject(error) }
            let (accepted, dropped, _) = try await ingest(events, request: request, context: context)
            return .json(status: .accepted, "{\"accepted\":\(accepted),\"dropped\":\(dropped)}", headers: gate.cors(request, site: events.first?.site))
        }
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
        let ctx = gate.ingestContext(request, context)
        let pipeline = try await gate.pipeline(context)
        var clean: [CleanEvent] = []
        var lastReason: DropReason?
        var dropped = 0
        var memo = IngestPipeline.RequestMemo(scrubBudget: ScrubBudget(bytes: limits.scrubBytes))
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
}
