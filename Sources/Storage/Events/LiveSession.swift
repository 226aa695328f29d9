import Foundation
import GRDB

extension VeilDatabase {
    /// A visitor's live session on a site: the newest one seen at or after `since` (the
    /// session timeout ago). The one lookup event ingest and replay ingest share, so a
    /// recording attaches to the same visit its events count in.
    static func liveSession(_ db: Database, site: String, visitor: [UInt8], since: Int64) throws -> SessionFacts? {
        let statement = try db.cachedStatement(sql: """
            SELECT \(SessionFacts.columns) FROM sessions s
            WHERE s.site = ? AND s.visitor = ? AND s.last_seen >= ? ORDER BY s.last_seen DESC LIMIT 1
            """)
        let reader = try SessionFacts.Reader(ColumnIndex(statement))
        return try Row.fetchOne(statement, arguments: [site, Data(visitor), since]).map { reader.read($0) }
    }
}
