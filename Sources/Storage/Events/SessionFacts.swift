import Foundation
import GRDB
import Privacy

/// A visit as events are counted under it: the row shape of `sessions` that ingest,
/// rollups and scans read, by column name.
struct SessionFacts: Sendable {
    var id: Int64
    var startedAt: Int64
    var lastSeen: Int64
    var pageviews: Int
    var entry: String
    var exit: String
    /// Values of `StatsDimension.sessionLevel`, in that order (entry first).
    var values: [String]

    /// The `sessions` columns (table alias `s`) a `Reader` reads, each under a name of its
    /// own so they can sit next to event columns in one select. Session-level values
    /// follow the dimension catalogue.
    static let columns: String = {
        var parts = ["s.id AS session_id", "s.started_at AS session_started_at", "s.last_seen AS session_last_seen",
                     "s.pageviews AS session_pageviews", "s.exit_path AS session_exit"]
        for d in StatsDimension.sessionLevel {
            let column = "s." + d.sessionColumn!
            parts.append((d == .source ? "coalesce(\(column), '')" : column) + " AS session_" + d.rawValue)
        }
        return parts.joined(separator: ", ")
    }()

    /// Reads `columns` out of rows of one statement.
    struct Reader {
        let id: Int, startedAt: Int, lastSeen: Int, pageviews: Int, exit: Int
        let values: [Int]

        init(_ c: ColumnIndex) throws(StorageError) {
            id = try c["session_id"]
            startedAt = try c["session_started_at"]
            lastSeen = try c["session_last_seen"]
            pageviews = try c["session_pageviews"]
            exit = try c["session_exit"]
            var values: [Int] = []
            for d in StatsDimension.sessionLevel { values.append(try c["session_" + d.rawValue]) }
            self.values = values
        }

        func read(_ row: Row) -> SessionFacts {
            let values = self.values.map { row[$0] as String }
            return SessionFacts(id: row[id], startedAt: row[startedAt], lastSeen: row[lastSeen], pageviews: row[pageviews],
                                entry: values[0], exit: row[exit], values: values)
        }
    }

    init(id: Int64, startedAt: Int64, lastSeen: Int64, pageviews: Int, entry: String, exit: String, values: [String]) {
        self.id = id
        self.startedAt = startedAt
        self.lastSeen = lastSeen
        self.pageviews = pageviews
        self.entry = entry
        self.exit = exit
        self.values = values
    }

    /// `columns`: entry, exit, then the session-level values after entry, in catalogue order.
    init(columns c: [String], id: Int64, startedAt: Int64, lastSeen: Int64, pageviews: Int) {
        self.init(id: id, startedAt: startedAt, lastSeen: lastSeen, pageviews: pageviews, entry: c[0], exit: c[1], values: [c[0]] + c[2...])
    }

    init(newFrom event: CleanEvent, id: Int64) {
        let v = event.visit
        self.init(columns: [event.path, event.path, event.referrerHost ?? "", v.channel, v.utmSource, v.utmMedium, v.utmCampaign, v.utmTerm, v.utmContent,
                            event.browser, event.os, event.device, v.screen, v.language, v.country],
                  id: id, startedAt: event.timestamp, lastSeen: event.timestamp, pageviews: 0)
    }
}

/// One stored event with its session, as rollups and scans see it.
struct ScannedEvent {
    var visitor: [UInt8]
    var ts: Int64
    var name: String
    var path: String
    var props: [(String, String)]
    var session: SessionFacts

    /// The `events` columns (table alias `e`) a `Reader` reads; select them with
    /// `SessionFacts.columns` from `events e JOIN sessions s ON s.id = e.session_id`.
    static let columns = "e.visitor AS visitor, e.ts AS ts, e.name AS name, e.path AS path, e.props AS props, " + SessionFacts.columns

    struct Reader {
        let visitor: Int, ts: Int, name: Int, path: Int, props: Int
        let session: SessionFacts.Reader

        init(_ statement: Statement) throws(StorageError) {
            let c = ColumnIndex(statement)
            visitor = try c["visitor"]
            ts = try c["ts"]
            name = try c["name"]
            path = try c["path"]
            props = try c["props"]
            session = try SessionFacts.Reader(c)
        }

        func sessionID(_ row: Row) -> Int64 { row[session.id] }

        /// The event, with `session` when the caller already decoded it.
        func read(_ row: Row, session known: SessionFacts? = nil) -> ScannedEvent {
            let json: String? = row[props]
            return ScannedEvent(visitor: [UInt8](row[visitor] as Data), ts: row[ts], name: row[name], path: row[path],
                                props: json == nil ? [] : VeilDatabase.decodeProps(json), session: known ?? session.read(row))
        }
    }
}
