import Foundation
import GRDB

extension VeilDatabase {
    /// A consistent copy of the whole database as of one instant, written to `path` (which
    /// must not exist) with `VACUUM INTO` from a read connection: it reads one WAL
    /// snapshot, so ingest keeps committing while it runs and nothing after that instant
    /// is in the copy.
    public func snapshot(to path: String) async throws(StorageError) {
        try await Self.wrap {
            try await pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
        }
    }
}

extension VeilDatabase {
    /// Every event held, all sites.
    public func totalEventCount() async throws(StorageError) -> Int {
        try await Self.wrap { try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 } }
    }
}
