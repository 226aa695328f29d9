import Foundation
import GRDB

/// Magic erasure: selectors picked on the live site, and the picker's one-time tokens.
extension VeilDatabase {
    public func pickedSelectors(site: String) async throws(StorageError) -> [String] {
        try await Self.wrap {
            try await pool.read { db in
                try String.fetchAll(db, sql: "SELECT selector FROM replay_selectors WHERE site = ? ORDER BY created_at, selector", arguments: [site])
            }
        }
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

    /// Stores a picker token's hash; one live token per site (a new one replaces it).
    public func createPickerToken(site: String, tokenHash: [UInt8], expiresAt: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM picker_tokens WHERE site = ?", arguments: [site])
                try db.execute(sql: "INSERT INTO picker_tokens(token_hash, site, expires_at) VALUES (?, ?, ?)", arguments: [Data(tokenHash), site, expiresAt])
            }
        }
    }

    /// The site a live picker token belongs to.
    public func pickerTokenSite(tokenHash: [UInt8], nowMillis: Int64) async throws(StorageError) -> String? {
        try await Self.wrap {
            try await pool.read { db in
                try String.fetchOne(db, sql: "SELECT site FROM picker_tokens WHERE token_hash = ? AND expires_at > ?", arguments: [Data(tokenHash), nowMillis])
            }
        }
    }
}
