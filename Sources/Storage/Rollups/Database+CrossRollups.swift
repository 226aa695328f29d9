import Foundation
import GRDB
import Privacy

// MARK: - Cross rollups: built per closed day, dropped when the day changes, read by filtered views

extension VeilDatabase {
    /// What a day's `cross_days.stamp` records: this format and the rollup stamp (rules and
    /// zone). A day built with other rules is not read, and is built again.
    static let crossFormat = 4

    static func crossStamp(_ rules: AnalyticsRules) -> String { "cross \(crossFormat)\n" + rollupStamp(rules) }

    /// Filter values written per transaction while storing a day (ingest waits for none longer).
    static let crossRowsPerTransaction = 500

    /// The writer wrote to these days (an event, a change to a visit going on since the
    /// first): their cross rollups are no longer complete. One range delete, however long the visit.
    static func invalidateCross(_ db: Database, site: String, days: ClosedRange<Int64>) throws {
        try db.cachedStatement(sql: "DELETE FROM cross_days WHERE site = ? AND day >= ? AND day <= ?").execute(arguments: [site, days.lowerBound, days.upperBound])
    }

    /// Drops a day's cross rollups (its rollups are being recomputed: erasure, retention, new rules).
    static func dropCross(_ db: Database, site: String, day: Int64) throws {
        try db.execute(sql: "DELETE FROM cross_days WHERE site = ? AND day = ?", arguments: [site, day])
        try db.execute(sql: "DELETE FROM cross_rollups WHERE site = ? AND day = ?", arguments: [site, day])
    }

    /// Drops the cross rollups of days before `day` (retention).
    static func dropCross(_ db: Database, site: String, before day: Int64) throws {
        try db.execute(sql: "DELETE FROM cross_days WHERE site = ? AND day < ?", arguments: [site, day])
        try db.execute(sql: "DELETE FROM cross_rollups WHERE site = ? AND day < ?", arguments: [site, day])
    }

    /// Days holding events that ended before `closedBefore` (ms) and have no complete cross
    /// rollups for these rules, newest first (recent days are the ones looked at).
    public func crossDaysToBuild(site: String, rules: AnalyticsRules, closedBefore: Int64) async throws(StorageError) -> [Int64] {
        let days = try await daysWithData(site: site, calendar: rules.calendar).filter { rules.calendar.start(ofDay: $0 + 1) <= closedBefore }
        guard let first = days.first else { return [] }
        let ready = try await read { db in
            try Set(Int64.fetchAll(db, sql: "SELECT day FROM cross_days WHERE site = ? AND day >= ? AND ready = 1 AND stamp = ?",
                                   arguments: [site, first, Self.crossStamp(rules)]))
        }
        return days.filter { !ready.contains($0) }.reversed()
    }

    /// Counts and stores one day's cross rollups; returns the filter values stored, or nil when the
    /// day changed while it was counted (the writer dropped its mark; it is built again later).
    ///
    /// The count runs on a read snapshot, not in the write lock (a day at 10M events takes
    /// seconds). A mark written first and checked last makes that safe: the snapshot is taken
    /// after the mark is committed, and any write to the day after that deletes the mark.
    @discardableResult
    public func buildCrossDay(site: String, day: Int64, rules: AnalyticsRules) async throws(StorageError) -> Int? {
        let stamp = Self.crossStamp(rules)
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO cross_days(site, day, stamp, ready) VALUES (?, ?, ?, 0) ON CONFLICT(site, day) DO UPDATE SET stamp = excluded.stamp, ready = 0",
                               arguments: [site, day, stamp])
            }
        }
        let blobs = try await read { db in
            var out: [(fdim: String, fvalue: String, blob: [UInt8])] = []
            try CrossDay.count(db, site: site, day: day, rules: rules) { out.append(($0.fdim, $0.fvalue, CrossCodec.encode($0.cells))) }
            return out
        }
        var start = 0
        repeat {
            let chunk = blobs[start..<min(blobs.count, start + Self.crossRowsPerTransaction)]
            let first = start == 0, last = start + chunk.count == blobs.count
            let held = try await Self.wrap {
                try await pool.write { db -> Bool in
                    guard try Int.fetchOne(db, sql: "SELECT 1 FROM cross_days WHERE site = ? AND day = ? AND ready = 0 AND stamp = ?", arguments: [site, day, stamp]) != nil else { return false }
                    if first { try db.execute(sql: "DELETE FROM cross_rollups WHERE site = ? AND day = ?", arguments: [site, day]) }
                    let insert = try db.cachedStatement(sql: "INSERT INTO cross_rollups(site, day, fdim, fvalue, cells) VALUES (?, ?, ?, ?, ?)")
                    for c in chunk { try insert.execute(arguments: [site, day, c.fdim, c.fvalue, Data(c.blob)]) }
                    if last { try db.execute(sql: "UPDATE cross_days SET ready = 1 WHERE site = ? AND day = ?", arguments: [site, day]) }
                    return true
                }
            }
            guard held else { return nil }
            start += chunk.count
        } while start < blobs.count
        return blobs.count
    }

    /// Cells of a scope filtered by one value of one dimension, counted as the stream counts
    /// them, without hourly cells: complete days from their cross rollups, the other days
    /// (today, days written to since) counted the same way for this one filter.
    static func crossCells(_ db: Database, _ scope: StatsScope, filter f: StatsFilter, dimensions: [StatsDimension]?) throws -> CellSums {
        let wanted = dimensions.map { Set(["total"] + $0.map(\.rawValue)) }
        var cells: [RollupKey: RollupCounts] = [:]
        func add(_ dayCells: [CrossCodec.Cell], day: Int64) {
            for c in dayCells where wanted?.contains(c.dim) ?? true && c.counts(fromDay: scope.fromDay, toDay: scope.toDay, day: day) {
                cells[RollupKey(dim: c.dim, bucket: day - c.daysBack, value: c.value), default: RollupCounts()].add(c.counts)
            }
        }
        let (found, pending) = try crossBlobs(db, scope, fdim: f.dimension.rawValue, fvalue: f.value)
        for (day, dayCells) in found { add(dayCells, day: day) }
        // The other days, counted the same way for this one filter (a stream over them would
        // not see visits carried from them to an earlier day of the range).
        for day in pending { add(try CrossDay.cells(db, site: scope.site, day: day, rules: scope.rules, only: .filter(f)), day: day) }
        return CellSums(cells: cells)
    }
}

extension VeilDatabase {
    /// One group's cells (a filter value, or an event's properties) on each complete day of
    /// the scope, and the days to count otherwise: not complete, or a blob this version
    /// cannot read. A complete day without a blob had nothing for the group.
    static func crossBlobs(_ db: Database, _ scope: StatsScope, fdim: String, fvalue: String) throws -> (found: [(Int64, [CrossCodec.Cell])], pending: [Int64]) {
        let ready = try Set(Int64.fetchAll(db, sql: "SELECT day FROM cross_days WHERE site = ? AND day >= ? AND day < ? AND ready = 1 AND stamp = ?",
                                           arguments: [scope.site, scope.fromDay, scope.toDay, crossStamp(scope.rules)]))
        let statement = try db.cachedStatement(sql: "SELECT cells FROM cross_rollups WHERE site = ? AND day = ? AND fdim = ? AND fvalue = ?")
        var found: [(Int64, [CrossCodec.Cell])] = []
        var pending: [Int64] = []
        for day in scope.fromDay..<scope.toDay {
            guard ready.contains(day) else { pending.append(day); continue }
            guard let blob = try Data.fetchOne(statement, arguments: [scope.site, day, fdim, fvalue]) else { continue }
            guard let cells = CrossCodec.decode([UInt8](blob)) else { pending.append(day); continue }
            found.append((day, cells))
        }
        return (found, pending)
    }

    /// Sorted days as scopes of consecutive days.
    static func stretches(_ days: [Int64], of scope: StatsScope) -> [StatsScope] {
        var out: [StatsScope] = []
        var i = 0
        while i < days.count {
            var j = i + 1
            while j < days.count, days[j] == days[j - 1] + 1 { j += 1 }
            var stretch = scope
            stretch.fromDay = days[i]
            stretch.toDay = days[j - 1] + 1
            out.append(stretch)
            i = j
        }
        return out
    }
}
