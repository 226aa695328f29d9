import Foundation
import Hummingbird
import Privacy
import Storage

/// The Feedback tab (`/sites/:domain/feedback`), its CSV, and `GET /api/stats/feedback`.
/// Comments are visitors' own words: shown to signed-in users of the site, never on a
/// public share link.
struct FeedbackController: Sendable {
    let catalog: SiteCatalog
    /// SQLite, or ClickHouse holding every node's answers.
    let stats: any StatsStore
    let auth: DashboardAuth
    let pages: PageRenderer
    let clock: TimeSource
    let queries: QueryLimiter

    var pageRoutes: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        let owner = routes.group("sites/:domain").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog))
        owner.get("feedback", use: page)
        owner.get("feedback.csv", use: csv)
        return routes
    }

    var apiRoutes: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("feedback", use: api)
        routes.onlyAllow("feedback", [.get])
        return routes
    }

    /// The range and filters of a request (`range`, `from`, `to`, `page`, `device`, `country`, `band`).
    static func parse(_ q: [String: String], site: SiteRules, now: Int64) throws(APIError) -> (DateRange, FeedbackFilter) {
        let range = try DateRange.resolve(range: q["range"], from: q["from"], to: q["to"], now: now, calendar: site.analytics.calendar)
        var filter = FeedbackFilter()
        func value(_ key: String) -> String? { q[key].flatMap { $0.isEmpty ? nil : $0 } }
        filter.path = value("page")
        filter.device = value("device")
        filter.country = value("country")?.uppercased()
        if let band = value("band") {
            let aliases = ["0-6": NPSBand.detractor, "7-8": .passive, "9-10": .promoter]
            guard let b = NPSBand(rawValue: band) ?? aliases[band] else {
                throw APIError(.badRequest, "invalid_band", "band must be detractor (0-6), passive (7-8) or promoter (9-10)")
            }
            filter.band = b
        }
        return (range, filter)
    }

    private func report(site: SiteRules, range: DateRange, filter: FeedbackFilter, context: VeilRequestContext) async throws -> FeedbackReport {
        let calendar = site.analytics.calendar
        return try await queries.answer([.site(site.key)], context) {
            try await stats.feedbackReport(site: site.key, from: calendar.start(ofDay: range.fromDay), to: calendar.start(ofDay: range.toDay),
                                           calendar: calendar, filter: filter, commentLimit: 200)
        }
    }

    @Sendable func api(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let q = SitePagesController.query(request)
        let site = try await auth.apiSite(request, query: q, catalog: catalog)
        let (range, filter) = try Self.parse(q, site: site, now: clock.nowMillis())
        let r = try await report(site: site, range: range, filter: filter, context: context)
        if q["format"] == "csv" {
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .cacheControl: "no-store"], body: .init(byteBuffer: .init(string: Self.csv(r))))
        }
        return try .json(FeedbackAnswer(r, site: site.key, range: range, base: "/sites/" + StatsRequest.encode(site.key)))
    }

    @Sendable func csv(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let owner = try context.siteAccess()
        let (range, filter) = try Self.parse(SitePagesController.query(request), site: owner.site, now: clock.nowMillis())
        let r = try await report(site: owner.site, range: range, filter: filter, context: context)
        return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(owner.domain)-feedback.csv\"",
                                               .cacheControl: "no-store"], body: .init(byteBuffer: .init(string: Self.csv(r))))
    }

    /// One row per comment: when, kind, score, comment, page, device, country.
    static func csv(_ r: FeedbackReport) -> String {
        CSV.document(header: ["received_utc", "kind", "score", "comment", "page", "device", "country", "recording"], rows: r.comments.map { c in
            [DayCalendar.utc.dateTime(c.at), c.kind.rawValue, String(c.score), c.comment, c.path, c.device, c.country, c.recordingID.map(String.init) ?? ""]
        })
    }

    @Sendable func page(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let owner = try context.siteAccess()
        let q = SitePagesController.query(request)
        let (range, filter) = try Self.parse(q, site: owner.site, now: clock.nowMillis())
        let r = try await report(site: owner.site, range: range, filter: filter, context: context)
        let base = owner.base
        func option(_ v: String, _ l: String, _ current: String?) -> FeedbackPage.Option { .init(value: v, label: l, selected: v == (current ?? "")) }
        func link(_ changes: [String: String?]) -> String {
            var next = q
            for (k, v) in changes { next[k] = v }
            let pairs = next.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }
            return base + "/feedback" + (pairs.isEmpty ? "" : "?" + pairs.map { "\(StatsRequest.encode($0.key))=\(StatsRequest.encode($0.value))" }.joined(separator: "&"))
        }
        /// The overview of the same range, narrowed to visits with the answer's event.
        func dashboard(_ event: String) -> String {
            base + "?range=" + StatsRequest.encode(q["range"] ?? "30d") + (q["range"] == "custom" ? "&from=\(StatsRequest.encode(q["from"] ?? ""))&to=\(StatsRequest.encode(q["to"] ?? ""))" : "")
                + "&event=" + StatsRequest.encode(event)
        }
        func share(_ n: Int, _ total: Int) -> (String, String) {
            guard total > 0 else { return ("0 %", "w0") }
            let p = Double(n) * 100 / Double(total)
            return (String(format: "%.0f %%", p), "w\(Int((p / 5).rounded()))")
        }
        let answers = r.npsAnswers
        let npsBands: [FeedbackPage.Band] = [(NPSBand.promoter, r.promoters, "Promoters (9–10)"), (.passive, r.passives, "Passives (7–8)"),
                                             (.detractor, r.detractors, "Detractors (0–6)")].map { band, count, label in
            let (s, w) = share(count, answers)
            return .init(label: label, count: count, share: s, width: w, css: band.rawValue, href: link(["band": band.rawValue]),
                         dashboardHref: dashboard(FeedbackEvent.name(kind: .nps, score: band.scores.lowerBound)))
        }
        let sentimentTotal = r.sentiment.answers
        let sentiment: [FeedbackPage.Band] = (0..<5).reversed().map { i in
            let (s, w) = share(r.sentiment.counts[i], sentimentTotal)
            return .init(label: "\(i + 1) · \(FeedbackPage.faces[i])", count: r.sentiment.counts[i], share: s, width: w, css: "s\(i + 1)", href: "",
                         dashboardHref: dashboard(FeedbackEvent.name(kind: .sentiment, score: i + 1)))
        }
        func rate(_ v: Double?) -> String { v.map { String(format: "%.1f %%", $0) } ?? "–" }
        let stats: [FeedbackPage.Stat] = [
            .init(label: "NPS answers", value: "\(answers)"),
            .init(label: "Surveys shown", value: "\(r.npsShown)"),
            .init(label: "Answered when shown", value: rate(r.npsAnswerRate)),
            .init(label: "Sentiment answers", value: "\(sentimentTotal)"),
        ]
        var page = FeedbackPage(
            domain: owner.site.domain, base: base, tabs: StatsHeader.tabs(base: base, current: "feedback", query: "", readOnly: owner.readOnly),
            npsEnabled: owner.site.feedback.nps.enabled, sentimentEnabled: owner.site.feedback.sentiment.enabled,
            ranges: DateRange.Kind.allCases.filter { $0 != .custom }.map { option($0.rawValue, $0.label, q["range"] ?? "30d") },
            devices: [("", "Any device"), ("desktop", "Desktop"), ("mobile", "Mobile"), ("tablet", "Tablet")].map { option($0.0, $0.1, q["device"]) },
            bands: [("", "Any answer"), ("detractor", "Answered 0–6"), ("passive", "Answered 7–8"), ("promoter", "Answered 9–10")].map { option($0.0, $0.1, q["band"]) },
            path: filter.path ?? "", country: filter.country ?? "",
            filtered: filter != FeedbackFilter(),
            rangeLabel: range.label + " (" + owner.site.analytics.calendar.identifier + ")",
            nps: r.nps.map { ($0 > 0 ? "+" : "") + String($0) } ?? "–",
            stats: stats, npsBands: npsBands, chart: NPSChart(days: r.days, fromDay: range.fromDay, toDay: range.toDay), hasNPS: answers > 0,
            sentiment: sentiment, hasSentiment: sentimentTotal > 0,
            sentimentPages: r.sentimentPages.prefix(50).map { row in
                .init(path: row.path, answers: row.answers, average: String(format: "%.1f", row.average), counts: row.counts.map(String.init).joined(separator: " / "))
            },
            comments: r.comments.map { c in
                .init(at: DayCalendar.utc.dateTime(c.at), kind: c.kind == .nps ? "NPS" : "Sentiment", score: c.score,
                      band: c.kind == .nps ? NPSBand(score: c.score).rawValue : "s\(c.score)", comment: c.comment, path: c.path, device: c.device.ifEmpty("unknown"),
                      country: c.country.ifEmpty("–"), replayHref: owner.readOnly ? nil : c.recordingID.map { base + "/replays/\($0)" })
            },
            hasComments: !r.comments.isEmpty,
            csvHref: link([:]).replacingOccurrences(of: base + "/feedback", with: base + "/feedback.csv"),
            apiHref: "/api/stats/feedback?site=" + StatsRequest.encode(owner.domain),
            username: owner.username, csrf: owner.csrf)
        page.isAdmin = owner.isAdmin
        return .html(pages.render(page, template: "feedback"))
    }
}

/// `GET /api/stats/feedback`.
struct FeedbackAnswer: Encodable, Sendable {
    struct Day: Encodable, Sendable { var date: String; var nps: Int?; var promoters: Int; var passives: Int; var detractors: Int }
    struct Page: Encodable, Sendable { var page: String; var answers: Int; var average: Double; var counts: [Int] }
    struct Comment: Encodable, Sendable {
        var received_at: String
        var kind: String
        var score: Int
        var comment: String
        var page: String
        var device: String
        var country: String
        var session_id: Int64?
        var replay: String?
    }
    var site: String
    var from: String
    var to: String
    var nps: Int?
    var promoters: Int
    var passives: Int
    var detractors: Int
    var answers: Int
    var shown: Int
    var answer_rate: Double?
    var series: [Day]
    var sentiment: [Int]
    var sentiment_answers: Int
    var sentiment_shown: Int
    var sentiment_pages: [Page]
    var comments: [Comment]

    init(_ r: FeedbackReport, site: String, range: DateRange, base: String) {
        self.site = site
        from = range.fromDate
        to = range.toDate
        nps = r.nps
        promoters = r.promoters
        passives = r.passives
        detractors = r.detractors
        answers = r.npsAnswers
        shown = r.npsShown
        answer_rate = r.npsAnswerRate
        series = r.days.map { Day(date: DayCalendar.dateString($0.day), nps: $0.score, promoters: $0.promoters, passives: $0.passives, detractors: $0.detractors) }
        sentiment = r.sentiment.counts
        sentiment_answers = r.sentiment.answers
        sentiment_shown = r.sentimentShown
        sentiment_pages = r.sentimentPages.map { Page(page: $0.path, answers: $0.answers, average: $0.average, counts: $0.counts) }
        comments = r.comments.map { c in
            Comment(received_at: DayCalendar.utc.dateTime(c.at), kind: c.kind.rawValue, score: c.score, comment: c.comment, page: c.path, device: c.device,
                    country: c.country, session_id: c.sessionID, replay: c.recordingID.map { base + "/replays/\($0)" })
        }
    }
}
