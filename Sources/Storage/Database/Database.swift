import Foundation
import GRDB
import Privacy

/// The single facade over Veil's SQLite database: one named method per query.
///
/// SQLite runs in WAL mode (`DatabasePool`) with `synchronous=FULL` on the writer
/// connection by default, so a committed transaction survives a crash or power loss;
/// group commit (see `EventWriter`) keeps the cost of that fsync per batch, not per
/// event. `secure_delete` overwrites deleted content so erased data and expired salts do
/// not linger in free pages. The folder is 0700 and every database file 0600.
public struct VeilDatabase: Sendable {
    /// The injected connection(s): a `DatabasePool` in production (`open(folder:)`); any
    /// GRDB writer works, so a test may hand in its own.
    let pool: any DatabaseWriter
    public let path: String
    let seenCache = SeenCache()
    /// The durability the writer connection was set to.
    public let synchronous: Synchronous

    /// How hard a commit waits for the disk (`storage.synchronous`).
    public enum Synchronous: String, Sendable, CaseIterable {
        /// Every commit is synced: an acknowledged event survives a power cut.
        case full
        /// WAL pages are synced only at checkpoints: survives `kill -9`, but a power cut
        /// or kernel crash may lose the last commits.
        case normal
    }

    /// Wraps an open writer: sets its durability and migrates it. Holds no configuration:
    /// methods that depend on a site's rules take them as a parameter.
    public init(writer: any DatabaseWriter, synchronous: Synchronous = .full) throws(StorageError) {
        do {
            // After the pool is open: GRDB sets `synchronous = NORMAL` on a pool's writer
            // connection while it enables WAL, which would override a setting made in
            // `prepareDatabase`. The writer is one long-lived connection, so this sticks.
            try writer.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA synchronous = \(synchronous == .full ? "FULL" : "NORMAL")")
            }
            try Migrations.migrator().migrate(writer)
        } catch {
            throw .cannotOpen(path: writer.path, reason: "\(error)")
        }
        pool = writer
        path = writer.path
        self.synchronous = synchronous
    }

    /// Opens (creating if needed) `veil.sqlite` inside `folder` in WAL mode and migrates it.
    /// `maxBytes` (0: none) caps the database file: past it commits fail with "database
    /// or disk is full", as on a full disk, and nothing more is acknowledged.
    public static func open(folder: String, synchronous: Synchronous = .full, maxBytes: Int = 0) throws(StorageError) -> VeilDatabase {
        let path = (folder as NSString).appendingPathComponent("veil.sqlite")
        do {
            try DataFolder.prepare(folder: folder, database: path)
        } catch {
            throw .cannotOpen(path: folder, reason: "cannot prepare the data folder (\(error.localizedDescription))")
        }
        var config = Configuration()
        // Wait for locks from the first statement on: another connection (the writer, a
        // checkpoint) may hold one while this one opens.
        config.busyMode = .timeout(5)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA busy_timeout = 5000; PRAGMA secure_delete = ON")
        }
        let pool: DatabasePool
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch {
            throw .cannotOpen(path: path, reason: "\(error)")
        }
        let database = try VeilDatabase(writer: pool, synchronous: synchronous)
        if maxBytes > 0 {
            do {
                // Per connection, and only the writer writes. Never below the pages in use.
                try pool.writeWithoutTransaction { db in
                    let pageSize = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 4096
                    try db.execute(sql: "PRAGMA max_page_count = \(max(1, maxBytes / pageSize))")
                }
            } catch {
                throw .cannotOpen(path: path, reason: "\(error)")
            }
        }
        return database
    }

    static func wrap<T>(_ body: () async throws -> T) async throws(StorageError) -> T {
        do { return try await body() } catch let error as StorageError { throw error } catch is CancellationError { throw .cancelled } catch {
            // GRDB reports an interrupted statement of a cancelled task as SQLITE_INTERRUPT.
            if Task.isCancelled { throw .cancelled }
            throw .database("\(error)")
        }
    }

    /// Runs `body` in one read transaction: one consistent snapshot, one hop to GRDB.
    /// Screens compose their questions inside one such read.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(StorageError) -> T {
        try await Self.wrap { try await pool.read(body) }
    }

    /// A trivial read proving the database answers (for `/healthz`).
    public func health() async throws(StorageError) {
        try await Self.wrap { _ = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") } }
    }

    /// `PRAGMA synchronous` as the writer connection reports it (0 off, 1 normal, 2 full).
    /// Readers are separate connections and may report otherwise.
    public func writerSynchronousLevel() async throws(StorageError) -> Int {
        try await Self.wrap { try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 } }
    }

    /// Copies the WAL into the main file and truncates it.
    public func checkpoint() async throws(StorageError) {
        try await Self.wrap { try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") } }
    }

    public func close() throws(StorageError) {
        do { try pool.close() } catch { throw .database("\(error)") }
    }
}
