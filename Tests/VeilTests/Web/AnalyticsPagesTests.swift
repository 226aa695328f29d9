import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import Privacy
@testable import Storage
@testable import Web

/// The analytics pages over HTTP: every table and view, CSV, the JSON API, public links,
/// and real Chromium rendering hostile data.
@Suite("Analytics pages and API", .serialized)
struct AnalyticsPagesTests {
    static let hostile = #"<img src=x onerror="document.title='pwned'">"#
    static let hostilePath = #"/a"><script>document.title='pwned'</script>"#
    static let formula = "=HYPERLINK(\"http://evil.example\",\"x\")"

    static func config(_ dir: TempDir) -> VeilConfig {
        var config = TestData.config(dataDir: dir.path)
        config.sites[0].analytics = AnalyticsRules(goals: [Goal(name: "Hostile goal", event: hostile), Goal(name: "Pricing", page: "/pricing*")],
                                                   funnels: [Funnel(name: "To hostile", steps: ["Pricing", "Hostile goal"])])
        return config
    }

    /// Hostile event names, paths, referrers, campaign tags and property keys and values.
    static func ingestHostile(_ client: some TestClientProtocol) async throws {
        let url = "http://localhost" + hostilePath
        let events = [
            #"{"name":"pageview","url":"http://localhost/pricing?utm_source=%3Cb%20onmouseover%3Dx%3Emarkup%3C%2Fb%3E","referrer":"https://evil.example/%3Cscript%3E"}"#,
            #"{"name":"pageview","url":\#(JSONWriter.string(url))}"#,
            #"{"name":\#(JSONWriter.string(hostile)),"url":\#(JSONWriter.string(url)),"props":{\#(JSONWriter.string(hostile)):\#(JSONWriter.string(formula))}}"#,
        ]
        let r = try await client.post("/api/batch", #"{"site":"localhost","events":[\#(events.joined(separator: ","))]}"#)
        #expect(r.status == .accepted, "\(r.text)")
    }

    static func shareToken(_ dir: TempDir) async throws -> String {
        let token = "test-share-token"
        let db = try VeilDatabase.open(folder: dir.path)
        try await db.createShareLink(site: "localhost", tokenHash: Array(SHA256.hash(data: Array(token.utf8))), nowMillis: 0)
        return token
    }

    @Test func everyViewAndTheAPI() async throws {
        let dir = TempDir()
        try await withLiveVeil(Self.config(dir)) { client in
            try await Self.ingestHostile(client)
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            let enc = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
            for uri in ["/sites/localhost?range=today", "/sites/localhost?range=7d&event=\(enc(Self.hostile))", "/sites/localhost?range=today&page=\(enc(Self.hostilePath))&channel=Referral",
                        "/sites/localhost/breakdown/page?range=today", "/sites/localhost/breakdown/goal?range=today&offset=0", "/sites/localhost/funnels?range=today&steps=\(enc("page:/pricing | event:x"))",
                        "/sites/localhost/journeys?range=today&at=%2Fpricing", "/sites/localhost/retention", "/sites/localhost/live", "/sites/localhost?range=12mo", "/sites/localhost?range=lastmonth"] {
                let r = try await client.execute(uri: uri, method: .get, headers: jar.header)
                #expect(r.status == .ok, "\(uri): \(r.text.prefix(300))")
                #expect(!r.text.contains("<script>document.title") && !r.text.contains("<img src=x"), "\(uri) echoes markup")
                #expect(r.text.contains("</footer>"), "\(uri) is cut short")
            }
            let today = try await client.execute(uri: "/sites/localhost?range=today", method: .get, headers: jar.header)
            #expect(today.text.contains("Changes are compared with yesterday until "))
            let week = try await client.execute(uri: "/sites/localhost?range=7d", method: .get, headers: jar.header)
            #expect(week.text.contains("Changes are compared with the previous 7 days."))
            // Filters show as removable chips; rows link to filtered views.
            let filtered = try await client.execute(uri: "/sites/localhost?range=today&channel=Referral", method: .get, headers: jar.header)
            #expect(filtered.text.contains("Channel is <strong>Referral</strong>") && filtered.text.contains("href=\"/sites/localhost?range=today\""))
            #expect(filtered.text.contains("href=\"/sites/localhost?range=today&amp;channel=Referral&amp;page=/pricing\""))
            // The realtime card is the whole site and says so under a filter; counts agree in number.
            #expect(filtered.text.contains("The whole site, unfiltered") && !today.text.contains("The whole site, unfiltered"))
            #expect(today.text.range(of: #"> 1 visitor in the last 5 minutes|> [0-9.,k]+ visitors in the last 5 minutes"#, options: .regularExpression) != nil)
            #expect(!today.text.contains("> 1 visitors"))
            // Without a country database the Countries table keeps saying why every visit is unknown;
            // exit pages have no visitors column (they count visits that ended there).
            #expect(today.text.contains("Countries need a country database"))
            let exits = try #require(today.text.range(of: "id=\"t-exit\""))
            let exitSection = String(today.text[exits.lowerBound...]).components(separatedBy: "</section>")[0]
            #expect(exitSection.contains("<table>") && !exitSection.contains(">Visitors</th>") && !exitSection.contains(">–<"), "\(exitSection)")
            // The Live view has no range or filters to offer.
            let live = try await client.execute(uri: "/sites/localhost/live?range=today&channel=Referral", method: .get, headers: jar.header)
            #expect(!live.text.contains("aria-label=\"Date range\"") && !live.text.contains("aria-label=\"Filters\"") && today.text.contains("aria-label=\"Date range\""))
            // Bad parameters are 4xx, never 5xx.
            for (uri, status) in [("/sites/localhost?range=forever", HTTPResponse.Status.badRequest), ("/sites/localhost/breakdown/nope", .notFound),
                                  ("/sites/localhost/breakdown/page?offset=-1", .badRequest), ("/sites/localhost/funnels?steps=onlyone", .badRequest),
                                  ("/sites/localhost/funnels?steps=a%7Cb", .badRequest), ("/share/unknown-token", .notFound),
                                  ("/sites/localhost/journeys?at=" + String(repeating: "a", count: 3000), .badRequest),
                                  ("/sites/localhost?page=" + String(repeating: "a", count: 3000), .badRequest)] {
                let r = try await client.execute(uri: uri, method: .get, headers: jar.header)
                #expect(r.status == status, "\(uri) gave \(r.status)")
            }
            // CSV: formula-leading cells are defused.
            let csv = try await client.execute(uri: "/sites/localhost/csv/prop?range=today&event=\(enc(Self.hostile))&prop=\(enc(Self.hostile))", method: .get, headers: jar.header)
            #expect(csv.status == .ok && csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",1,1"), "\(csv.text)")
            let pagesCSV = try await client.execute(uri: "/sites/localhost/csv/page?range=today", method: .get, headers: jar.header)
            #expect(pagesCSV.text.hasPrefix("page,visitors,pageviews\r\n") && pagesCSV.text.contains("/pricing,1,1"))
            // The JSON API serves the same tables with the same filters.
            let api = try await client.execute(uri: "/api/stats/breakdown?site=localhost&range=today&dim=source", method: .get, headers: bearer)
            #expect(api.json["rows"].map { ($0 as? [[String: Any]])?.first?["value"] as? String } == "evil.example")
            let apiFiltered = try await client.execute(uri: "/api/stats/overview?site=localhost&range=today&page=%2Fpricing", method: .get, headers: bearer)
            #expect(apiFiltered.json["pageviews"] as? Int == 1 && (apiFiltered.json["filters"] as? [String: String]) == ["page": "/pricing"])
            let series = try await client.execute(uri: "/api/stats/series?site=localhost&range=7d&granularity=day", method: .get, headers: bearer)
            #expect((series.json["series"] as? [Any])?.count == 7)
            let funnel = try await client.execute(uri: "/api/stats/funnel?site=localhost&range=today&name=To%20hostile", method: .get, headers: bearer)
            #expect((funnel.json["steps"] as? [[String: Any]])?.map { $0["visitors"] as? Int } == [1, 1])
            let props = try await client.execute(uri: "/api/stats/properties?site=localhost&range=today&event=\(enc(Self.hostile))", method: .get, headers: bearer)
            #expect(props.json["keys"] as? [String] == [Self.hostile])
            for uri in ["/api/stats/realtime?site=localhost", "/api/stats/journey?site=localhost&at=%2Fpricing", "/api/stats/cohorts?site=localhost"] {
                #expect(try await client.execute(uri: uri, method: .get, headers: bearer).status == .ok, "\(uri)")
            }
            #expect(try await client.execute(uri: "/api/stats/breakdown?site=localhost&dim=nope", method: .get, headers: bearer).status == .badRequest)
            #expect(try await client.execute(uri: "/api/stats/breakdown?site=localhost&dim=page", method: .get).status == .unauthorized)
        }
    }

    @Test func publicLinksAreReadOnlyAndRevocable() async throws {
        let dir = TempDir()
        try await withLiveVeil(Self.config(dir)) { client in
            try await Self.ingestHostile(client)
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            let overview = try await client.execute(uri: "/sites/localhost", method: .get, headers: jar.header)
            var headers = jar.header
            headers[.contentType] = "application/x-www-form-urlencoded"
            #expect(try await client.execute(uri: "/sites/localhost/share", method: .post, headers: headers, body: form(["csrf": "forged"])).status == .forbidden)
            let created = try await client.execute(uri: "/sites/localhost/share", method: .post, headers: headers, body: form(["csrf": hiddenCSRF(overview.text)]))
            let path = try #require(created.text.range(of: #"/share/[A-Za-z0-9_-]{20,}"#, options: .regularExpression).map { String(created.text[$0]) })
            let shared = try await client.execute(uri: path + "?range=today", method: .get)
            #expect(shared.status == .ok && shared.text.contains("Public read-only view") && shared.text.contains("/pricing"))
            #expect(!shared.text.contains("Tracking tag") && !shared.text.contains("/privacy") && !shared.text.contains("Sign out"))
            #expect(try await client.execute(uri: path + "/breakdown/page?range=today", method: .get).status == .ok)
            #expect(try await client.execute(uri: path + "/retention", method: .get).status == .ok)
            #expect(try await client.execute(uri: path + "/share", method: .post, headers: headers, body: form(["csrf": "x"])).status == .notFound)
            // Only its hash is stored.
            let token = String(path.dropFirst("/share/".count))
            try await VeilDatabase.open(folder: dir.path).checkpoint()
            #expect(!dir.allBytes().contains { $0.1.contains(bytes: Array(token.utf8)) })
            let again = try await client.execute(uri: "/sites/localhost", method: .get, headers: jar.header)
            #expect(again.text.contains("A public read-only link exists"))
            #expect(try await client.execute(uri: "/sites/localhost/share/revoke", method: .post, headers: headers, body: form(["csrf": hiddenCSRF(again.text)])).status == .seeOther)
            #expect(try await client.execute(uri: path, method: .get).status == .notFound)
        }
    }

    @Test(.enabled(if: Chromium.enabled, "needs chromium (apt-get install chromium)"))
    func hostileDataRendersInertInChromium() async throws {
        let dir = TempDir()
        let profile = TempDir()
        try await withLiveVeil(Self.config(dir)) { client in
            try await Self.ingestHostile(client)
            let token = try await Self.shareToken(dir)
            let port = try #require(client.port)
            let enc = { (s: String) in s.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
            for view in ["?range=today", "?range=today&event=\(enc(Self.hostile))", "?range=today&page=\(enc(Self.hostilePath))", "/breakdown/event?range=today",
                         "/breakdown/utm_source?range=today", "/funnels?range=today&steps=\(enc("page:/pricing|event:" + Self.hostile))", "/journeys?range=today&at=\(enc(Self.hostilePath))"] {
                let dom = try await Chromium.dump("http://127.0.0.1:\(port)/share/\(token)\(view)", profile: profile.path)
                #expect(dom.contains("privacy-first analytics"), "\(view) did not render to the end")
                #expect(!dom.contains("<title>pwned"), "\(view) ran injected script")
                #expect(!dom.contains("<img src=\"x\""), "\(view) created an injected element")
                #expect(!dom.contains("<b onmouseover"), "\(view) created an injected element")
                if !view.hasPrefix("/retention") { // retention shows counts only
                    #expect(dom.contains("&lt;img src=x onerror") || dom.contains("&lt;script&gt;") || dom.contains("&lt;b onmouseover"), "\(view) lost the hostile text")
                }
            }
        }
    }
}
