import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Storage
@testable import Web

/// Cookie jar for one test client.
struct Jar {
    var cookies: [String: String] = [:]

    mutating func take(_ response: TestResponse) {
        for value in response.headers[values: .setCookie] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
    }

    var header: HTTPFields {
        [.cookie: cookies.filter { !$0.value.isEmpty }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }
}

func hiddenCSRF(_ html: String) -> String {
    guard let r = html.range(of: #"name="csrf" value=""#) else { return "" }
    return String(html[r.upperBound...].prefix { $0 != "\"" })
}

func form(_ fields: [String: String]) -> ByteBuffer {
    ByteBuffer(string: fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
}

@Suite("Dashboard: sign-in, CSRF, rate limits, escaped output")
struct DashboardTests {
    let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    func signIn(_ client: some TestClientProtocol, jar: inout Jar, password: String = TestData.password) async throws -> TestResponse {
        let page = try await client.execute(uri: "/login", method: .get, headers: jar.header)
        jar.take(page)
        var headers = jar.header
        headers.append(contentsOf: formType)
        let r = try await client.execute(uri: "/login", method: .post, headers: headers,
                                         body: form(["csrf": hiddenCSRF(page.text), "username": "admin", "password": password]))
        jar.take(r)
        return r
    }

    @Test func signInSessionCookieAndSignOut() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            #expect(try await client.execute(uri: "/sites", method: .get).headers[.location] == "/login")
            var jar = Jar()
            let r = try await signIn(client, jar: &jar)
            #expect(r.status == .seeOther)
            #expect(r.headers[.location] == "/sites")
            let cookie = try #require(r.headers[values: .setCookie].first { $0.hasPrefix("veil_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"))
            let sites = try await client.execute(uri: "/sites", method: .get, headers: jar.header)
            #expect(sites.status == .ok)
            #expect(sites.text.contains("localhost"))
            #expect(sites.text.contains("No data yet"))
            #expect(sites.text.contains("&lt;script defer src=&quot;http://"))
            let site = try await client.execute(uri: "/sites/localhost?range=30d", method: .get, headers: jar.header)
            #expect(site.status == .ok)
            #expect(site.text.contains("<svg"))
            let custom = try await client.execute(uri: "/sites/localhost?range=custom&from=2026-01-01&to=2026-01-31", method: .get, headers: jar.header)
            #expect(custom.status == .ok && custom.text.contains("2026-01-01 to 2026-01-31"))
            #expect(try await client.execute(uri: "/sites/nope.example", method: .get, headers: jar.header).status == .notFound)
            // The stats API accepts the signed-in session as well as the token.
            #expect(try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: jar.header).status == .ok)

            // Sign-out needs the CSRF token.
            var postHeaders = jar.header
            postHeaders.append(contentsOf: formType)
            let noToken = try await client.execute(uri: "/logout", method: .post, headers: postHeaders, body: form([:]))
            #expect(noToken.status == .forbidden)
            let out = try await client.execute(uri: "/logout", method: .post, headers: postHeaders, body: form(["csrf": hiddenCSRF(sites.text)]))
            #expect(out.status == .seeOther)
            // The old cookie no longer works: the session is deleted server-side.
            #expect(try await client.execute(uri: "/sites", method: .get, headers: jar.header).headers[.location] == "/login")
        }
    }

    @Test func secureCookiesWhenConfigured() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.secureCookies = true
        try await withLiveVeil(config) { client in
            var jar = Jar()
            let r = try await signIn(client, jar: &jar)
            #expect(r.headers[values: .setCookie].first { $0.hasPrefix("veil_session=") }?.contains("Secure") == true)
        }
    }

    @Test func loginNeedsCSRFAndIsRateLimited() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let noCSRF = try await client.execute(uri: "/login", method: .post, headers: formType, body: form(["username": "admin", "password": TestData.password]))
            #expect(noCSRF.status == .forbidden)
            var jar = Jar()
            for _ in 0..<5 {
                #expect(try await signIn(client, jar: &jar, password: "wrong").status == .unauthorized)
            }
            let limited = try await signIn(client, jar: &jar, password: TestData.password)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
            #expect(limited.text.contains("Too many failed attempts"))
        }
    }

    @Test func firstStartCreatesAdminWithAPrintedPasswordAndStoresOnlyAHash() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.adminPasswordHash = ""
        try await withLiveVeil(config) { _ in }
        let db = try VeilDatabase(folder: dir.path)
        let user = try #require(try await db.user(named: "admin"))
        #expect(user.passwordHash.hasPrefix("pbkdf2-sha256$"))
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/secret.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // A second start keeps the same user and secret.
        let secret = try String(contentsOfFile: dir.path + "/secret.key", encoding: .utf8)
        try await withLiveVeil(config) { _ in }
        #expect(try await db.user(named: "admin")?.passwordHash == user.passwordHash)
        #expect(try String(contentsOfFile: dir.path + "/secret.key", encoding: .utf8) == secret)
    }

    @Test func hostileDataIsEscapedOnEveryPage() async throws {
        let dir = TempDir()
        let evil = #"<script>alert(1)</script>"#
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let events = [
                #"{"site":"localhost","name":"pageview","url":"http://localhost/<script>alert(1)</script>","referrer":"https://evil.example/\"><img src=x onerror=alert(1)>"}"#,
                #"{"site":"localhost","name":"<script>alert(1)</script>","url":"http://localhost/'onmouseover='alert(1)"}"#,
                #"{"site":"localhost","name":"\"><svg onload=alert(1)>","url":"http://localhost/x"}"#,
            ]
            for e in events {
                let r = try await client.post("/api/event", e)
                #expect(r.text == #"{"accepted":1}"#)
            }
            var jar = Jar()
            _ = try await signIn(client, jar: &jar)
            let page = try await client.execute(uri: "/sites/localhost?range=today", method: .get, headers: jar.header).text
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!page.contains(evil))
            #expect(!page.contains("<img src=x"))
            #expect(!page.contains("<svg onload"))
            #expect(!page.contains("'onmouseover='"))
            let json = try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: bearer).text
            #expect(!json.contains("<script>"))
            #expect(json.contains(#"\u003cscript\u003e"#))
        }
    }
}

@Suite("Templates render hostile strings escaped")
struct TemplateTests {
    let hostile = #"<script>alert("x")</script>'"&"#

    func assertEscaped(_ html: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!html.contains("<script>alert"), sourceLocation: sourceLocation)
        #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39;&quot;&amp;"), sourceLocation: sourceLocation)
    }

    @Test func everyTemplate() throws {
        let pages = try PageRenderer()
        assertEscaped(pages.render(ErrorPage(status: 404, title: hostile, message: hostile), template: "error"))
        assertEscaped(pages.render(LoginPage(error: hostile, username: hostile, csrf: hostile), template: "login"))
        assertEscaped(pages.render(SitesPage(sites: [.init(domain: hostile, domainPath: hostile, hasData: false, visitors: "1", pageviews: "1", snippet: hostile)],
                                             username: hostile, csrf: hostile), template: "sites"))
        assertEscaped(pages.render(DemoPage(trackerPath: hostile, replay: true, replayRate: hostile), template: "demo"))
        let request = try StatsRequest.parse(site: hostile, query: ["range": "7d", "page": hostile], now: TestData.midnight)
        let row = BreakdownRow(value: hostile + "-row", visitors: 3, hits: 4, pageviews: 4, sessions: 2)
        var totals = Totals()
        totals.visitors = 1; totals.pageviews = 2; totals.hits = 3; totals.sessions = 1; totals.durationMillis = 65_000
        var breakdowns: [StatsDimension: Breakdown] = [:]
        for d in DashboardData.dimensions { breakdowns[d] = Breakdown(rows: [row], total: 20) }
        let data = DashboardData(request: request, current: StatsSnapshot(totals: totals, series: [SeriesPoint(start: TestData.midnight, visitors: 1, pageviews: 2)],
                                                                           breakdowns: breakdowns),
                                 previous: Totals(), previousSeries: [], realtime: Realtime(visitors: 1, pages: [row]))
        let header = StatsHeader(domain: hostile, base: "/sites/x", tab: "overview", request: request, readOnly: false)
        let html = pages.render(SitePage(data: data, header: header, geoConfigured: false, snippet: hostile, retentionDays: 395, oldestEvent: TestData.midnight,
                                         properties: (hostile, [hostile], hostile, Breakdown(rows: [row], total: 1)), shareURL: hostile,
                                         username: hostile, csrf: hostile), template: "site")
        assertEscaped(html)
        #expect(html.contains("1m 05s"))
        #expect(html.contains("Events are kept for 395 days and then deleted automatically; the oldest event held is from 2026-11-20."))
        // Every table renders its row, linked to a filter (UTM tables hide when only "(none)").
        #expect(html.components(separatedBy: "&amp;-row</a>").count - 1 >= DashboardData.dimensions.count + 1)
        for other in [pages.render(FunnelsPage(header: header, funnels: [FunnelsPage.funnel(name: hostile, window: 5, steps: [FunnelStep(goal: hostile, visitors: 2, sessions: 2)])],
                                               hasFunnels: true, goals: [hostile], hasGoals: true, adhocSteps: hostile, signedIn: true, username: hostile, csrf: hostile), template: "funnels"),
                      pages.render(BreakdownPage(header: header, table: StatsTable(dim: .page, breakdown: Breakdown(rows: [row], total: 1), request: request, base: "/x", empty: hostile),
                                                 rangeText: hostile, prevHref: hostile, hasPrev: true, nextHref: hostile, hasNext: true, signedIn: true, username: hostile, csrf: hostile), template: "breakdown"),
                      pages.render(RetentionPage(header: header, persistent: false, cohorts: [Cohort(weekStartDay: 20_000, size: 3, active: [3, 1])], username: hostile, csrf: hostile), template: "retention"),
                      pages.render(LivePage(header: header, visitors: hostile, pages: [], hasPages: false, updated: hostile, signedIn: true, username: hostile, csrf: hostile), template: "live"),
                      pages.render(ShareCreatedPage(domain: hostile, base: hostile, path: hostile, username: hostile, csrf: hostile), template: "share")] {
            assertEscaped(other)
        }
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

import VeilAssets
