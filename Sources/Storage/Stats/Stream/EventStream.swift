import Foundation
import GRDB
import Privacy

/// A session as a stream holds it while its events go by: stored facts, whether it passes
/// the scope's session-level filters, its values interned, and a few words of scratch for
/// whoever consumes the stream (tallies, funnel progress, the last page).
struct StreamSession {
    var id: Int64
    var startedAt: Int64
    var lastSeen: Int64
    var pageviews: Int
    var passes: Bool
    /// `StatsDimension.sessionLevel` values, interned (empty when the session does not pass).
    var values: [Int32]
    var exit: Int32
    /// Whether an event of the scope (passing its filters) belonged to it.
    var hadEvent = false
    var scratchDay = Int64.min
    var scratchA = 0
    var scratchB: Int64 = 0
}

/// One event of a stream, with only what counting needs.
struct StreamEvent {
    var visitor: VisitorKey
    var ts: Int64
    /// Decided once from the stored bytes; consumers need not compare `name`.
    var isPageview: Bool
    var name: String
    var path: String
    var props: [(String, String)]
}

/// The events of a scope in time order, each with its session, read without a join.
///
/// Why this shape: joining every event row to its session made SQLite find and decode a
/// session row per event (14 strings each) and Swift decode them again. Here the sessions
/// of the range come from their own index in start order, merged with the events by time,
/// each decoded and filtered once; a session leaves memory once the stream has passed its
/// last event (`last_seen` is the time of its latest event), so memory follows the number
/// of visits in progress, not the range. Session-level filters are decided per session;
/// page filters narrow the event read in SQL; event and goal filters are checked per event.
struct EventStream {
    let scope: StatsScope
    /// Read and decode `props` of custom events (names, goals and breakdowns need them).
    var needsProps = true
    /// Intern the sessions' dimension values (only cell counting reads them).
    var needsValues = true
    /// More SQL narrowing on `events e`, and its arguments.
    var extraSQL = ""
    var extraArgs: [DatabaseValue] = []
    /// How far before the range sessions are read in bulk (older ones are looked up by id).
    static let lookbackMillis: Int64 = 2 * 3_600_000
    /// Fewest events between two sweeps for finished visits (a sweep also waits for as
    /// many events as visits are held, so its cost stays amortized). Tests lower it.
    var sweepEvery = 4096

    /// What a run held and read: tests check the memory bound with these counts.
    struct Stats: Equatable {
        var events = 0
        var sessionsRead = 0
        /// Most visits held at once.
        var peakSessions = 0
    }

    static let sessionColumns: String = {
        var parts = ["id", "started_at", "last_seen", "pageviews", "exit_path"]
        for d in StatsDimension.sessionLevel {
            parts.append(d == .source ? "coalesce(referrer_host, '')" : d.sessionColumn!)
        }
        return parts.joined(separator: ", ")
    }()

    /// Runs the stream: `onEvent` for each event passing the filters, `onEnd` once for each
    /// session that had such an event, when the stream has passed it (or at the end).
    @discardableResult
    func run(_ db: Database, interner: inout Interner,
             onEvent: (StreamEvent, inout StreamSession, inout Interner) -> Void, onEnd: (inout StreamSession) -> Void) throws -> Stats {
        var stats = Stats()
        let rules = scope.rules
        let from = scope.fromMillis, to = scope.toMillis
        // Session-level filters as (column index in a session row, wanted value as UTF-8).
        var sessionFilters: [(Int32, [UInt8])] = []
        for f in scope.filters {
            if f.dimension == .exit { sessionFilters.append((4, Array(f.value.utf8))) }
            else if let i = StatsDimension.sessionLevel.firstIndex(of: f.dimension) { sessionFilters.append((Int32(5 + i), Array(f.value.utf8))) }
        }
        let eventFilters = scope.filters.filter { $0.dimension == .event || $0.dimension == .goal }
        let (pushSQL, pushArgs) = Self.eventPushdown(scope.filters, rules: rules)
        let readProps = needsProps || !eventFilters.isEmpty

        var sessions: [Int64: StreamSession] = [:]
        func decode(_ row: RawStep) -> StreamSession {
            stats.sessionsRead += 1
            let passes = sessionFilters.allSatisfy { row.bytes($0.0).elementsEqual($0.1) }
            return Self.session(row, passes: passes, values: passes && needsValues, interner: &interner)
        }

        // Sessions in bulk, by start, when most events of the range will be read; when the
        // read is narrowed to a few events (a page, an event, a funnel's steps), only their
        // sessions, by id.
        let narrowed = !pushSQL.isEmpty || !extraSQL.isEmpty
        let bulk = try RawStep(db.makeStatement(sql: "SELECT \(Self.sessionColumns) FROM sessions WHERE site = ? AND started_at >= ? AND started_at < ? ORDER BY started_at"),
                               arguments: [scope.site, from - Self.lookbackMillis, to])
        defer { bulk.finish() }
        var pending: StreamSession?
        var bulkDone = narrowed
        let byID = try db.makeStatement(sql: "SELECT \(Self.sessionColumns) FROM sessions WHERE id = ?")

        let events = try RawStep(db.makeStatement(sql: """
            SELECT e.session_id, e.visitor, e.ts, e.name, e.path, \(readProps ? "e.props" : "NULL") FROM events e
            WHERE e.site = ? AND e.ts >= ? AND e.ts < ?\(pushSQL)\(extraSQL) ORDER BY e.ts, e.id
            """), arguments: StatementArguments([scope.site.databaseValue, from.databaseValue, to.databaseValue] + pushArgs + extraArgs))
        defer { events.finish() }
        var sinceSweep = 0
        while try events.next() {
            let ts = events.int64(2)
            stats.events += 1
            // Every session started by now is known.
            while !bulkDone {
                if pending == nil {
                    guard try bulk.next() else { bulkDone = true; break }
                    pending = decode(bulk)
                }
                guard pending!.startedAt <= ts else { break }
                if sessions[pending!.id] == nil { sessions[pending!.id] = pending! }
                pending = nil
            }
            // Sessions the stream has passed are done (amortized: a sweep per map's worth of events).
            sinceSweep += 1
            if sinceSweep > max(sweepEvery, sessions.count) {
                sinceSweep = 0
                let passed = sessions.compactMap { $0.value.lastSeen < ts ? $0.key : nil }
                for id in passed {
                    var done = sessions.removeValue(forKey: id)!
                    if done.hadEvent { onEnd(&done) }
                }
            }
            let sessionID = events.int64(0)
            // One hash for the visit; later accesses go through its index.
            var at = sessions.index(forKey: sessionID)
            if at == nil {
                let lookup = try RawStep(byID, arguments: [sessionID])
                defer { lookup.finish() }
                guard try lookup.next() else { continue }
                sessions[sessionID] = decode(lookup)
                at = sessions.index(forKey: sessionID)
            }
            let index = at!
            stats.peakSessions = max(stats.peakSessions, sessions.count)
            guard sessions.values[index].passes else { continue }
            let event = Self.event(events, visitor: Self.visitor(events, 1), ts: ts, columns: (3, 4, 5))
            if !eventFilters.isEmpty, !Self.passes(event, filters: eventFilters, rules: rules) { continue }
            sessions.values[index].hadEvent = true
            onEvent(event, &sessions.values[index], &interner)
        }
        for id in sessions.keys.sorted() where sessions[id]!.hadEvent { onEnd(&sessions[id]!) }
        return stats
    }

    /// A session row of `sessionColumns`, its values interned when `values`.
    static func session(_ row: RawStep, passes: Bool, values wanted: Bool, interner: inout Interner) -> StreamSession {
        var values: [Int32] = []
        var exit: Int32 = -1
        if wanted {
            let count = StatsDimension.sessionLevel.count
            values.reserveCapacity(count)
            for i in 0..<count { values.append(interner.id(bytes: row.bytes(Int32(5 + i)))) }
            exit = interner.id(bytes: row.bytes(4))
        }
        return StreamSession(id: row.int64(0), startedAt: row.int64(1), lastSeen: row.int64(2), pageviews: Int(row.int64(3)),
                             passes: passes, values: values, exit: exit)
    }

    /// An event from the (name, path, props) columns of a row; a NULL props column reads as none.
    static func event(_ row: RawStep, visitor: VisitorKey, ts: Int64, columns c: (Int32, Int32, Int32)) -> StreamEvent {
        let isPageview = row.equals(c.0, "pageview")
        let props = isPageview || row.isNull(c.2) ? [] : VeilDatabase.decodeProps(bytes: row.bytes(c.2))
        return StreamEvent(visitor: visitor, ts: ts, isPageview: isPageview, name: isPageview ? pageview : row.string(c.0),
                           path: row.string(c.1), props: props)
    }

    /// The visitor hash in a row's column (empty for rows written before hashes were kept).
    static func visitor(_ row: RawStep, _ column: Int32) -> VisitorKey {
        let bytes = row.bytes(column)
        return bytes.isEmpty ? VisitorKey(high: 0, low: 0) : VisitorKey(bytes: bytes)
    }

    /// The one `"pageview"` string every pageview event shares (no String per row).
    static let pageview = "pageview"

    /// SQL narrowing for filters on event columns (session-level ones are decided per session).
    static func eventPushdown(_ filters: [StatsFilter], rules: AnalyticsRules) -> (sql: String, args: [DatabaseValue]) {
        var sql = ""
        var args: [DatabaseValue] = []
        for f in filters {
            switch f.dimension {
            case .page:
                sql += " AND e.path = ?"; args.append(f.value.databaseValue)
            case .event:
                let isDefinition = rules.clickEvents.contains { $0.name == f.value }
                sql += " AND e.name = ?"; args.append((isDefinition ? ClickDefinition.autocaptureName : f.value).databaseValue)
            case .goal:
                guard let goal = rules.goal(named: f.value) else { sql += " AND 0"; continue }
                if goal.page != nil {
                    sql += " AND e.name = 'pageview'"
                } else if let event = goal.event {
                    sql += " AND e.name IN (?, ?)"; args += [event.databaseValue, ClickDefinition.autocaptureName.databaseValue]
                }
            default:
                break
            }
        }
        return (sql, args)
    }

    /// Whether an event passes the event and goal filters (after the SQL narrowing).
    static func passes(_ e: StreamEvent, filters: [StatsFilter], rules: AnalyticsRules) -> Bool {
        for f in filters {
            switch f.dimension {
            case .event:
                guard !e.isPageview, rules.effectiveName(name: e.name, props: e.props) == f.value else { return false }
            case .goal:
                let name = rules.effectiveName(name: e.name, props: e.props)
                guard rules.goalsMet(name: name, path: e.path, props: e.props).contains(f.value) else { return false }
            default:
                break
            }
        }
        return true
    }
}
