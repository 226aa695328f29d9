import Foundation
import GRDB
import Privacy

extension VeilDatabase {
    public func userCount() async throws(StorageError) -> Int {
        try await Self.wrap { try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0 } }
    }

    /// Creates or replaces a user's password hash. A changed password ends every login
    /// session of that user.
    public func upsertUser(username: String, passwordHash: String, nowMillis: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: """
                    DELETE FROM login_sessions WHERE user_id IN (SELECT id FROM users WHERE username = ? AND password_hash <> ?)
                    """, arguments: [username, passwordHash])
                try db.execute(sql: """
                    INSERT INTO users(username, password_hash, created_at) VALUES (?, ?, ?)
                    ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash
                    """, arguments: [username, passwordHash, nowMillis])
            }
        }
    }

    public func user(named username: String) async throws(StorageError) -> StoredUser? {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT id, username, password_hash FROM users WHERE username = ?", arguments: [username])
                    .map(StoredUser.init(row:))
            }
        }
    }

    public func createLoginSession(tokenHash: [UInt8], userID: Int64, nowMillis: Int64, expiresAt: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM login_sessions WHERE expires_at < ?", arguments: [nowMillis])
                try db.execute(sql: "INSERT INTO login_sessions(token_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                               arguments: [Data(tokenHash), userID, nowMillis, expiresAt])
            }
        }
    }

    /// The user a live login session belongs to, or nil when unknown or expired.
    public func userForLoginSession(tokenHash: [UInt8], nowMillis: Int64) async throws(StorageError) -> StoredUser? {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchOne(db, sql: """
                    SELECT u.id, u.username, u.password_hash FROM login_sessions s JOIN users u ON u.id = s.user_id
                    WHERE s.token_hash = ? AND s.expires_at > ?
                    """, arguments: [Data(tokenHash), nowMillis])
                    .map(StoredUser.init(row:))
            }
        }
    }

    public func deleteLoginSession(tokenHash: [UInt8]) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in try db.execute(sql: "DELETE FROM login_sessions WHERE token_hash = ?", arguments: [Data(tokenHash)]) }
        }
    }
}

extension StoredUser {
    /// From a row selecting `id, username, password_hash` by those names.
    init(row: Row) {
        self.init(id: row["id"], username: row["username"], passwordHash: row["password_hash"])
    }
}
