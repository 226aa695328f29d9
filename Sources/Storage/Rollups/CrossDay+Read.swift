import GRDB
import Privacy

// MARK: - Reading a day for `CrossDay`: its events grouped by visitor, with their visits

extension CrossDay {
    /// The named cells of one filter value, or of one page's journeys (a view counting a day without a blob).
    static func cells(_ db: Database, site: String, day: Int64, rules: AnalyticsRules, only: Only) throws -> [CrossCodec.Cell] {
        var out: [CrossCodec.Cell] = []
        try count(db, site: site, day: day, rules: rules, only: only) { out += $0.cells }
        return out
    }

    /// Returns the events read; `each` gets the groups one at a time.
    @discardableResult
    static func count(_ db: Database, site: String, day: Int64, rules: AnalyticsRules, only: Only? = nil, each: (Group) throws -> Void) throws -> Int {
        var interner = Interner()
        var counter = CrossDay(rules: rules, day: day, only: only, interner: &interner)
        var narrow = ""
        var args: [DatabaseValue] = [site.databaseValue, counter.from.databaseValue, counter.to.databaseValue]
        switch only {
        case .filter(let f)? where !Self.visitWideDims.contains(f.dimension):
            (narrow, args) = EventStream.eventPushdown([f], rules: rules)
            args = [site.databaseValue, counter.from.databaseValue, counter.to.databaseValue] + args
        case .journey?:
            // The day's pageviews: a step can come from the page viewed on an earlier day, in a
            // visit that has no other sign of it today.
            narrow = " AND e.name = 'pageview'"
        default:
            break
        }
        // Grouped by visitor (SQLite sorts the day's rows, within its cache and temp files).
        let events = try RawStep(db.makeStatement(sql: """
            SELECT e.session_id, e.visitor, e.name, e.path, e.props FROM events e
            WHERE e.site = ? AND e.ts >= ? AND e.ts < ?\(narrow) ORDER BY e.visitor, e.ts, e.id
            """), arguments: StatementArguments(args))
        defer { events.finish() }
        let byID = try db.makeStatement(sql: "SELECT \(EventStream.sessionColumns) FROM sessions WHERE id = ?")
        let earlierSQL = try db.makeStatement(sql: "SELECT name, path, props, ts FROM events WHERE session_id = ? AND ts < ? ORDER BY ts, id")
        let from = counter.from
        func earlier(_ session: Int64, _ interner: inout Interner) throws -> [(Int64, StreamEvent)] {
            var out: [(Int64, StreamEvent)] = []
            let rows = try RawStep(earlierSQL, arguments: [session, from])
            defer { rows.finish() }
            while try rows.next() { out.append((rows.int64(3), EventStream.event(rows, visitor: VisitorKey(high: 0, low: 0), ts: rows.int64(3), columns: (0, 1, 2)))) }
            return out
        }
        var current: VisitorKey?
        var n = 0
        while try events.next() {
            n += 1
            let visitor = EventStream.visitor(events, 1)
            if visitor != current {
                try counter.endVisitor(interner: &interner, earlier: earlier)
                current = visitor
            }
            let sessionID = events.int64(0)
            var visit = counter.visits.firstIndex { $0.session.id == sessionID }
            if visit == nil {
                let lookup = try RawStep(byID, arguments: [sessionID])
                defer { lookup.finish() }
                guard try lookup.next() else { continue }
                var v = Visit(session: EventStream.session(lookup, passes: true, values: true, interner: &interner))
                v.skipped = counter.skips(v.session)
                counter.visits.append(v)
                visit = counter.visits.count - 1
            }
            if counter.visits[visit!].skipped { continue }
            counter.add(EventStream.event(events, visitor: visitor, ts: 0, columns: (2, 3, 4)), visit: visit!, interner: &interner)
        }
        try counter.endVisitor(interner: &interner, earlier: earlier)
        try counter.forEachGroup(interner, each)
        return n
    }
}
