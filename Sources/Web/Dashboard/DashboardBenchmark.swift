import Foundation
import Privacy
import Storage

/// Timings for `veil bench dashboard`: every view the dashboard serves, each as a ratio to
/// one raw full-table aggregate (`count(DISTINCT visitor)` over all events) timed in the
/// same run on the same data. Medians of several runs after a warm-up. Pages are rendered
/// through the same code as the HTTP handlers.
public enum DashboardBenchmark {
    /// One measured view.
    public struct Row: Sendable {
        public var name: String
        public var millis: Double
        /// Share of the yardstick's time.
        public var ratio: Double
        /// Which target group the row belongs to (`overview`, `filtered`, `table`, `two`, `scan`).
        public var group: String
    }

    public struct Figures: Sendable {
        public var yardstickMillis: Double
        public var rows: [Row]
        /// Peak resident memory while answering (the peak is reset before the views run).
        public var peakRSSBytes: Int
        public var residentBeforeBytes: Int

        public func worst(_ group: String) -> Row? { rows.filter { $0.group == group }.max { $0.ratio < $1.ratio } }
        public func median(_ group: String) -> Double {
            let r = rows.filter { $0.group == group }.map(\.ratio).sorted()
            return r.isEmpty ? 0 : r[r.count / 2]
        }
    }

    /// `only`: names of the views to time (any containing one of these; all when empty).
    /// `stats` answers the views (default: the database itself); the yardstick is always
    /// SQLite's raw scan, so two backends' figures measured in one run compare directly.
    public static func measure(database: VeilDatabase, stats: (any StatsStore)? = nil, site: SiteRules, now: Int64, runs: Int = 3, only: [String] = [],
                               progress: (String) -> Void = { _ in }) async throws -> Figures {
        let store: any StatsStore = stats ?? database
        let pages = try PageRenderer()
        let domain = site.key
        let rules = site.analytics
        let base = try StatsRequest.parse(site: domain, rules: rules, query: ["range": "30d"], now: now)
        let before = Memory.resident()
        Memory.resetPeak()

        func overviewOnce(_ request: StatsRequest) async throws {
            let data = try await DashboardData.load(stats: store, request: request, now: now)
            let header = StatsHeader(domain: site.domain, base: "/sites/\(domain)", tab: "overview", request: request, readOnly: false)
            let page = SitePage(data: data, header: header, geoConfigured: true, snippet: "", retentionDays: site.eventsRetentionDays, oldestEvent: nil,
                                properties: nil, shareURL: nil, username: "bench", csrf: "")
            _ = pages.render(page, template: "site")
        }
        func tableOnce(_ request: StatsRequest, _ dim: StatsDimension) async throws {
            let b = try await store.breakdown(request.scope, dim, limit: 100)
            let header = StatsHeader(domain: site.domain, base: "/sites/\(domain)", tab: "overview", request: request, readOnly: false)
            let table = StatsTable(dim: dim, breakdown: b, request: request, base: "/sites/\(domain)", empty: "")
            _ = pages.render(BreakdownPage(header: header, table: table, rangeText: "", prevHref: "", hasPrev: false, nextHref: "", hasNext: false,
                                           signedIn: true, username: "bench", csrf: ""), template: "breakdown")
        }
        func filtered(_ filters: [(StatsDimension, String)]) throws -> StatsRequest {
            var query = ["range": "30d"]
            for (d, v) in filters { query[d.rawValue] = v }
            return try StatsRequest.parse(site: domain, rules: rules, query: query, now: now)
        }

        let yardstick = try await median(runs) { _ = try await database.rawDistinctVisitors() }
        var rows: [Row] = []
        func add(_ name: String, _ group: String, _ body: () async throws -> Void) async throws {
            guard only.isEmpty || only.contains(where: { name.contains($0) }) else { return }
            let ms: Double
            do {
                ms = try await median(runs, body)
            } catch StorageError.unsupported {
                return  // not answered by this backend yet: no row rather than a false figure
            }
            rows.append(Row(name: name, millis: ms, ratio: ms / yardstick, group: group))
            progress(name)
        }
        try await add("overview, unfiltered", "overview") { try await overviewOnce(base) }
        // A click on the top row of each table: the commonest value, the most rows to count.
        var top: [StatsDimension: String] = [:]
        for dim in StatsDimension.allCases {
            if let value = try await store.breakdown(base.scope, dim, limit: 1).rows.first?.value { top[dim] = value }
        }
        for dim in StatsDimension.allCases {
            guard let value = top[dim] else { continue }
            let request = try filtered([(dim, value)])
            try await add("overview, \(dim.rawValue)=\(value)", "filtered") { try await overviewOnce(request) }
        }
        if let page = top[.page] {
            let request = try filtered([(.page, page)])
            try await add("table: referrers, page=\(page)", "table") { try await tableOnce(request, .source) }
        }
        if let country = top[.country] {
            let request = try filtered([(.country, country)])
            try await add("table: pages, country=\(country)", "table") { try await tableOnce(request, .page) }
        }
        if let country = top[.country], let device = top[.device] {
            let request = try filtered([(.country, country), (.device, device)])
            try await add("overview, country=\(country) + device=\(device)", "two") { try await overviewOnce(request) }
        }
        if let page = top[.page], let channel = top[.channel] {
            let request = try filtered([(.page, page), (.channel, channel)])
            try await add("overview, page=\(page) + channel=\(channel)", "two") { try await overviewOnce(request) }
        }
        let steps = rules.goals.filter { $0.page != nil } + rules.goals.filter { $0.page == nil }.prefix(1)
        try await add("funnel: \(steps.map(\.name).joined(separator: " > "))", "scan") {
            _ = try await store.funnelsScreen(base.scope, funnels: [FunnelQuery(steps: Array(steps), windowMinutes: nil)])
        }
        try await add("journey from \(top[.page] ?? "/")", "scan") { _ = try await store.journeysScreen(base.scope, at: top[.page], pages: 20, limit: 10) }
        if let event = rules.goals.compactMap(\.event).first {
            try await add("property breakdown: \(event) by plan", "scan") { _ = try await store.propertyBreakdown(base.scope, event: event, key: "plan", limit: 100, offset: 0) }
        }
        return Figures(yardstickMillis: yardstick, rows: rows, peakRSSBytes: Memory.peak(), residentBeforeBytes: before)
    }

    static func median(_ runs: Int, _ body: () async throws -> Void) async throws -> Double {
        try await body() // warm-up: page cache and prepared statements
        var times: [Double] = []
        for _ in 0..<max(1, runs) {
            let start = ContinuousClock.now
            try await body()
            let d = ContinuousClock.now - start
            times.append(Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15)
        }
        return times.sorted()[times.count / 2]
    }

    /// This process's resident memory, from /proc (Linux; 0 elsewhere).
    public enum Memory {
        static func field(_ name: String) -> Int {
            guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
            for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
                let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
                return kb * 1024
            }
            return 0
        }

        public static func resident() -> Int { field("VmRSS") }
        public static func peak() -> Int { field("VmHWM") }

        /// Resets the peak to the current resident size ("5" in clear_refs; see proc(5)).
        public static func resetPeak() {
            try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        }
    }
}
