import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
@testable import Storage
@testable import Web
import VeilAssets

@Suite("Templates render hostile strings escaped")
struct TemplateTests {
    let hostile = #"<script>alert("x")</script>'"&"#

    func assertEscaped(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!html.contains("<script>alert"), sourceLocation: sourceLocation)
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;&amp;"), sourceLocation: sourceLocation)
    }

    /// Every embedded template is rendered with hostile strings in every field; a new
    /// template without a hostile model here fails the test.
    @Test func everyTemplate() throws {
        let renderer = try PageRenderer()
        var rendered: Set<String> = []
        func render(_ model: some Sendable, _ template: String) -> String {
            rendered.insert(template)
            return renderer.render(model, template: template)
        }
        assertEscaped(render(ErrorPage(status: 404, title: hostile, message: hostile), "error"))
        assertEscaped(render(LoginPage(error: hostile, username: hostile, csrf: hostile), "login"))
        assertEscaped(render(SitesPage(sites: [.init(domain: hostile, domainPath: hostile, hasData: false, visitors: "1", pageviews: "1", snippet: hostile)],
                                             username: hostile, csrf: hostile), "sites"))
        assertEscaped(render(DemoPage(trackerPath: hostile, replay: true, replayRate: hostile), "demo"))
        let request = try StatsRequest.parse(site: hostile, query: ["range": "7d", "page": hostile], now: TestData.midnight)
        let row = BreakdownRow(value: hostile + "-row", visitors: 3, hits: 4, pageviews: 4, sessions: 2)
        var totals = Totals()
        totals.visitors = 1; totals.pageviews = 2; totals.hits = 3; totals.sessions = 1; totals.durationMillis = 65_000
        var breakdowns: [StatsDimension: Breakdown] = [:]
        for d in DashboardData.dimensions { breakdowns[d] = Breakdown(rows: [row], total: 20) }
        let data = DashboardData(request: request, screen: OverviewScreen(current: StatsSnapshot(totals: totals, series: [SeriesPoint(start: TestData.midnight, visitors: 1, pageviews: 2)],
                                                                                                   breakdowns: breakdowns),
                                                                          previousTotals: Totals(), previousSeries: [], realtime: Realtime(visitors: 1, pages: [row])))
        let header = StatsHeader(domain: hostile, base: "/sites/x", tab: "overview", request: request, readOnly: false)
        let html = render(SitePage(data: data, header: header, geoConfigured: false, snippet: hostile, retentionDays: 395, oldestEvent: TestData.midnight,
                                         properties: (hostile, [hostile], hostile, Breakdown(rows: [row], total: 1)), shareURL: hostile,
                                         username: hostile, csrf: hostile), "site")
        assertEscaped(html)
        #expect(html.contains("1m 05s"))
        #expect(html.contains("Events are kept for 395 days and then deleted automatically; the oldest event held is from 2026-11-20."))
        // Every table renders its row, linked to a filter (UTM tables hide when only "(none)").
        #expect(html.components(separatedBy: "&amp;-row</a>").count - 1 >= DashboardData.dimensions.count + 1)
        for other in [render(FunnelsPage(header: header, funnels: [FunnelsPage.funnel(name: hostile, window: 5, steps: [FunnelStep(goal: hostile, visitors: 2, sessions: 2)])],
                                               hasFunnels: true, goals: [hostile], hasGoals: true, adhocSteps: hostile, signedIn: true, username: hostile, csrf: hostile), "funnels"),
                      render(BreakdownPage(header: header, table: StatsTable(dim: .page, breakdown: Breakdown(rows: [row], total: 1), request: request, base: "/x", empty: hostile),
                                                 rangeText: hostile, prevHref: hostile, hasPrev: true, nextHref: hostile, hasNext: true, signedIn: true, username: hostile, csrf: hostile), "breakdown"),
                      render(RetentionPage(header: header, persistent: false, cohorts: [Cohort(weekStartDay: 20_000, size: 3, active: [3, 1])], username: hostile, csrf: hostile), "retention"),
                      render(LivePage(header: header, visitors: hostile, pages: [], hasPages: false, updated: hostile, signedIn: true, username: hostile, csrf: hostile), "live"),
                      render(ShareCreatedPage(domain: hostile, base: hostile, path: hostile, username: hostile, csrf: hostile), "share")] {
            assertEscaped(other)
        }
        let journeyTable = StatsTable(dim: .page, breakdown: Breakdown(rows: [row], total: 1), request: request, base: "/x", empty: hostile)
        assertEscaped(render(JourneysPage(header: header, at: hostile, hasPage: true, pages: [hostile], previous: journeyTable, next: journeyTable,
                                          signedIn: true, username: hostile, csrf: hostile), "journeys"))
        let option = ReplaysPage.Option(value: hostile, label: hostile, selected: true)
        assertEscaped(render(ReplaysPage(domain: hostile, base: hostile, tabs: StatsHeader.tabs(base: "/x", current: "replays", query: "", readOnly: false),
                                         rows: [.init(href: hostile, started: hostile, duration: hostile, pages: 1, entry: hostile, device: hostile, country: hostile,
                                                      clicks: 1, rageClicks: 1, hasRage: true, size: hostile, capped: true)],
                                         hasRows: true, days: [option], devices: [option], goals: [option], hasGoals: true, page: hostile, event: hostile, minSeconds: hostile,
                                         rage: true, filtered: true, nextHref: hostile, hasNext: true, enabled: true, sampleRate: hostile, maskText: hostile,
                                         configured: [hostile], blockSelectors: [hostile], picked: [hostile], hasPicked: true, pickerURL: hostile,
                                         username: hostile, csrf: hostile), "replays"))
        assertEscaped(render(PlayerPage(domain: hostile, base: hostile, id: 1, eventsURL: hostile, marksJSON: "[]", facts: [.init(label: hostile, value: hostile)],
                                        pages: [hostile], deleteAction: hostile, username: hostile, csrf: hostile), "player"))
        var site = SiteRules(domain: hostile, scrubPatterns: [hostile], propertyAllowlist: [hostile])
        site.identity = .persistent
        let audit = AuditEntry(at: TestData.midnight, actor: hostile, action: hostile, site: hostile, subjectKind: hostile, subjectHash: hostile, rows: hostile)
        assertEscaped(render(PrivacyPage(site: site, oldestEvent: nil, scrubbed: [.email: 2], audit: [audit], csrf: hostile, username: hostile, message: hostile, error: hostile,
                                         confirm: .init(events: 1, sessions: 1, subjectLabel: hostile, kind: hostile, value: hostile)), "privacy"))
        assertEscaped(render(StoredPage(csrf: hostile, username: hostile, isAdmin: true), "stored"))
        let choice = UsersPage.SiteChoice(key: hostile, domain: hostile, checked: true)
        let notice = UsersPage.Notice(error: true, text: hostile)
        assertEscaped(render(UsersPage(users: [.init(username: hostile, isAdmin: false, isYou: true, access: hostile, sessions: hostile, sites: [choice])], notice: notice,
                                       hasNotice: true, allSites: [choice], isAdmin: true, username: hostile, csrf: hostile), "users"))
        assertEscaped(render(AccountPage(role: hostile, minimum: 10, notice: notice, hasNotice: true, isAdmin: false, username: hostile, csrf: hostile), "account"))
        let fbOption = FeedbackPage.Option(value: hostile, label: hostile, selected: true)
        let band = FeedbackPage.Band(label: hostile, count: 1, share: hostile, width: "w1", css: hostile, href: hostile, dashboardHref: hostile)
        let feedbackHTML = render(FeedbackPage(domain: hostile, base: hostile, tabs: StatsHeader.tabs(base: "/x", current: "feedback", query: "", readOnly: false),
                                               npsEnabled: false, sentimentEnabled: false, ranges: [fbOption], devices: [fbOption], bands: [fbOption], path: hostile,
                                               country: hostile, filtered: true, rangeLabel: hostile, nps: hostile, stats: [.init(label: hostile, value: hostile)],
                                               npsBands: [band], chart: NPSChart(days: [NPSDay(day: 20_000, promoters: 1, passives: 1, detractors: 1)], fromDay: 20_000, toDay: 20_001),
                                               hasNPS: true, sentiment: [band], hasSentiment: true,
                                               sentimentPages: [.init(path: hostile, answers: 1, average: hostile, counts: hostile)],
                                               comments: [.init(at: hostile, kind: hostile, score: 3, band: hostile, comment: hostile, path: hostile, device: hostile,
                                                                country: hostile, replayHref: hostile)],
                                               hasComments: true, csvHref: hostile, apiHref: hostile, username: hostile, csrf: hostile), "feedback")
        assertEscaped(feedbackHTML)
        #expect(feedbackHTML.contains("2026-") || feedbackHTML.contains("NPS answers over"), "the NPS chart renders")
        var heatmaps = HeatmapsPage(domain: hostile, base: hostile, tabs: StatsHeader.tabs(base: "/x", current: "heatmaps", query: "", readOnly: false), range: hostile,
                                    path: hostile, device: hostile, username: hostile, csrf: hostile)
        heatmaps.pages = [.init(path: hostile, device: hostile, clicks: 1, current: true, href: hostile)]
        var element = HeatmapReport.Element(element: hostile)
        element.clicks = 2
        element.cells = [.init(x: 1, y: 2, clicks: 2)]
        element.deadRecordings = [7]
        var heatReport = HeatmapReport()
        heatReport.elements = [element]
        heatReport.pageViews = 1
        heatReport.reached = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
        heatReport.snapshot = .init(recording: 7, offsetMillis: 10)
        heatmaps.fill(heatReport, autocaptured: [BreakdownRow(value: hostile, visitors: 1, hits: 1, pageviews: 0, sessions: 0)], base: hostile)
        let heatmapHTML = render(heatmaps, "heatmaps")
        assertEscaped(heatmapHTML)
        #expect(heatmapHTML.contains("data-heatmap=\"{&quot;cells&quot;:[[&quot;\\u003cscript\\u003e"), "the cells reach hm.js as escaped JSON")
        // Partials are rendered inside the pages above.
        let partials: Set<String> = ["layout", "statsheader", "statstable"]
        #expect(Set(VeilAssets.EmbeddedAssets.templates.keys).subtracting(partials) == rendered,
                "templates without a hostile model: \(Set(VeilAssets.EmbeddedAssets.templates.keys).subtracting(partials).subtracting(rendered))")
        for name in VeilAssets.EmbeddedAssets.templates.keys {
            let text = String(decoding: VeilAssets.EmbeddedAssets.templates[name]!, as: UTF8.self)
            #expect(!text.contains("{{{") && !text.contains("{{&"), "template \(name) uses unescaped output")
        }
    }

    @Test func formatting() {
        #expect(Format.compact(999) == "999")
        #expect(Format.compact(1234) == "1.2k")
        #expect(Format.compact(45_600) == "46k")
        #expect(Format.compact(3_400_000) == "3.4M")
        #expect(Format.duration(seconds: 185) == "3m 05s")
        #expect(Format.duration(seconds: 42) == "42s")
        #expect(Format.duration(seconds: 3_725) == "1h 02m")
    }

    @Test func ranges() throws {
        let now = TestData.midnight + 5 * 3_600_000
        let today0 = TestData.midnight / TestData.day
        let today = try DateRange.resolve(range: "today", from: nil, to: nil, now: now)
        #expect(today.fromDay == today0 && today.toDay == today0 + 1 && today.granularity == .hour)
        let week = try DateRange.resolve(range: "7d", from: nil, to: nil, now: now)
        #expect(week.fromDay == today0 - 6 && week.granularity == .day)
        #expect(week.fromDate == "2026-11-14" && week.toDate == "2026-11-20")
        #expect(week.previous.fromDay == today0 - 13 && week.previous.toDay == today0 - 6)
        let yesterday = try DateRange.resolve(range: "yesterday", from: nil, to: nil, now: now)
        #expect(yesterday.fromDate == "2026-11-19" && yesterday.days == 1)
        let month = try DateRange.resolve(range: "month", from: nil, to: nil, now: now)
        #expect(month.fromDate == "2026-11-01" && month.toDate == "2026-11-20")
        let last = try DateRange.resolve(range: "lastmonth", from: nil, to: nil, now: now)
        #expect(last.fromDate == "2026-10-01" && last.toDate == "2026-10-31")
        let year = try DateRange.resolve(range: "12mo", from: nil, to: nil, now: now)
        #expect(year.fromDate == "2025-12-01" && year.granularity == .month)
        let custom = try DateRange.resolve(range: "custom", from: "2024-02-28", to: "2024-03-01", now: now)
        #expect(custom.days == 3)
        #expect(Granularity.automatic(days: 120) == .week && Granularity.automatic(days: 365) == .month)
        #expect(throws: APIError.self) { try DateRange.resolve(range: "custom", from: "2024-02-30", to: "2024-03-01", now: now) }
        #expect(throws: APIError.self) { try DateRange.resolve(range: "custom", from: "2024-03-02", to: "2024-03-01", now: now) }
        #expect(throws: APIError.self) { try DateRange.resolve(range: "year", from: nil, to: nil, now: now) }
    }

    @Test func csvEscapesFormulas() {
        #expect(CSV.cell("=HYPERLINK(\"http://x\")") == "\"'=HYPERLINK(\"\"http://x\"\")\"")
        #expect(CSV.cell("+1") == "'+1" && CSV.cell("-2") == "'-2" && CSV.cell("@SUM(A1)") == "'@SUM(A1)")
        #expect(CSV.cell("a,b") == "\"a,b\"" && CSV.cell("/plain") == "/plain")
        #expect(CSV.document(header: ["page", "visitors"], rows: [["=1+1", "3"]]) == "page,visitors\r\n'=1+1,3\r\n")
    }
}
