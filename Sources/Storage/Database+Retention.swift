import Foundation
import GRDB

// MARK: - Retention

extension VeilDatabase {
    /// Deletes a site's events older than `cutoff` (ms) and the sessions that ended
    /// before it, `batchSize` rows per transaction so ingest never waits long for the
    /// write lock. Returns the number of events and sessions deleted.
    public func purgeExpired(site: String, cutoff: Int64, batchSize: Int = 2000) async throws(StorageError) -> (events: Int, sessions: Int) {
        let events = try await deleteInBatches(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE site = ? AND ts < ? LIMIT ?)", site: site, cutoff: cutoff, batchSize: batchSize)
        let sessions = try await deleteInBatches(
            "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE site = ? AND last_seen < ? LIMIT ?)", site: site, cutoff: cutoff, batchSize: batchSize)
        return (events, sessions)
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
