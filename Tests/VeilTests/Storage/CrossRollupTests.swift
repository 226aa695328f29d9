import Foundation
import GRDB
import Testing
@testable import Privacy
@testable import Storage

/// Cross rollups (issue 12) answer views filtered by one session-level value from per-day
/// cells. They must give exactly what the stream counts over the same days, in every zone,
/// for every session-level dimension, while days are written to again, erased and expired.
@Suite("Cross rollups equal the stream")
struct CrossRollupTests {
    static let site = FilteredStreamTests.site

    /// Every dimension's common values and one nothing has, over a range inside the data and
    /// the whole of it: cells read through `filteredCells` (cross rollups of complete days,
    /// the others counted for the one filter) against the stream alone. Returns how many days
    /// of the whole range have complete cross rollups.
    @discardableResult
    static func expectEqual(_ db: VeilDatabase, rules: AnalyticsRules, firstDay: Int64, lastDay: Int64, _ what: String) async throws -> Int {
        let all = StatsScope(site: site, fromDay: firstDay, toDay: lastDay + 1, rules: rules)
        var compared = 0
        for dim in CrossDay.filterDims {
            // The pages of the visits across midnight and of the late events, too.
            let extra = dim == .page ? ["/both-sides", "/carried-entry", "/late", "/later"] : []
            let values = try await db.breakdown(all, dim, limit: 3).rows.map(\.value) + extra + ["nothing-has-this"]
            for value in values {
                for (from, to) in [(firstDay + 1, lastDay), (firstDay, lastDay + 1), (firstDay + 2, lastDay + 1)] {
                    let scope = StatsScope(site: site, fromDay: from, toDay: to, filters: [StatsFilter(dim, value)], rules: rules)
                    for dimensions in [nil, [.exit, .country]] as [[StatsDimension]?] {
                        let (crossed, streamed) = try await db.read { d in
                            (try VeilDatabase.filteredCells(d, scope, dimensions: dimensions, hours: false),
                             try VeilDatabase.streamedCells(d, scope, dimensions: dimensions, hours: false))
                        }
                        let difference = FilteredStreamTests.diff(crossed, streamed)
                        #expect(difference.isEmpty && crossed.cells.count == streamed.cells.count,
                                "\(what) \(dim.rawValue)=\(value) days \(from)..<\(to) tables \(String(describing: dimensions)): \(difference)")
                        compared += 1
                    }
                }
            }
        }
        #expect(compared >= StatsDimension.allCases.count * 2 * 3 * 2)
        // Property breakdowns and keys of custom events (named as the dashboard names them).
        var propertyRows = 0
        for event in ["signup", "$click", "Buy click", "nothing-has-this"] {
            for (from, to) in [(firstDay + 1, lastDay), (firstDay, lastDay + 1)] {
                let scope = StatsScope(site: site, fromDay: from, toDay: to, rules: rules)
                let (keys, streamedKeys) = try await db.read { d in
                    (try VeilDatabase.propertyKeys(d, scope, event: event), try VeilDatabase.propertyKeys(d, scope, event: event, crossRollups: false))
                }
                #expect(keys == streamedKeys, "\(what) keys of \(event) days \(from)..<\(to)")
                for key in streamedKeys + ["missing"] {
                    let (values, streamed) = try await db.read { d in
                        (try VeilDatabase.propertyBreakdown(d, scope, event: event, key: key, limit: 100),
                         try VeilDatabase.propertyBreakdown(d, scope, event: event, key: key, limit: 100, crossRollups: false))
                    }
                    #expect(values == streamed, "\(what) \(event).\(key) days \(from)..<\(to)")
                    propertyRows += values.rows.count
                }
            }
        }
        #expect(propertyRows > 4)
        // Journeys from every page, the midnight-crossing ones included.
        var steps = 0
        for page in try await db.breakdown(all, .page, limit: 20).rows.map(\.value) + ["nothing-has-this"] {
            for (from, to) in [(firstDay + 1, lastDay), (firstDay, lastDay + 1), (firstDay + 2, lastDay + 1)] {
                let scope = StatsScope(site: site, fromDay: from, toDay: to, rules: rules)
                let (journey, streamed) = try await db.read { d in
                    (try VeilDatabase.journey(d, scope, page: page, limit: 100), try VeilDatabase.journey(d, scope, page: page, limit: 100, crossRollups: false))
                }
                #expect(journey == streamed, "\(what) journey from \(page) days \(from)..<\(to)")
                steps += journey.previous.count + journey.next.count
            }
        }
        #expect(steps > 10)
        return try await db.read { d in
            try Int.fetchOne(d, sql: "SELECT count(*) FROM cross_days WHERE site = ? AND ready = 1 AND day >= ? AND day <= ? AND stamp = ?",
                             arguments: [site, firstDay, lastDay, VeilDatabase.crossStamp(rules)]) ?? 0
        }
    }

    static func buildAll(_ db: VeilDatabase, rules: AnalyticsRules) async throws -> Int {
        var built = 0
        for day in try await db.crossDaysToBuild(site: site, rules: rules, closedBefore: .max) {
            if try await db.buildCrossDay(site: site, day: day, rules: rules) != nil { built += 1 }
        }
        return built
    }

    @Test(arguments: [("UTC", UInt64(31)), ("Europe/Berlin", UInt64(32)), ("Asia/Kathmandu", UInt64(33))])
    func crossCellsEqualTheStream(zone: String, seed: UInt64) async throws {
        let (dir, db, rules, firstDay, lastDay) = try await FilteredStreamTests.seed(zone: zone, seed: seed)
        defer { _ = dir }
        let days = Int(lastDay - firstDay + 1)
        #expect(days >= 3)
        // Visits across midnight whose pages, events and goals pass only after it (counted
        // on their start day, carried), or on both sides (counted once).
        let midnight = rules.calendar.start(ofDay: firstDay + 2)
        let visitor: UInt8 = 100 + UInt8(seed % 50)
        _ = try await db.insert([AnalyticsTests.ev(midnight - 20 * 60_000, visitor, "/carried-entry", country: "FR"),
                                 AnalyticsTests.ev(midnight - 5 * 60_000, visitor, "/both-sides", country: "FR"),
                                 AnalyticsTests.ev(midnight + 5 * 60_000, visitor, "/pricing", country: "FR"),
                                 AnalyticsTests.ev(midnight + 6 * 60_000, visitor, "/both-sides", country: "FR"),
                                 AnalyticsTests.ev(midnight + 7 * 60_000, visitor, "/pricing", name: "signup", props: [("plan", "pro")])],
                                sessionTimeoutMillis: 30 * 60_000, rules: [Self.site: rules])
        // Nothing built yet: every day streams.
        #expect(try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) none built") == 0)
        #expect(try await Self.buildAll(db, rules: rules) == days)
        #expect(try await db.crossDaysToBuild(site: Self.site, rules: rules, closedBefore: .max).isEmpty)
        #expect(try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) all built") == days)
        let blobs = try await db.read { d in try Data.fetchAll(d, sql: "SELECT cells FROM cross_rollups WHERE site = ? AND day = ?", arguments: [Self.site, firstDay + 2]) }
        let decoded: [CrossCodec.Cell] = blobs.flatMap { (b: Data) -> [CrossCodec.Cell] in CrossCodec.decode([UInt8](b)) ?? [] }
        #expect(decoded.contains { $0.daysBack == 1 && $0.passedBack == 0 && $0.dim == "total" && $0.counts.sessions > 0 }, "a visit carried to its start day")
        #expect(decoded.contains { $0.daysBack == 1 && $0.passedBack == 1 && $0.dim == "total" && $0.counts.sessions > 0 }, "a visit that passed the day before too")

        // A late event on a built day, in a visit that started the day before: both days
        // lose their mark and stream until built again.
        let late = rules.calendar.start(ofDay: firstDay + 1) + 5 * 60_000
        _ = try await db.insert([AnalyticsTests.ev(late, 3, "/late", country: "FR"), AnalyticsTests.ev(late + 60_000, 3, "/later", country: "FR")],
                                sessionTimeoutMillis: 30 * 60_000, rules: [Self.site: rules])
        let afterLate = try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) late event")
        #expect(afterLate < days)
        #expect(try await db.crossDaysToBuild(site: Self.site, rules: rules, closedBefore: .max).contains(firstDay + 1))
        #expect(try await Self.buildAll(db, rules: rules) == days - afterLate)
        #expect(try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) rebuilt") == days)

        // Erasure recomputes the days a subject touched without them.
        _ = try await db.erase(site: Self.site, subject: .visitor(Array(repeating: 4, count: 16)), rules: rules)
        let afterErasure = try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) erased")
        #expect(afterErasure < days)
        _ = try await Self.buildAll(db, rules: rules)
        #expect(try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) erased, rebuilt") == days)

        // Retention drops the days before the cutoff and recomputes the cutoff's day.
        _ = try await db.purgeExpired(site: Self.site, cutoff: rules.calendar.start(ofDay: firstDay + 1) + 3 * 3_600_000, rules: rules, batchSize: 7)
        #expect(try await db.read { d in try Int.fetchOne(d, sql: "SELECT count(*) FROM cross_rollups WHERE site = ? AND day < ?", arguments: [Self.site, firstDay + 1]) } == 0)
        _ = try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) expired")
        _ = try await Self.buildAll(db, rules: rules)
        _ = try await Self.expectEqual(db, rules: rules, firstDay: firstDay, lastDay: lastDay, "\(zone) expired, rebuilt")

        // Other rules (a new goal, a new zone): the cells are not read, and are built again.
        var other = rules
        other.goals.append(Goal(name: "Docs", page: "/docs"))
        #expect(try await Self.expectEqual(db, rules: other, firstDay: firstDay, lastDay: lastDay, "\(zone) other rules") == 0)
    }

    @Test func theCodecKeepsEveryCountAndRefusesWhatItDidNotWrite() throws {
        var c = RollupCounts()
        c.visitors = 3; c.hits = 1 << 40; c.pageviews = 0; c.sessions = 7; c.bounces = -2; c.duration = Int64.min + 1
        let cells = [CrossCodec.Cell(dim: "page", value: "/ünïcode?x=1", counts: c), CrossCodec.Cell(dim: "total", value: "", daysBack: 2, counts: RollupCounts())]
        let blob = CrossCodec.encode(cells)
        #expect(CrossCodec.decode(blob) == cells)
        #expect(CrossCodec.decode(CrossCodec.encode([])) == [])
        #expect(CrossCodec.decode(Array(blob.dropLast(3))) == nil)
        #expect(CrossCodec.decode([1, 2, 3]) == nil)
        #expect(CrossCodec.decode(Zlib.compress([1, 1, 1]) ?? []) == nil)
        // Truncated inside a cell (after the deflate stream is intact).
        #expect(CrossCodec.decode(Zlib.compress([CrossCodec.version, 4, 112, 97, 103, 101, 0, 0, 2]) ?? []) == nil)
    }

    /// The build counts outside the write lock; a write to the day meanwhile must drop the
    /// mark it set first, so that the count is not stored as complete.
    @Test func aWriteDuringABuildDropsItsMark() async throws {
        let (dir, db, rules, firstDay, _) = try await FilteredStreamTests.seed(zone: "UTC", seed: 41)
        defer { _ = dir }
        let day = firstDay + 1
        try await db.pool.write { d in
            try d.execute(sql: "INSERT INTO cross_days(site, day, stamp, ready) VALUES (?, ?, ?, 0)", arguments: [Self.site, day, VeilDatabase.crossStamp(rules)])
        }
        _ = try await db.insert([AnalyticsTests.ev(rules.calendar.start(ofDay: day) + 60_000, 7, "/")], sessionTimeoutMillis: 30 * 60_000, rules: [Self.site: rules])
        #expect(try await db.read { d in try Int.fetchOne(d, sql: "SELECT count(*) FROM cross_days WHERE site = ? AND day = ?", arguments: [Self.site, day]) } == 0)
    }

    /// The service builds closed days only: today, and a day that ended less than the delay
    /// ago, stream until later.
    @Test func theServiceBuildsClosedDaysOnly() async throws {
        let (dir, db, rules, firstDay, lastDay) = try await FilteredStreamTests.seed(zone: "UTC", seed: 42)
        defer { _ = dir }
        let now = rules.calendar.start(ofDay: lastDay) + 30 * 60_000
        let service = CrossRollupService(database: db, rules: [Self.site: rules], clock: TimeSource { now }, logger: .init(label: "test"))
        let built = try await service.catchUp()
        // The day before the last ended 30 minutes ago: not yet.
        #expect(built[Self.site] == Int(lastDay - firstDay - 1))
        #expect(try await db.crossDaysToBuild(site: Self.site, rules: rules, closedBefore: .max) == [lastDay, lastDay - 1])
        #expect(try await service.catchUp().isEmpty)
    }
}
