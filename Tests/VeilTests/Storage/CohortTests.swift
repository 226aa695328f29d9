import Foundation
import GRDB
import Testing
@testable import Privacy
@testable import Storage

/// Retention cohorts are grouped in SQL (SQLite holds the per-visitor state, within its
/// cache). They must equal the plain computation — every visitor's first week in a map,
/// then the distinct visitors of each cohort per week — on random returning visitors, on
/// UTC and on a zone whose weeks hold a clock change.
@Suite("Retention cohorts")
struct CohortTests {
    static let site = "example.com"

    @Test(arguments: [("UTC", UInt64(5)), ("Europe/Berlin", UInt64(6)), ("America/New_York", UInt64(7))])
    func cohortsEqualThePlainComputation(zone: String, seed: UInt64) async throws {
        let calendar = try #require(DayCalendar(identifier: zone), "\(zone) is missing from the zone database (tzdata)")
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        var rng = SplitMix(seed)
        // Ten weeks around Berlin's and New York's autumn clock changes, 40 visitors who come
        // back now and then, some first seen before the range.
        let start = calendar.start(ofDay: DayCalendar.day(year: 2026, month: 9, day: 14))
        var events: [CleanEvent] = []
        for _ in 0..<400 {
            let ts = start + Int64.random(in: 0..<(70 * TestData.day), using: &rng)
            events.append(TestData.clean(at: ts, visitor: UInt8.random(in: 1...40, using: &rng)))
        }
        for e in events.sorted(by: { $0.timestamp < $1.timestamp }) { _ = try await db.insert([e], sessionTimeoutMillis: 1_800_000) }
        let firstDay = calendar.day(of: start)
        var checked = 0
        for (from, to) in [(firstDay + 20, firstDay + 60), (firstDay, firstDay + 70), (firstDay + 33, firstDay + 34)] {
            let sql = try await db.cohorts(site: Self.site, fromDay: from, toDay: to, calendar: calendar)
            let plain = try await db.read { d in try Self.plain(d, fromDay: from, toDay: to, calendar: calendar) }
            #expect(sql == plain, "\(zone) days \(from)..<\(to)")
            checked += sql.count
            if to - from == 70 { #expect(sql.contains { $0.active.dropFirst().contains { $0 > 0 } }, "someone comes back") }
        }
        #expect(checked >= 3)
    }

    /// The computation as written before, in Swift with a map of every visitor.
    static func plain(_ db: Database, fromDay: Int64, toDay: Int64, calendar: DayCalendar) throws -> [Cohort] {
        let week = { (ms: Int64) -> Int64 in VeilDatabase.bucketStart(day: calendar.day(of: ms), granularity: .week) }
        var first: [Data: Int64] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT visitor, min(ts) AS first_ts FROM events WHERE site = ? AND ts < ? GROUP BY visitor",
                                    arguments: [site, calendar.start(ofDay: toDay)]) {
            first[row["visitor"]] = week(row["first_ts"])
        }
        let firstWeek = VeilDatabase.bucketStart(day: fromDay, granularity: .week)
        var members: [Int64: Set<Data>] = [:]
        var active: [Int64: [Int64: Set<Data>]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT visitor, ts FROM events WHERE site = ? AND ts >= ? AND ts < ?",
                                    arguments: [site, calendar.start(ofDay: firstWeek), calendar.start(ofDay: toDay)]) {
            let visitor: Data = row["visitor"]
            guard let cohort = first[visitor], cohort >= firstWeek else { continue }
            members[cohort, default: []].insert(visitor)
            active[cohort, default: [:]][(week(row["ts"]) - cohort) / 7, default: []].insert(visitor)
        }
        return members.keys.sorted().map { cohort in
            let weeks = Int((VeilDatabase.bucketStart(day: toDay - 1, granularity: .week) - cohort) / 7) + 1
            return Cohort(weekStartDay: cohort, size: members[cohort]!.count, active: (0..<weeks).map { active[cohort]?[Int64($0)]?.count ?? 0 })
        }
    }
}
