import Foundation
import GRDB

// MARK: - Public read-only links

extension VeilDatabase {
    /// Replaces the site's public link (only the token's SHA-256 is stored).
    public func createShareLink(site: String, tokenHash: [UInt8], nowMillis: Int64) async throws(StorageError) {
        try await Self.wrap {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM share_links WHERE site = ?", arguments: [site])
                try db.execute(sql: "INSERT INTO share_links(token_hash, site, created_at) VALUES (?, ?, ?)", arguments: [Data(tokenHash), site, nowMillis])
            }
        }
    }

    public func revokeShareLink(site: String) async throws(StorageError) {
        try await Self.wrap { try await pool.write { db in try db.execute(sql: "DELETE FROM share_links WHERE site = ?", arguments: [site]) } }
    }

    /// The site a public link token opens, or nil when unknown or revoked.
    public func shareLinkSite(tokenHash: [UInt8]) async throws(StorageError) -> String? {
        try await Self.wrap {
            try await pool.read { db in try String.fetchOne(db, sql: "SELECT site FROM share_links WHERE token_hash = ?", arguments: [Data(tokenHash)]) }
        }
    }

    /// When the site's public link was created, if it has one.
    public func shareLinkCreated(site: String) async throws(StorageError) -> Int64? {
        try await read { db in try Self.shareLinkCreated(db, site: site) }
    }

    static func shareLinkCreated(_ db: Database, site: String) throws -> Int64? {
        try Int64.fetchOne(db, sql: "SELECT created_at FROM share_links WHERE site = ?", arguments: [site])
    }
}
