import Foundation
import GRDB
import Privacy

extension VeilDatabase {
    public func userCount() async throws(StorageError) -> Int {
        try await Self.wrap { try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? 0 } }
    }

    /// Creates or replaces a user's password hash (the config's `admin` block: the user is
    /// an admin). A changed password ends every login session of that user.
    public func upsertUser(username: String, passwordHash: String, nowMillis: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: """
                    DELETE FROM login_sessions WHERE user_id IN (SELECT id FROM users WHERE username = ? AND password_hash <> ?)
                    """, arguments: [username, passwordHash])
                try db.execute(sql: """
                    INSERT INTO users(username, password_hash, created_at, role) VALUES (?, ?, ?, 'admin')
                    ON CONFLICT(username) DO UPDATE SET password_hash = excluded.password_hash, role = 'admin'
                    """, arguments: [username, passwordHash, nowMillis])
            }
        }
    }

    public func user(named username: String) async throws(StorageError) -> StoredUser? {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchOne(db, sql: "SELECT \(StoredUser.columns) FROM users WHERE username = ?", arguments: [username]).map(StoredUser.init(row:))
            }
        }
    }

    /// Every user, by name.
    public func users() async throws(StorageError) -> [StoredUser] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: "SELECT \(StoredUser.columns) FROM users ORDER BY username").map(StoredUser.init(row:))
            }
        }
    }

    /// Adds a user; throws `.conflict` when the name is taken.
    public func addUser(username: String, passwordHash: String, role: UserRole, sites: [String], nowMillis: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                guard try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE username = ?", arguments: [username]) == 0 else {
                    throw StorageError.conflict("there is already a user named \(username)")
                }
                try db.execute(sql: "INSERT INTO users(username, password_hash, created_at, role, sites) VALUES (?, ?, ?, ?, ?)",
                               arguments: [username, passwordHash, nowMillis, role.rawValue, sites.joined(separator: ",")])
            }
        }
    }

    /// Sets a user's password and ends their login sessions, except `keeping` (the session
    /// that changed its own password). Returns false when there is no such user.
    @discardableResult
    public func setPassword(username: String, passwordHash: String, keeping tokenHash: [UInt8]? = nil) async throws(StorageError) -> Bool {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "UPDATE users SET password_hash = ? WHERE username = ?", arguments: [passwordHash, username])
                guard db.changesCount > 0 else { return false }
                try db.execute(sql: """
                    DELETE FROM login_sessions WHERE user_id = (SELECT id FROM users WHERE username = ?) AND token_hash IS NOT ?
                    """, arguments: [username, tokenHash.map { Data($0) }])
                return true
            }
        }
    }

    /// Changes a user's role and sites. The last admin cannot become a viewer.
    @discardableResult
    public func setAccess(username: String, role: UserRole, sites: [String]) async throws(StorageError) -> Bool {
        try await Self.wrap {
            try await pool.write { db in
                if role != .admin { try Self.keepAnAdmin(db, without: username) }
                try db.execute(sql: "UPDATE users SET role = ?, sites = ? WHERE username = ?",
                               arguments: [role.rawValue, sites.joined(separator: ","), username])
                return db.changesCount > 0
            }
        }
    }

    /// Removes a user and their sessions. The last admin cannot be removed.
    @discardableResult
    public func removeUser(username: String) async throws(StorageError) -> Bool {
        try await Self.wrap {
            try await pool.write { db in
                try Self.keepAnAdmin(db, without: username)
                try db.execute(sql: "DELETE FROM login_sessions WHERE user_id = (SELECT id FROM users WHERE username = ?)", arguments: [username])
                try db.execute(sql: "DELETE FROM users WHERE username = ?", arguments: [username])
                return db.changesCount > 0
            }
        }
    }

    private static func keepAnAdmin(_ db: Database, without username: String) throws {
        let others = try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE role = 'admin' AND username <> ?", arguments: [username]) ?? 0
        let isAdmin = try Int.fetchOne(db, sql: "SELECT count(*) FROM users WHERE role = 'admin' AND username = ?", arguments: [username]) ?? 0
        if isAdmin > 0 && others == 0 { throw StorageError.conflict("\(username) is the last admin; make another user an admin first") }
    }

    /// Who did what to which user, in the audit log beside data-subject requests.
    public func auditUserChange(actor: String, action: String, username: String, detail: [String: String], nowMillis: Int64) async throws(StorageError) {
        let json = (try? JSONSerialization.data(withJSONObject: detail.merging(["user": username]) { a, _ in a }, options: [.sortedKeys]))
            .map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO audit_log(at, actor, action, site, subject_kind, subject_hash, rows) VALUES (?, ?, ?, '', 'user', '', ?)",
                               arguments: [nowMillis, actor, action, json])
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
                    SELECT u.id, u.username, u.password_hash, u.role, u.sites FROM login_sessions s JOIN users u ON u.id = s.user_id
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

    /// Live login sessions of a user (tests and the Users page).
    public func loginSessionCount(username: String, nowMillis: Int64) async throws(StorageError) -> Int {
        try await Self.wrap {
            try await pool.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM login_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = ? AND s.expires_at > ?
                    """, arguments: [username, nowMillis]) ?? 0
            }
        }
    }
}

extension StoredUser {
    static let columns = "id, username, password_hash, role, sites"

    /// From a row selecting `columns` by those names.
    init(row: Row) {
        let sites: String = row["sites"]
        self.init(id: row["id"], username: row["username"], passwordHash: row["password_hash"],
                  role: UserRole(rawValue: row["role"]) ?? .viewer, sites: sites.split(separator: ",").map(String.init))
    }
}
