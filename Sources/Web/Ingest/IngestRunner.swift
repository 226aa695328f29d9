import Hummingbird
import Logging
import Privacy
import ServiceLifecycle
import Storage

/// The one path every ingest protocol ends in: the site budgets, the pipeline over each
/// item, the writer's durable commit and the counters. Veil's own API and the SDK
/// adapters differ only in how they read a request and word the answer.
struct IngestRunner: Sendable {
    let writer: EventWriter
    let database: VeilDatabase
    let counters: IngestCounters
    let gate: IngestGate
    let siteLimits: TokenBuckets
    let limits: IngestLimits

    /// What became of one item, in request order.
    enum Outcome: Sendable, Equatable {
        case stored
        /// Already stored (a retry): acknowledged like a stored event.
        case duplicate
        case dropped(DropReason)
        /// A person update stored as an identity link.
        case linked

        var isAccepted: Bool {
            if case .dropped = self { return false }
            return true
        }
    }

    /// Runs the items and answers only after everything accepted is durable.
    func run(_ items: [SDKItem], request: Request, context: VeilRequestContext) async throws -> [Outcome] {
        // Per-site budget in items, under the site's metric label so random names share one bucket.
        var perSite: [String: Int] = [:]
        for item in items { perSite[counters.siteLabel(item.site), default: 0] += 1 }
        for (site, n) in perSite { try await takeSiteBudget(site, cost: n) }
        let ctx = gate.ingestContext(request, context)
        let pipeline = try await gate.pipeline(context)
        var outcomes = [Outcome?](repeating: nil, count: items.count)
        var clean: [CleanEvent] = [], cleanIndex: [Int] = []
        var links: [IdentityLink] = [], linkIndex: [Int] = []
        var memo = IngestPipeline.RequestMemo(scrubBudget: ScrubBudget(bytes: limits.scrubBytes))
        var scrubbed: [String: [PIIScrubber.Kind: Int]] = [:]
        for (i, item) in items.enumerated() {
            switch item {
            case .event(let event):
                switch pipeline.run(event, context: ctx, memo: &memo) {
                case .success(let e):
                    clean.append(e)
                    cleanIndex.append(i)
                    for (kind, n) in e.scrubbed { scrubbed[e.site, default: [:]][kind, default: 0] += n }
                    if e.clockSkew { await counters.recordClockSkew(site: e.site) }
                case .failure(let reason):
                    outcomes[i] = .dropped(reason)
                    await counters.recordDrop(reason, site: event.site)
                }
            case .person(let update):
                switch pipeline.person(update, context: ctx, memo: &memo) {
                case .success(let link):
                    links.append(link)
                    linkIndex.append(i)
                case .failure(let reason):
                    outcomes[i] = .dropped(reason)
                    await counters.recordDrop(reason, site: update.site)
                }
            case .ignored(let site, _, _):
                outcomes[i] = .dropped(.notAnEvent)
                await counters.recordDrop(.notAnEvent, site: site)
            }
        }
        for (site, counts) in scrubbed { await counters.recordScrubbed(counts, site: site) }
        let written = try await commit(clean, links, context: context)
        for (k, outcome) in written.enumerated() {
            outcomes[cleanIndex[k]] = outcome == .duplicate ? .duplicate : .stored
            // A duplicate is acknowledged like a stored event: the client's retry succeeded.
            if outcome == .duplicate { await counters.recordDrop(.duplicate, site: clean[k].site) }
        }
        for i in linkIndex { outcomes[i] = .linked }
        await counters.recordAccepted(written.count)
        if !links.isEmpty { await counters.recordLinks(links.count) }
        return outcomes.map { $0 ?? .dropped(.notAnEvent) }
    }

    /// Takes `cost` from the site's budget (by its metric label), or answers 429.
    func takeSiteBudget(_ label: String, cost: Int) async throws {
        if let wait = siteLimits.take(label, cost: cost) {
            await counters.recordRateLimited("site")
            throw APIError(.tooManyRequests, "rate_limited", "this site receives more events than its limit; retry in \(wait) s", headers: [.retryAfter: "\(wait)"])
        }
    }

    /// Events made elsewhere (a survey answer's event): durable on return, with the same
    /// 503s as every ingest path when the writer cannot take them.
    func store(_ events: [CleanEvent], context: VeilRequestContext) async throws {
        _ = try await commit(events, [], context: context)
    }

    /// Events through the writer's group commit, then identity links; both durable on return.
    private func commit(_ events: [CleanEvent], _ links: [IdentityLink], context: VeilRequestContext) async throws -> [InsertOutcome] {
        do {
            // The server drains in-flight requests before the writer service is told to
            // stop; a request waiting for its commit must not wait out the flush interval.
            let writer = self.writer
            let outcomes = try await withGracefulShutdownHandler {
                try await writer.submit(events)
            } onGracefulShutdown: {
                Task { await writer.stopLingering() }
            }
            try await database.link(links)
            return outcomes
        } catch StorageError.queueFull {
            await counters.recordOverload()
            throw APIError(.serviceUnavailable, "overloaded", "the write queue is full; retry shortly", headers: [.retryAfter: "1"])
        } catch StorageError.outboxFull {
            await counters.recordOverload()
            throw APIError(.serviceUnavailable, "outbox_full", "events wait for ClickHouse and the outbox is full; retry later", headers: [.retryAfter: "10"])
        } catch StorageError.shuttingDown {
            throw APIError(.serviceUnavailable, "shutting_down", "Veil is restarting; retry shortly", headers: [.retryAfter: "2"])
        } catch {
            context.logger.error("event write failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "unavailable", "storage is unavailable; retry later", headers: [.retryAfter: "5"])
        }
    }
}
