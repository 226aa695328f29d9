import Foundation
import GRDB
import Privacy

extension VeilDatabase {
    /// Returns today's and yesterday's salts, creating today's and deleting any older
    /// than yesterday's (48 h after it came into use) in the same transaction.
    public func rotateSalts(nowMillis: Int64, newSalt: @escaping @Sendable () -> [UInt8]) async throws(StorageError) -> ActiveSalts {
        try await Self.wrap {
            try await pool.write { db in
                let today = SaltSchedule.day(ofMillis: nowMillis)
                try db.execute(sql: "DELETE FROM salts WHERE day < ?", arguments: [SaltSchedule.oldestLiveDay(at: nowMillis)])
                try db.execute(sql: "INSERT INTO salts(day, salt) VALUES (?, ?) ON CONFLICT(day) DO NOTHING", arguments: [today, Data(newSalt())])
                let current = try Data.fetchOne(db, sql: "SELECT salt FROM salts WHERE day = ?", arguments: [today])!
                let previous = try Data.fetchOne(db, sql: "SELECT salt FROM salts WHERE day = ?", arguments: [today - 1])
                return ActiveSalts(current: [UInt8](current), previous: previous.map { [UInt8]($0) })
            }
        }
    }

    /// The stored salt of a UTC day, if any (shared salts: the agreed one, cached).
    public func salt(day: Int64) async throws(StorageError) -> [UInt8]? {
        try await read { db in try Data.fetchOne(db, sql: "SELECT salt FROM salts WHERE day = ?", arguments: [day]).map { [UInt8]($0) } }
    }

    /// Keeps the agreed salt of a day (shared salts) and deletes salts older than yesterday's.
    public func keepSalt(day: Int64, salt: [UInt8], nowMillis: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM salts WHERE day < ?", arguments: [SaltSchedule.oldestLiveDay(at: nowMillis)])
                try db.execute(sql: "INSERT INTO salts(day, salt) VALUES (?, ?) ON CONFLICT(day) DO UPDATE SET salt = excluded.salt", arguments: [day, Data(salt)])
            }
        }
    }

    /// The UTC days for which a salt is stored (tests and the settings page).
    public func saltDays() async throws(StorageError) -> [Int64] {
        try await Self.wrap { try await pool.read { db in try Int64.fetchAll(db, sql: "SELECT day FROM salts ORDER BY day") } }
    }
}
