import Foundation
import GRDB

// MARK: - Dashboard queries

extension VeilDatabase {
    /// Time of the first stored event for a site, or nil when it has none.
    public func firstEventTime(site: String) async throws(StorageError) -> Int64? {
        try await read { db in try Self.firstEventTime(db, site: site) }
    }

    static func firstEventTime(_ db: Database, site: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT min(ts) FROM events WHERE site = ?", arguments: [site])
    }
}

extension VeilDatabase {
    /// The benchmark yardstick: one raw aggregate over the whole events table.
    public func rawDistinctVisitors() async throws(StorageError) -> Int {
        try await Self.wrap { try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(DISTINCT visitor) FROM events") ?? 0 } }
    }

    /// Rows in the events, sessions, rollups and cross rollups tables (benchmark output).
    public func tableSizes() async throws(StorageError) -> (events: Int, sessions: Int, rollups: Int, crossRollups: Int) {
        try await Self.wrap {
            try await pool.read { db in
                (try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM sessions") ?? 0,
                 try Int.fetchOne(db, sql: "SELECT count(*) FROM rollups") ?? 0, try Int.fetchOne(db, sql: "SELECT count(*) FROM cross_rollups") ?? 0)
            }
        }
    }
}

extension VeilDatabase {
    /// Bytes the database takes on disk: the file and its write-ahead log.
    public var fileBytes: Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }
}
