import Foundation
import Hummingbird
import Privacy
import Storage

/// The survey widget's side of the server: `POST /api/feedback` (answers, and that a
/// survey was shown) and `GET /api/feedback/settings` (what to ask, where and how often).
/// Answers go through the same gate, pipeline and drop reasons as events.
struct FeedbackIngest: Sendable {
    let catalog: SiteCatalog
    let limits: IngestLimits
    let sessionTimeoutMillis: Int64
    let database: VeilDatabase
    /// With ClickHouse: answers go to the outbox, shipped to every node's shared table,
    /// within the same bound as events.
    let outbox: OutboxGauge?
    let outboxLimit: Int
    /// Answers also record a custom event in the visit, through the same durable commit as events.
    let runner: IngestRunner
    let gate: IngestGate
    let counters: IngestCounters
    let clock: TimeSource

    static let maxDepth = 8

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("feedback", use: receive)
        routes.get("feedback/settings", use: settings)
        gate.ingestRoute(routes, "feedback")
        routes.on("feedback/settings", method: .options, use: gate.preflight(allowMethods: "GET", allowHeaders: "Content-Type"))
        return routes
    }

    @Sendable func receive(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.feedbackBodyBytes) { body in
            try await receive(body, request: request, context: context)
        }
    }

    private func receive(_ body: [UInt8], request: Request, context: VeilRequestContext) async throws -> Response {
        let root = try await gate.parseJSON(body, maxDepth: Self.maxDepth)
        let submission: FeedbackSubmission
        switch FeedbackSubmission.check(root, commentCharacters: limits.feedbackCommentChars) {
        case .success(let s): submission = s
        case .failure(let rejection): throw await gate.reject(rejection)
        }
        guard submission.page.utf8.count <= limits.urlLength else {
            throw await gate.reject(IngestRejection(.valueTooLong, "page is longer than limits.url_length (\(limits.urlLength))"))
        }
        // Answers count against the site's budget like events.
        try await runner.takeSiteBudget(counters.siteLabel(submission.site), cost: 1)
        let ctx = gate.ingestContext(request, context)
        let headers = gate.cors(request, site: submission.site)
        let pipeline = try await gate.pipeline(context)
        func dropped(_ reason: DropReason) async -> Response {
            await counters.recordDrop(reason, site: submission.site)
            return .json(status: .accepted, "{\"accepted\":0,\"dropped\":1,\"reason\":\"\(reason.rawValue)\"}", headers: headers)
        }
        // The page URL is cleaned and scrubbed, the visitor hashed, bots and DNT/GPC
        // dropped, exactly as for a pageview of that URL.
        let raw = RawEvent(site: submission.site, name: "feedback", url: submission.page, visitorID: submission.visitorID)
        let clean: CleanEvent
        switch pipeline.run(raw, context: ctx) {
        case .success(let event): clean = event
        case .failure(let reason): return await dropped(reason)
        }
        guard let site = pipeline.sites[clean.site] else { return await dropped(.unknownSite) }
        let enabled = submission.kind == .nps ? site.feedback.nps.enabled : site.feedback.sentiment.enabled
        guard enabled else { return await dropped(.feedbackDisabled) }
        var scrubbed = clean.scrubbed
        let comment = submission.comment.map { text in
            let result = PIIScrubber().scrub(text, extraPatterns: site.scrubPatterns)
            for (kind, n) in result.counts { scrubbed[kind, default: 0] += n }
            return result.text
        }
        await counters.recordScrubbed(scrubbed, site: clean.site)
        // Refused before anything is stored, so an answer is never half kept.
        if let outbox, outbox.depth.load(ordering: .relaxed) >= outboxLimit {
            await counters.recordOverload()
            throw APIError(.serviceUnavailable, "outbox_full", "answers wait for ClickHouse and the outbox is full; retry later", headers: [.retryAfter: "10"])
        }
        if let score = submission.score {
            var event = clean
            event.name = FeedbackEvent.name(kind: submission.kind, score: score)
            event.props = [("score", String(score))]
            event.clientID = nil
            try await runner.store([event], context: context)
        }
        let entry = FeedbackEntry(site: clean.site, visitorCandidates: clean.visitorCandidates, receivedAt: ctx.receivedAt, kind: submission.kind,
                                  score: submission.score, comment: comment, path: clean.path, device: clean.device, country: clean.visit.country)
        do {
            if let outbox {
                try await database.appendFeedbackToOutbox(entry, now: clock.nowMillis())
                outbox.depth.add(1, ordering: .relaxed)
            } else {
                try await database.insertFeedback(entry, sessionTimeoutMillis: sessionTimeoutMillis)
            }
        } catch {
            context.logger.error("feedback write failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "unavailable", "storage is unavailable; retry later", headers: [.retryAfter: "5"])
        }
        await counters.recordFeedback(site: clean.site)
        return .json(status: .accepted, "{\"accepted\":1,\"dropped\":0}", headers: headers)
    }

    /// What the widget asks, where and how often. Public: it holds no secrets; cached a minute.
    @Sendable func settings(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let q = SitePagesController.query(request)
        guard let site = catalog.site(q["site"] ?? ""), site.feedback.enabled else {
            throw APIError(.notFound, "feedback_disabled", "no survey is enabled for this site", headers: gate.cors(request, site: nil))
        }
        let path = q["path"] ?? "/"
        let n = site.feedback.nps, t = site.feedback.sentiment
        var headers = gate.cors(request, site: site.domain)
        headers[.cacheControl] = "max-age=60"
        let answer = WidgetSettings(
            persistent: site.identity == .persistent, consent: site.consentRequired,
            nps: n.enabled ? .init(question: n.question, delay: n.delaySeconds, pageviews: n.afterPageviews, rate: n.sampleRate, followUp: n.followUp,
                                   position: n.position.rawValue, accent: n.accent, again: n.askAgainDays) : nil,
            sentiment: t.enabled && t.shows(on: path) ? .init(prompt: t.prompt, side: t.side.rawValue, accent: n.accent) : nil)
        return try .json(answer, headers: headers)
    }
}

/// `GET /api/feedback/settings`: short keys, read by vf.js.
struct WidgetSettings: Encodable, Sendable {
    struct NPS: Encodable, Sendable {
        var question: String
        var delay: Int
        var pageviews: Int
        var rate: Double
        var followUp: String?
        var position: String
        var accent: String
        var again: Int
    }
    struct Sentiment: Encodable, Sendable {
        var prompt: String
        var side: String
        var accent: String
    }
    var persistent: Bool
    var consent: Bool
    var nps: NPS?
    var sentiment: Sentiment?
}
