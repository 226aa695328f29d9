import Foundation
import GRDB
import Privacy

extension VeilDatabase {
    /// Stores links in one transaction (durable when it returns, like an event's commit).
    /// A link seen again keeps its first time; properties sent again replace the old ones.
    public func link(_ links: [IdentityLink]) async throws(StorageError) {
        guard !links.isEmpty else { return }
        try await Self.wrap {
            try await pool.write { db in
                let statement = try db.cachedStatement(sql: """
                    INSERT INTO identity_links(site, visitor, user_hash, props, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(site, visitor, user_hash) DO UPDATE SET
                        last_seen = max(last_seen, excluded.last_seen), props = coalesce(excluded.props, props)
                    """)
                for link in links {
                    try statement.execute(arguments: [link.site, Data(link.visitor), Data(link.userHash),
                                                      link.props.isEmpty ? nil : JSONWriter.object(link.props), link.at, link.at])
                }
            }
        }
    }

    /// The visitor hashes a user is linked to by identify and alias calls.
    static func linkedVisitors(_ db: Database, site: String, userHash: [UInt8]) throws -> [Data] {
        try Data.fetchAll(db, sql: "SELECT visitor FROM identity_links WHERE site = ? AND user_hash = ?", arguments: [site, Data(userHash)])
    }
}
