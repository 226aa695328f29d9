import Foundation
import GRDB

// MARK: - Retention

extension VeilDatabase {
    /// Deletes a site's events older than `cutoff` (ms) and the sessions that ended
    /// before it, `batchSize` rows per transaction so ingest never waits long for the
    /// write lock. Returns the number of events and sessions deleted.
    public func purgeExpired(site: String, cutoff: Int64, batchSize: Int = 2000) async throws(StorageError) -> (events: Int, sessions: Int) {
        var events = 0, sessions = 0
        while true {
            let n = try await Self.wrap {
                try await pool.write { db in
                    try db.execute(sql: """
                        DELETE FROM events WHERE id IN (SELECT id FROM events WHERE site = ? AND ts < ? LIMIT ?)
                        """, arguments: [site, cutoff, batchSize])
                    return db.changesCount
                }
            }
            events += n
            if n < batchSize { break }
        }
        while true {
            let n = try await Self.wrap {
                try await pool.write { db in
                    try db.execute(sql: """
                        DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE site = ? AND last_seen < ? LIMIT ?)
                        """, arguments: [site, cutoff, batchSize])
                    return db.changesCount
                }
            }
            sessions += n
            if n < batchSize { break }
        }
        return (events, sessions)
    }
}
