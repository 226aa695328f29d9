import Foundation
import Privacy
import Storage

/// Timings for `veil bench dashboard`: what a dashboard request costs, next to one raw
/// full-table aggregate on the same data. Medians of several runs after a warm-up.
public enum DashboardBenchmark {
    public struct Figures: Sendable {
        public var overviewMillis: Double
        public var filteredBreakdownMillis: Double
        public var filteredOverviewMillis: Double
        public var rawScanMillis: Double
    }

    public static func measure(database: VeilDatabase, site: SiteRules, now: Int64, runs: Int = 5) async throws -> Figures {
        let pages = try PageRenderer()
        let domain = site.key
        let overview = try StatsRequest.parse(site: domain, rules: site.analytics, query: ["range": "30d"], now: now)
        let filtered = try StatsRequest.parse(site: domain, rules: site.analytics, query: ["range": "30d", "page": "/pricing"], now: now)

        func overviewOnce(_ request: StatsRequest) async throws {
            let data = try await DashboardData.load(stats: database, request: request, now: now)
            let header = StatsHeader(domain: site.domain, base: "/sites/\(domain)", tab: "overview", request: request, readOnly: false)
            let page = SitePage(data: data, header: header, geoConfigured: true, snippet: "", retentionDays: site.eventsRetentionDays, oldestEvent: nil,
                                properties: nil, shareURL: nil, username: "bench", csrf: "")
            _ = pages.render(page, template: "site")
        }
        func breakdownOnce() async throws {
            let b = try await database.breakdown(filtered.scope, .source, limit: 100)
            let header = StatsHeader(domain: site.domain, base: "/sites/\(domain)", tab: "overview", request: filtered, readOnly: false)
            let table = StatsTable(dim: .source, breakdown: b, request: filtered, base: "/sites/\(domain)", empty: "")
            _ = pages.render(BreakdownPage(header: header, table: table, rangeText: "", prevHref: "", hasPrev: false, nextHref: "", hasNext: false,
                                           signedIn: true, username: "bench", csrf: ""), template: "breakdown")
        }
        return Figures(overviewMillis: try await median(runs) { try await overviewOnce(overview) },
                       filteredBreakdownMillis: try await median(runs) { try await breakdownOnce() },
                       filteredOverviewMillis: try await median(max(1, runs / 2)) { try await overviewOnce(filtered) },
                       rawScanMillis: try await median(3) { _ = try await database.rawDistinctVisitors() })
    }

    static func median(_ runs: Int, _ body: () async throws -> Void) async throws -> Double {
        try await body() // warm-up: page cache and prepared statements
        var times: [Double] = []
        for _ in 0..<runs {
            let start = ContinuousClock.now
            try await body()
            let d = ContinuousClock.now - start
            times.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        return times.sorted()[times.count / 2]
    }
}
