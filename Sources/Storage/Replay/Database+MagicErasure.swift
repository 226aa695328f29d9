import Foundation
import GRDB

/// Magic erasure: selectors picked on the live site, and the picker's one-time tokens.
extension VeilDatabase {
    public func pickedSelectors(site: String) async throws(StorageError) -> [String] {
        try await read { db in try Self.pickedSelectors(db, site: site) }
    }

    static func pickedSelectors(_ db: Database, site: String) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT selector FROM replay_selectors WHERE site = ? ORDER BY created_at, selector", arguments: [site])
    }

    /// Adds the selector, or removes it when present. Returns whether it is now picked.
    public func togglePickedSelector(site: String, selector: String, nowMillis: Int64) async throws(StorageError) -> Bool {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM replay_selectors WHERE site = ? AND selector = ?", arguments: [site, selector])
                if db.changesCount > 0 { return false }
                try db.execute(sql: "INSERT INTO replay_selectors(site, selector, created_at) VALUES (?, ?, ?)", arguments: [site, selector, nowMillis])
                return true
            }
        }
    }

    public func removePickedSelector(site: String, selector: String) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM replay_selectors WHERE site = ? AND selector = ?", arguments: [site, selector])
            }
        }
    }

    /// Stores a picker link's hash (one live link or session per site: a new one replaces them).
    public func createPickerLink(site: String, tokenHash: [UInt8], expiresAt: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM picker_tokens WHERE site = ?", arguments: [site])
                try db.execute(sql: "INSERT INTO picker_tokens(token_hash, site, kind, expires_at) VALUES (?, ?, 'link', ?)", arguments: [Data(tokenHash), site, expiresAt])
            }
        }
    }

    /// Uses up a live picker link: returns its site and expiry and deletes it, so the link works once.
    public func redeemPickerLink(tokenHash: [UInt8], nowMillis: Int64) async throws(StorageError) -> (site: String, expiresAt: Int64)? {
        try await Self.wrap {
            try await pool.write { db in
                guard let row = try Row.fetchOne(db, sql: "SELECT site, expires_at FROM picker_tokens WHERE token_hash = ? AND kind = 'link' AND expires_at > ?",
                                                 arguments: [Data(tokenHash), nowMillis]) else { return nil }
                try db.execute(sql: "DELETE FROM picker_tokens WHERE token_hash = ?", arguments: [Data(tokenHash)])
                return (row["site"], row["expires_at"])
            }
        }
    }

    /// Stores the key of the picker session a redeemed link opened.
    public func createPickerSession(site: String, keyHash: [UInt8], expiresAt: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "INSERT INTO picker_tokens(token_hash, site, kind, expires_at) VALUES (?, ?, 'session', ?)", arguments: [Data(keyHash), site, expiresAt])
            }
        }
    }

    /// The site a live picker session belongs to.
    public func pickerSessionSite(keyHash: [UInt8], nowMillis: Int64) async throws(StorageError) -> String? {
        try await Self.wrap {
            try await pool.read { db in
                try String.fetchOne(db, sql: "SELECT site FROM picker_tokens WHERE token_hash = ? AND kind = 'session' AND expires_at > ?", arguments: [Data(keyHash), nowMillis])
            }
        }
    }
}
