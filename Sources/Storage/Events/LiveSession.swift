import Foundation
import GRDB

extension VeilDatabase {
    /// A visitor's session on a site that an event at `ts` belongs to: seen within the
    /// session timeout of `ts`. The one lookup event ingest and replay ingest share, so a
    /// recording attaches to the same visit its events count in.
    static func liveSession(_ db: Database, site: String, visitor: [UInt8], at ts: Int64, timeout: Int64) throws -> SessionFacts? {
        // The first of the visitor's sessions still open at `ts − timeout`; it holds `ts`
        // unless it starts after `ts + timeout` (an SDK event from days ago must not join
        // today's visit). A visitor's sessions do not overlap, so one row decides.
        let statement = try db.cachedStatement(sql: """
            SELECT \(SessionFacts.columns) FROM sessions s
            WHERE s.site = ? AND s.visitor = ? AND s.last_seen >= ? ORDER BY s.last_seen LIMIT 1
            """)
        let reader = try SessionFacts.Reader(ColumnIndex(statement))
        guard let facts = try Row.fetchOne(statement, arguments: [site, Data(visitor), ts - timeout]).map({ reader.read($0) }) else { return nil }
        return facts.startedAt <= ts + timeout ? facts : nil
    }
}
