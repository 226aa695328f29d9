import Foundation
import GRDB
import Privacy

// MARK: - Retention

extension VeilDatabase {
    /// Deletes a site's events older than `cutoff` (ms) and the sessions that ended
    /// before it, `batchSize` rows per transaction so ingest never waits long for the
    /// write lock. Returns the number of events and sessions deleted.
    public func purgeExpired(site: String, cutoff: Int64, rules: AnalyticsRules, batchSize: Int = 2000) async throws(StorageError) -> (events: Int, sessions: Int) {
        let events = try await deleteInBatches(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE site = ? AND ts < ? LIMIT ?)", site: site, cutoff: cutoff, batchSize: batchSize)
        let sessions = try await deleteInBatches(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE site = ? AND last_seen < ? LIMIT ?)", site: site, cutoff: cutoff, batchSize: batchSize)
        // An identity link lives as long as the events it explains: until it was last sent.
        _ = try await deleteInBatches(
            """
            DELETE FROM identity_links WHERE (site, visitor, user_hash) IN
                (SELECT site, visitor, user_hash FROM identity_links WHERE site = ? AND last_seen < ? LIMIT ?)
            """, site: site, cutoff: cutoff, batchSize: batchSize)
        // Survey answers are kept as long as the events of the visit they belong to.
        _ = try await deleteInBatches(
            "DELETE FROM feedback WHERE id IN (SELECT id FROM feedback WHERE site = ? AND received_at < ? LIMIT ?)", site: site, cutoff: cutoff, batchSize: batchSize)
        if events + sessions > 0 { try await purgeRollups(site: site, cutoff: cutoff, rules: rules) }
        return (events, sessions)
    }

    /// Drops rollup days wholly before the cutoff and recomputes the days that still
    /// hold something: the cutoff's own day, and start days of sessions still alive.
    private func purgeRollups(site: String, cutoff: Int64, rules: AnalyticsRules) async throws(StorageError) {
        let cutoffDay = rules.calendar.day(of: cutoff)
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM rollups WHERE site = ? AND ((dim <> 'hour' AND bucket < ?) OR (dim = 'hour' AND bucket < ?))",
                               arguments: [site, cutoffDay, rules.calendar.hours(ofDay: cutoffDay).lowerBound])
                try Self.dropCross(db, site: site, before: cutoffDay)
                var days: Set<Int64> = [cutoffDay]
                // Sessions left that started before the cutoff are the few still alive across it.
                // They lost their first events: the cross rollups of every day they span count
                // them differently now (see CrossDay), so those days are built again.
                for row in try Row.fetchAll(db, sql: "SELECT started_at, last_seen FROM sessions WHERE site = ? AND started_at < ?",
                                            arguments: [site, cutoff]) {
                    let first = rules.calendar.day(of: row["started_at"]), last = rules.calendar.day(of: row["last_seen"])
                    days.insert(first)
                    try Self.invalidateCross(db, site: site, days: first...max(first, last))
                }
                for day in days.sorted() { try Self.rebuildDay(db, site: site, day: day, rules: rules) }
            }
        }
        seenCache.clear()
    }

    /// Runs a `site, cutoff, limit` DELETE in its own transaction until it deletes fewer than `batchSize` rows.
    private func deleteInBatches(_ sql: String, site: String, cutoff: Int64, batchSize: Int) async throws(StorageError) -> Int {
        var total = 0
        while true {
            let n = try await Self.wrap {
                try await pool.write { db in
                    try db.execute(sql: sql, arguments: [site, cutoff, batchSize])
                    return db.changesCount
                }
            }
            total += n
            if n < batchSize { return total }
        }
    }
}
