import Foundation
import GRDB
import Testing
@testable import Privacy
@testable import Storage

/// Filtered views are counted by `EventStream` + `StreamCells` (integer keys, sessions read
/// apart from events, days forgotten once passed). They must count exactly what the
/// rollup accumulator counts over the same matching rows: this property test compares
/// the two for every filter kind, pairs of filters, several days, and zones with clock
/// changes, on random data.
@Suite("Filtered stream equals the accumulator")
struct FilteredStreamTests {
    static let site = "shop.example"
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    /// 60 random batches over several days around Berlin's 25-hour day (2026-10-25), in `zone`.
    static func seed(zone: String, seed: UInt64) async throws -> (dir: TempDir, db: VeilDatabase, rules: AnalyticsRules, firstDay: Int64, lastDay: Int64) {
        var rules = AnalyticsTests.rules
        rules.calendar = try #require(DayCalendar(identifier: zone), "\(zone) is missing from the zone database (tzdata)")
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let start = rules.calendar.start(ofDay: DayCalendar.day(year: 2026, month: 10, day: 23)) - 3 * Self.hour
        var rng = SplitMix(seed)
        let paths = ["/", "/pricing", "/blog", "/docs", "/pricing/team"]
        var clock = start
        for _ in 0..<60 {
            var batch: [CleanEvent] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                clock += Int64.random(in: 0...(50 * Self.minute), using: &rng)
                let visitor = UInt8.random(in: 1...9, using: &rng)
                let channel = Acquisition.Channel.allCases.randomElement(using: &rng)!
                let path = paths.randomElement(using: &rng)!
                let country = ["DE", "FR", ""].randomElement(using: &rng)!
                let referrer = ["news.example", "search.example", nil].randomElement(using: &rng)!
                let device = ["desktop", "mobile"].randomElement(using: &rng)!
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<6: batch.append(AnalyticsTests.ev(clock, visitor, path, referrer: referrer, channel: channel, device: device, country: country))
                case 6, 7: batch.append(AnalyticsTests.ev(clock, visitor, path, name: "signup", props: [("plan", ["pro", "free"].randomElement(using: &rng)!)], channel: channel))
                default: batch.append(AnalyticsTests.ev(clock, visitor, path, name: "$click", props: [("tag", "button"), ("id", ["buy", "other"].randomElement(using: &rng)!)]))
                }
            }
            _ = try await db.insert(batch, sessionTimeoutMillis: 30 * Self.minute, rules: [Self.site: rules])
        }
        return (dir, db, rules, rules.calendar.day(of: start), rules.calendar.day(of: clock))
    }

    @Test(arguments: [("UTC", UInt64(11)), ("Europe/Berlin", UInt64(12)), ("Asia/Kathmandu", UInt64(13))])
    func streamEqualsAccumulatorForEveryFilter(zone: String, seed: UInt64) async throws {
        let (dir, db, rules, firstDay, lastDay) = try await Self.seed(zone: zone, seed: seed)
        defer { _ = dir }
        let all = StatsScope(site: Self.site, fromDay: firstDay, toDay: lastDay + 1, rules: rules)
        // Filters: for every dimension its most common value and a value nothing has;
        // then pairs of common values.
        var filters: [[StatsFilter]] = [[]]
        var common: [StatsFilter] = []
        for dim in StatsDimension.allCases {
            let top = try await db.breakdown(all, dim, limit: 2)
            for row in top.rows { filters.append([StatsFilter(dim, row.value)]) }
            if let first = top.rows.first { common.append(StatsFilter(dim, first.value)) }
            filters.append([StatsFilter(dim, "nothing-has-this")])
        }
        for (i, a) in common.enumerated() { for b in common.dropFirst(i + 1) where (i + b.value.count) % 3 == 0 { filters.append([a, b]) } }
        #expect(filters.count > 50)
        // A range inside the data (sessions cross its edges) and the whole of it.
        for (from, to) in [(firstDay + 1, lastDay), (firstDay, lastDay + 1)] {
            for f in filters {
                let scope = StatsScope(site: Self.site, fromDay: from, toDay: to, filters: f, rules: rules)
                let streamed = try await db.filteredCells(scope)
                let reference = try await db.read { d in try Self.reference(d, scope) }
                let difference = Self.diff(streamed, reference)
                #expect(difference.isEmpty && streamed.cells.count == reference.cells.count, "\(zone) days \(from)..<\(to) filters \(f.map { "\($0.dimension.rawValue)=\($0.value)" }): \(difference)")
                // Without hourly cells (every chart but the hourly one): the same, less the hours.
                let daily = try await db.read { d in try VeilDatabase.streamedCells(d, scope, hours: false) }
                #expect(daily.cells == reference.cells.filter { $0.key.dim != "hour" }, "\(zone) \(f) without hours")
            }
        }
    }

    /// A view filtered by one session-level value reads its totals and daily series from the
    /// rollups (issue 12). They must be the numbers the scan counts, for every session-level
    /// dimension, in every zone, over partial and whole ranges, by day and by week.
    @Test(arguments: [("UTC", UInt64(21)), ("Europe/Berlin", UInt64(22)), ("Asia/Kathmandu", UInt64(23))])
    func rollupHeadlinesEqualTheScanForSessionLevelFilters(zone: String, seed: UInt64) async throws {
        let (dir, db, rules, firstDay, lastDay) = try await Self.seed(zone: zone, seed: seed)
        defer { _ = dir }
        try await db.markRollupsCurrent(site: Self.site, rules: rules)
        let all = StatsScope(site: Self.site, fromDay: firstDay, toDay: lastDay + 1, rules: rules)
        var checked = 0
        for dim in StatsDimension.sessionLevel {
            let values = try await db.breakdown(all, dim, limit: 3).rows.map(\.value) + ["nothing-has-this"]
            for value in values {
                for (from, to) in [(firstDay + 1, lastDay), (firstDay, lastDay + 1)] {
                    let scope = StatsScope(site: Self.site, fromDay: from, toDay: to, filters: [StatsFilter(dim, value)], rules: rules)
                    let (fromRollups, totals, days, weeks, snapshot) = try await db.read { d in
                        (try VeilDatabase.rollupFilter(d, scope) != nil, try VeilDatabase.totals(d, scope),
                         try VeilDatabase.series(d, scope, granularity: .day), try VeilDatabase.series(d, scope, granularity: .week),
                         try VeilDatabase.snapshot(d, scope, granularity: .day, dimensions: [], limit: 0))
                    }
                    #expect(fromRollups)
                    let cells = try await db.read { d in try VeilDatabase.streamedCells(d, scope) }
                    var points: [Int64: (Int, Int)] = [:]
                    for (k, c) in cells.cells where k.dim == "total" { points[k.bucket] = (c.visitors, c.pageviews) }
                    let what = "\(zone) \(dim.rawValue)=\(value) days \(from)..<\(to)"
                    #expect(totals == cells.totals(fromDay: from, toDay: to), "\(what)")
                    #expect(days == VeilDatabase.bucketed(points, scope: scope, granularity: .day), "\(what)")
                    #expect(weeks == VeilDatabase.bucketed(points, scope: scope, granularity: .week), "\(what)")
                    #expect(snapshot.totals == totals && snapshot.series == days, "\(what)")
                    checked += 1
                }
            }
        }
        #expect(checked >= 2 * 2 * StatsDimension.sessionLevel.count)
        // Stale rollups (recomputation pending) never answer.
        let scope = StatsScope(site: Self.site, fromDay: firstDay, toDay: lastDay + 1, filters: [StatsFilter(.device, "mobile")], rules: rules)
        try await db.pool.write { d in try d.execute(sql: "UPDATE rollup_state SET fingerprint = 'other'") }
        #expect(try await db.read { d in try VeilDatabase.rollupFilter(d, scope) } == nil)
    }

    static func diff(_ a: CellSums, _ b: CellSums) -> String {
        let keys = Set(a.cells.keys).union(b.cells.keys).filter { a.cells[$0] != b.cells[$0] }
        return keys.prefix(4).map { "\($0.dim)/\($0.bucket)/\($0.value): \(String(describing: a.cells[$0])) vs \(String(describing: b.cells[$0]))" }.joined(separator: "; ")
    }

    /// What a filter means, written the plain way: every event of the range joined to its
    /// session, the filters checked on each in Swift, the matching ones fed to the rollup
    /// accumulator in insertion order, then the sessions they belong to that started in range.
    static func reference(_ db: Database, _ scope: StatsScope) throws -> CellSums {
        let rules = scope.rules
        var acc = RollupAccumulator(rules: rules)
        var sessions: [Int64: SessionFacts] = [:]
        let statement = try db.makeStatement(sql: """
            SELECT \(ScannedEvent.columns) FROM events e JOIN sessions s ON s.id = e.session_id
            WHERE e.site = ? AND e.ts >= ? AND e.ts < ? ORDER BY e.id
            """)
        let reader = try ScannedEvent.Reader(statement)
        let rows = try Row.fetchCursor(statement, arguments: [scope.site, scope.fromMillis, scope.toMillis])
        while let row = try rows.next() {
            let e = reader.read(row)
            let passes = scope.filters.allSatisfy { f in
                switch f.dimension {
                case .page: return e.path == f.value
                case .exit: return e.session.exit == f.value
                case .event: return e.name != "pageview" && rules.effectiveName(name: e.name, props: e.props) == f.value
                case .goal: return rules.goalsMet(name: rules.effectiveName(name: e.name, props: e.props), path: e.path, props: e.props).contains(f.value)
                default: return e.session.values[StatsDimension.sessionLevel.firstIndex(of: f.dimension)!] == f.value
                }
            }
            guard passes else { continue }
            acc.addEvent(visitor: e.visitor, ts: e.ts, name: e.name, path: e.path, props: e.props, session: e.session) { [] }
            sessions[e.session.id] = e.session
        }
        for s in sessions.values where s.startedAt >= scope.fromMillis && s.startedAt < scope.toMillis { acc.addSession(s) }
        return CellSums(cells: acc.takeDeltas())
    }
}
