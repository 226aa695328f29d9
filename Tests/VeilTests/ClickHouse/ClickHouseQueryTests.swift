import Foundation
import Testing
import Privacy
@testable import Storage

/// The query-correctness datasets answered by ClickHouse must equal SQLite's answers,
/// question for question. Events reach ClickHouse the production way: committed to a
/// node's outbox, then shipped.
@Suite("ClickHouse answers equal SQLite's", .serialized, .enabled(if: ClickHouseTestServer.available, "needs Debian's clickhouse-server (.ci/run installs it)"))
struct ClickHouseQueryTests {
    typealias A = AnalyticsTests

    /// Loads `batches` into a new SQLite database and, through an outbox, into ClickHouse.
    /// `client`: a migrated client of the server's to use (default: a new database's).
    static func load(_ batches: [[CleanEvent]], rules: AnalyticsRules, server: ClickHouseTestServer,
                     client given: ClickHouseClient? = nil) async throws -> (VeilDatabase, ClickHouseStats, TempDir) {
        let dir = TempDir()
        let sqlite = try VeilDatabase.open(folder: dir.path + "/sqlite")
        let node = try VeilDatabase.open(folder: dir.path + "/node")
        let client: ClickHouseClient
        if let given { client = given } else { client = try await server.client() }
        for batch in batches {
            _ = try await sqlite.insert(batch, sessionTimeoutMillis: 30 * A.minute, rules: [A.site: rules])
            _ = try await node.appendToOutbox(batch, now: 0)
        }
        let shipper = ShippingService(database: node, client: client, gauge: OutboxGauge(), logger: TestData.logger())
        while try await shipper.shipOnce(verify: false) > 0 {}
        #expect(try await node.outboxState().depth == 0)
        return (sqlite, ClickHouseStats(client: client, sessionTimeoutMillis: 30 * A.minute), dir)
    }

    /// Every table, the totals and the series at every granularity, from one ClickHouse
    /// read of all cells (what `totals`, `breakdown` and `series` each ask for a part of),
    /// against SQLite's separate answers.
    static func compare(_ sqlite: VeilDatabase, _ ch: ClickHouseStats, _ scope: StatsScope, _ label: String,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let cells = try await ch.cells(scope, dimensions: Set(StatsDimension.allCases), hours: true)
        #expect(cells.totals(fromDay: scope.fromDay, toDay: scope.toDay) == (try await sqlite.totals(scope)), "\(label) totals", sourceLocation: sourceLocation)
        for dim in StatsDimension.allCases {
            let a = cells.breakdown(dim, fromDay: scope.fromDay, toDay: scope.toDay, limit: 1000, offset: 0), b = try await sqlite.breakdown(scope, dim, limit: 1000, offset: 0)
            #expect(a == b, "\(label) \(dim.rawValue): ClickHouse \(a.rows.map { "\($0.value)|\($0.visitors)|\($0.hits)|\($0.pageviews)|\($0.sessions)" }) SQLite \(b.rows.map { "\($0.value)|\($0.visitors)|\($0.hits)|\($0.pageviews)|\($0.sessions)" })", sourceLocation: sourceLocation)
        }
        for event in ["signup", "Buy click"] {
            #expect(try await ch.propertyKeys(scope, event: event) == sqlite.propertyKeys(scope, event: event), "\(label) property keys of \(event)", sourceLocation: sourceLocation)
        }
        #expect(try await ch.propertyBreakdown(scope, event: "signup", key: "plan", limit: 100, offset: 0) == sqlite.propertyBreakdown(scope, event: "signup", key: "plan", limit: 100, offset: 0),
                "\(label) property values", sourceLocation: sourceLocation)
        for g in Granularity.allCases {
            #expect(ClickHouseStats.series(cells, scope, granularity: g) == (try await sqlite.series(scope, granularity: g)), "\(label) series \(g)", sourceLocation: sourceLocation)
        }
    }

    /// Funnels (the configured one, every goal in a row, ad-hoc page and event steps, with
    /// and without windows), the journey through every page and the journeys screen.
    static func comparePaths(_ sqlite: VeilDatabase, _ ch: ClickHouseStats, _ scope: StatsScope, _ label: String,
                             sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let rules = scope.rules
        var funnels: [[Goal]] = rules.funnels.map { $0.steps.compactMap { rules.goal(named: $0) } }
        funnels.append(rules.goals)
        funnels.append([Goal(name: "blog", page: "/blog"), Goal(name: "pricing", page: "/pricing*"), Goal(name: "signup", event: "signup")])
        funnels.append([Goal(name: "any page", page: "*"), Goal(name: "buy", event: "Buy click"), Goal(name: "any page again", page: "*")])
        for steps in funnels {
            for window in [nil, 1, 30] {
                let a = try await ch.funnel(scope, steps: steps, windowMinutes: window), b = try await sqlite.funnel(scope, steps: steps, windowMinutes: window)
                #expect(a == b, "\(label) funnel \(steps.map(\.name)) window \(window.map(String.init) ?? "none"): ClickHouse \(a) SQLite \(b)", sourceLocation: sourceLocation)
            }
        }
        let queries = funnels.map { FunnelQuery(steps: $0, windowMinutes: 30) }
        #expect(try await ch.funnelsScreen(scope, funnels: queries) == sqlite.funnelsScreen(scope, funnels: queries), "\(label) funnels screen", sourceLocation: sourceLocation)
        for page in ["/", "/pricing", "/blog", "/docs", "/checkout", "/pricing/team", "/nowhere"] {
            let a = try await ch.journey(scope, page: page, limit: 100), b = try await sqlite.journey(scope, page: page, limit: 100)
            #expect(a == b, "\(label) journey \(page): ClickHouse \(a) SQLite \(b)", sourceLocation: sourceLocation)
        }
        #expect(try await ch.journeysScreen(scope, at: nil, pages: 5, limit: 2) == sqlite.journeysScreen(scope, at: nil, pages: 5, limit: 2), "\(label) journeys screen",
                sourceLocation: sourceLocation)
    }

    @Test func knownDatasetEveryTableAndFilter() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let (sqlite, ch, dir) = try await Self.load(A.dataset.map { [$0] }, rules: A.rules, server: server)
        defer { withExtendedLifetime(dir) {} }
        // The hand-counted answers hold on ClickHouse too.
        let t = try await ch.totals(A.scope())
        #expect(t.visitors == 3 && t.pageviews == 6 && t.customEvents == 3 && t.sessions == 3 && t.bounces == 1 && t.durationMillis == 5 * A.minute)
        try await Self.compare(sqlite, ch, A.scope(), "day D")
        try await Self.compare(sqlite, ch, A.scope(from: A.day - 1), "two days")
        try await Self.compare(sqlite, ch, A.scope(from: A.day - 40), "40 days")
        let filters: [[StatsFilter]] = [
            [StatsFilter(.channel, "Direct")], [StatsFilter(.channel, "Direct"), StatsFilter(.page, "/pricing")], [StatsFilter(.goal, "Signup")],
            [StatsFilter(.goal, "Pricing")], [StatsFilter(.goal, "Pro signup")], [StatsFilter(.event, "Buy click")], [StatsFilter(.event, "signup")],
            [StatsFilter(.source, "")], [StatsFilter(.goal, "No such goal")], [StatsFilter(.entry, "/")], [StatsFilter(.exit, "/checkout")],
            [StatsFilter(.country, "FR")], [StatsFilter(.device, "mobile")], [StatsFilter(.browser, "Chrome")], [StatsFilter(.os, "iOS")],
            [StatsFilter(.screen, "Laptop")], [StatsFilter(.language, "en")], [StatsFilter(.utmSource, "newsletter")], [StatsFilter(.utmMedium, "email")],
            [StatsFilter(.utmCampaign, "")], [StatsFilter(.source, "www.google.com")], [StatsFilter(.page, "/checkout")], [StatsFilter(.utmTerm, "none-such")],
            [StatsFilter(.utmContent, "")],
        ]
        for f in filters {
            try await Self.compare(sqlite, ch, A.scope(f), f.map { "\($0.dimension.rawValue)=\($0.value)" }.joined(separator: "&"))
        }
        // Funnels and journeys: the hand-counted answers, then every variant against SQLite.
        let buy = A.rules.funnels[0].steps.compactMap { A.rules.goal(named: $0) }
        #expect(try await ch.funnel(A.scope(), steps: buy, windowMinutes: nil).map(\.visitors) == [3, 2])
        #expect(try await ch.funnel(A.scope(), steps: buy, windowMinutes: 1).map(\.visitors) == [3, 1])
        #expect(Set(try await ch.journey(A.scope(from: A.day - 1), page: "/pricing", limit: 10).previous.map(\.value)) == ["/", "/blog"])
        try await Self.comparePaths(sqlite, ch, A.scope(), "day D")
        try await Self.comparePaths(sqlite, ch, A.scope(from: A.day - 1), "two days")
        for f in [[StatsFilter(.channel, "Direct")], [StatsFilter(.page, "/pricing")], [StatsFilter(.goal, "Signup")], [StatsFilter(.device, "mobile")], [StatsFilter(.exit, "/checkout")]] {
            try await Self.comparePaths(sqlite, ch, A.scope(f), f.map { "\($0.dimension.rawValue)=\($0.value)" }.joined(separator: "&"))
        }
        #expect(try await ch.cohorts(site: A.site, fromDay: A.day - 10, toDay: A.day + 1, calendar: .utc) == sqlite.cohorts(site: A.site, fromDay: A.day - 10, toDay: A.day + 1, calendar: .utc))
        // The single-question methods themselves (the comparisons above read all cells at once).
        #expect(try await ch.totals(A.scope()) == sqlite.totals(A.scope()))
        #expect(try await ch.breakdown(A.scope([StatsFilter(.channel, "Direct")]), .exit, limit: 10, offset: 0) == sqlite.breakdown(A.scope([StatsFilter(.channel, "Direct")]), .exit, limit: 10, offset: 0))
        #expect(try await ch.series(A.scope(from: A.day - 6), granularity: .day) == sqlite.series(A.scope(from: A.day - 6), granularity: .day))
        // The owner's "data since": the oldest event.
        #expect(try await ch.oldestEvent(site: A.site) == sqlite.firstEventTime(site: A.site))
        #expect(try await ch.oldestEvent(site: "nobody.example") == nil)
        // Realtime and the Today comparison's raw totals.
        let now = TestData.midnight + 15 * A.hour + 4 * A.minute
        #expect(try await ch.realtime(site: A.site, now: now, windowMillis: 300_000, limit: 10) == sqlite.realtime(site: A.site, now: now))
        let morning = try await ch.rawTotals(site: A.site, from: TestData.midnight, to: TestData.midnight + 10 * A.hour + 30 * A.minute, rules: A.rules)
        let sqliteMorning = try await sqlite.rawTotals(site: A.site, from: TestData.midnight, to: TestData.midnight + 10 * A.hour + 30 * A.minute)
        #expect(morning.visitors == sqliteMorning.visitors && morning.pageviews == sqliteMorning.pageviews && morning.sessions == sqliteMorning.sessions)
    }

    /// The seeded random datasets of the rollup property test, in UTC and in zones with
    /// 23- and 25-hour days and half- and three-quarter-hour offsets, day by day.
    @Test(arguments: [("UTC", 2026, 11, 18, UInt64(1)), ("UTC", 2026, 11, 18, 2), ("Europe/Berlin", 2026, 10, 24, 7), ("America/New_York", 2026, 3, 7, 7),
                      ("Asia/Kolkata", 2026, 12, 1, 7), ("Asia/Kathmandu", 2026, 12, 1, 3)])
    func randomDatasetsInTimeZones(zone: String, year: Int, month: Int, day: Int, seed: UInt64) async throws {
        var rules = A.rules
        rules.calendar = try #require(DayCalendar(identifier: zone))
        let start = rules.calendar.start(ofDay: DayCalendar.day(year: year, month: month, day: day)) - 4 * A.hour
        var rng = SplitMix(seed)
        let (batches, clock) = A.randomBatches(rng: &rng, start: start)
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let (sqlite, ch, dir) = try await Self.load(batches, rules: rules, server: server)
        defer { withExtendedLifetime(dir) {} }
        let first = rules.calendar.day(of: start), last = rules.calendar.day(of: clock)
        for d in first...last {
            try await Self.compare(sqlite, ch, StatsScope(site: A.site, fromDay: d, toDay: d + 1, rules: rules), "\(zone) day \(d)")
        }
        try await Self.compare(sqlite, ch, StatsScope(site: A.site, fromDay: first, toDay: last + 1, rules: rules), "\(zone) all days")
        try await Self.compare(sqlite, ch, StatsScope(site: A.site, fromDay: first, toDay: last + 1, filters: [StatsFilter(.channel, "Direct")], rules: rules), "\(zone) Direct")
        try await Self.comparePaths(sqlite, ch, StatsScope(site: A.site, fromDay: first, toDay: last + 1, rules: rules), "\(zone) all days")
        try await Self.comparePaths(sqlite, ch, StatsScope(site: A.site, fromDay: last, toDay: last + 1, filters: [StatsFilter(.channel, "Direct")], rules: rules), "\(zone) last day, Direct")
    }

    /// Retention cohorts of returning visitors over ten weeks, in zones whose weeks hold a
    /// clock change (the data of the SQLite cohort test).
    @Test(arguments: [("UTC", UInt64(5)), ("Europe/Berlin", UInt64(6)), ("America/New_York", UInt64(7))])
    func cohortsEqualSQLites(zone: String, seed: UInt64) async throws {
        var rules = A.rules
        rules.calendar = try #require(DayCalendar(identifier: zone))
        let start = rules.calendar.start(ofDay: DayCalendar.day(year: 2026, month: 9, day: 14))
        var rng = SplitMix(seed)
        var events: [CleanEvent] = []
        for _ in 0..<400 {
            events.append(A.ev(start + Int64.random(in: 0..<(70 * TestData.day), using: &rng), UInt8.random(in: 1...40, using: &rng), "/"))
        }
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let (sqlite, ch, dir) = try await Self.load(events.sorted { $0.timestamp < $1.timestamp }.map { [$0] }, rules: rules, server: server)
        defer { withExtendedLifetime(dir) {} }
        let firstDay = rules.calendar.day(of: start)
        for (from, to) in [(firstDay + 20, firstDay + 60), (firstDay, firstDay + 70), (firstDay + 33, firstDay + 34)] {
            let a = try await ch.cohorts(site: A.site, fromDay: from, toDay: to, calendar: rules.calendar)
            let b = try await sqlite.cohorts(site: A.site, fromDay: from, toDay: to, calendar: rules.calendar)
            #expect(a == b, "\(zone) days \(from)..<\(to)")
            if to - from == 70 { #expect(a.contains { $0.active.dropFirst().contains { $0 > 0 } }, "someone comes back") }
        }
    }
}
