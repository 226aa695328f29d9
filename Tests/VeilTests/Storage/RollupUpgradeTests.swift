import Foundation
import GRDB
import Logging
import Testing
@testable import Privacy
@testable import Storage

/// Issue 12's upgrade in place: a data folder written by the previous release (rollup
/// format 1: session-level cells without bounces and duration) is recomputed at start, one
/// day per transaction, and no number on any dashboard table, filtered view or data-subject
/// export changes on the way; an interrupted recomputation leaves the old answers in place
/// and the next start finishes it.
@Suite("An older data folder upgrades in place")
struct RollupUpgradeTests {
    static let site = FilteredStreamTests.site

    /// Everything the dashboard and the export show for the whole range.
    struct Picture: Equatable {
        var totals: Totals
        var series: [SeriesPoint]
        var tables: [String: Breakdown]
        var filtered: [String: StatsSnapshot]
        /// Headline numbers alone (from the rollups once they are current).
        var headlines: [String: [String]]
        var exports: [[String]]
    }

    static func picture(_ db: VeilDatabase, _ rules: AnalyticsRules, from: Int64, to: Int64) async throws -> Picture {
        let all = StatsScope(site: site, fromDay: from, toDay: to, rules: rules)
        var tables: [String: Breakdown] = [:]
        var filtered: [String: StatsSnapshot] = [:]
        var headlines: [String: [String]] = [:]
        for dim in StatsDimension.allCases {
            let table = try await db.breakdown(all, dim, limit: 1000)
            tables[dim.rawValue] = table
            // The overview filtered by the table's top value, every table in it.
            if let top = table.rows.first?.value {
                var scope = all
                scope.filters = [StatsFilter(dim, top)]
                filtered["\(dim.rawValue)=\(top)"] = try await db.snapshot(scope, granularity: .day, dimensions: StatsDimension.overview, limit: 1000)
                headlines["\(dim.rawValue)=\(top)"] = ["\(try await db.totals(scope))", "\(try await db.series(scope, granularity: .week))",
                                                      "\(try await db.snapshot(scope, granularity: .month, dimensions: [], limit: 0))"]
            }
        }
        // A journey from the top page and a property breakdown (cross rollups answer both).
        if let page = tables["page"]?.rows.first?.value {
            headlines["journey \(page)"] = ["\(try await db.journey(all, page: page, limit: 100))"]
        }
        headlines["signup.plan"] = ["\(try await db.propertyBreakdown(all, event: "signup", key: "plan", limit: 100))",
                                    "\(try await db.propertyKeys(all, event: "signup"))"]
        var exports: [[String]] = []
        for visitor in UInt8(1)...UInt8(9) {
            let records = try await db.records(site: site, subject: .visitor(Array(repeating: visitor, count: 16)))
            exports.append(records.tables.flatMap { t in t.rows.map { t.name + " " + $0 } })
        }
        return Picture(totals: try await db.totals(all), series: try await db.series(all, granularity: .day), tables: tables, filtered: filtered, headlines: headlines, exports: exports)
    }

    @Test func formatOneFolderUpgradesWithoutChangingANumber() async throws {
        let (dir, db, rules, firstDay, lastDay) = try await FilteredStreamTests.seed(zone: "Europe/Berlin", seed: 41)
        defer { _ = dir }
        let fresh = try await db.rollupRows(site: Self.site)
        #expect(fresh.contains { $0.dim == "browser" && $0.bounces > 0 } && fresh.contains { $0.dim == "country" && $0.duration > 0 })

        // What the previous release left: no bounces or duration outside `total`, and the
        // bare rules' fingerprint as the stamp.
        let sessionDims = StatsDimension.sessionLevel.map { "'\($0.rawValue)'" }.joined(separator: ",")
        try await db.pool.write { d in
            try d.execute(sql: "UPDATE rollups SET bounces = 0, duration = 0 WHERE dim IN (\(sessionDims))")
            try d.execute(sql: "INSERT INTO rollup_state(site, fingerprint) VALUES (?, ?)", arguments: [Self.site, rules.fingerprint])
        }
        let before = try await Self.picture(db, rules, from: firstDay, to: lastDay + 1)
        #expect(before.filtered.count >= 14 && before.exports.contains { !$0.isEmpty })
        let browserFilter = StatsScope(site: Self.site, fromDay: firstDay, toDay: lastDay + 1, filters: [StatsFilter(.browser, "Chrome")], rules: rules)
        #expect(try await db.read { d in try VeilDatabase.rollupFilter(d, browserFilter) } == nil)

        // Interrupted after two days (each day is its own transaction; the stamp is written
        // last): the old answers stand, the new cells are not used yet.
        try await db.rebuildRollups(site: Self.site, days: [firstDay, firstDay + 1], rules: rules)
        #expect(try await db.sitesNeedingRollupRebuild(rules: [Self.site: rules]) == [Self.site])
        #expect(try await Self.picture(db, rules, from: firstDay, to: lastDay + 1) == before)

        // The next start finishes it.
        let service = RollupService(database: db, rules: [Self.site: rules], logger: Logger(label: "test"))
        #expect(try await service.catchUp() == [Self.site])
        #expect(try await db.rollupRows(site: Self.site) == fresh)
        #expect(try await db.read { d in try VeilDatabase.rollupFilter(d, browserFilter) } != nil)
        let after = try await Self.picture(db, rules, from: firstDay, to: lastDay + 1)
        #expect(after.totals == before.totals && after.series == before.series)
        #expect(after.tables == before.tables)
        for (name, snapshot) in before.filtered { #expect(after.filtered[name] == snapshot, "\(name)") }
        for (name, numbers) in before.headlines { #expect(after.headlines[name] == numbers, "\(name)") }
        #expect(after.exports == before.exports)
        #expect(try await service.catchUp().isEmpty)

        // Then the cross rollups are built in the background: a build stopped mid-day
        // (kill -9: its mark not ready, some blobs written) is not read, and the next run
        // finishes it; no number moves at any point.
        let cross = CrossRollupService(database: db, rules: [Self.site: rules], clock: TimeSource { .max / 2 }, logger: Logger(label: "test"))
        try await db.buildCrossDay(site: Self.site, day: firstDay + 1, rules: rules)
        try await db.pool.write { d in
            try d.execute(sql: "INSERT INTO cross_days(site, day, stamp, ready) VALUES (?, ?, ?, 0)", arguments: [Self.site, firstDay + 2, VeilDatabase.crossStamp(rules)])
            try d.execute(sql: "INSERT INTO cross_rollups(site, day, fdim, fvalue, cells) VALUES (?, ?, 'browser', 'Chrome', x'00')", arguments: [Self.site, firstDay + 2])
        }
        #expect(try await Self.picture(db, rules, from: firstDay, to: lastDay + 1) == after)
        let built = try await cross.catchUp()
        #expect(built[Self.site] == Int(lastDay - firstDay))
        #expect(try await cross.catchUp().isEmpty)
        #expect(try await Self.picture(db, rules, from: firstDay, to: lastDay + 1) == after)
    }
}
