import Foundation
import GRDB
import Privacy

// MARK: - Raw scans (filters, properties, funnels)

struct FunnelProgress: Sendable {
    var reached: Int
    var firstAt: Int64
    var visitor: [UInt8]
}

extension VeilDatabase {
    /// SQL narrowing for filters that map to a column; the rest is checked in Swift.
    static func pushdown(_ filters: [StatsFilter], rules: AnalyticsRules) -> (sql: String, args: [DatabaseValue]) {
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
            case .source:
                sql += " AND coalesce(s.referrer_host, '') = ?"; args.append(f.value.databaseValue)
            default:
                sql += " AND s.\(f.dimension.sessionColumn!) = ?"; args.append(f.value.databaseValue)
            }
        }
        return (sql, args)
    }

    /// Whether an event passes every filter (after the SQL narrowing).
    static func passes(_ e: ScannedEvent, filters: [StatsFilter], rules: AnalyticsRules) -> Bool {
        for f in filters {
            switch f.dimension {
            case .event:
                guard e.name != "pageview", rules.effectiveName(name: e.name, props: e.props) == f.value else { return false }
            case .goal:
                let name = rules.effectiveName(name: e.name, props: e.props)
                guard rules.goalsMet(name: name, path: e.path, props: e.props).contains(f.value) else { return false }
            default:
                break // exact column matches, done in SQL
            }
        }
        return true
    }

    /// Folds `body` over each event of the scope passing its filters: in insertion order
    /// when `ordered` (funnels, journeys), else in whatever order the index gives, which
    /// saves SQLite sorting every matching row (counts do not depend on order: visitors
    /// are distinct per day and per hour, visits are distinct by id).
    static func scan<State>(_ db: Database, _ scope: StatsScope, extraSQL: String = "", extraArgs: [DatabaseValue] = [], ordered: Bool = true, into initial: State,
                            _ body: (inout State, ScannedEvent) -> Void) throws -> State {
        let (filterSQL, filterArgs) = pushdown(scope.filters, rules: scope.rules)
        var state = initial
        let args: [DatabaseValue] = [scope.site.databaseValue, scope.fromMillis.databaseValue, scope.toMillis.databaseValue] + filterArgs + extraArgs
        let statement = try db.makeStatement(sql: """
            SELECT \(ScannedEvent.columns) FROM events e JOIN sessions s ON s.id = e.session_id
            WHERE e.site = ? AND e.ts >= ? AND e.ts < ?\(filterSQL)\(extraSQL)\(ordered ? " ORDER BY e.id" : "")
            """)
        let reader = ScannedEvent.Reader(statement)
        let cursor = try Row.fetchCursor(statement, arguments: StatementArguments(args))
        // A session's events are close together: decode its columns once (bounded cache).
        var sessions: [Int64: SessionFacts] = [:]
        while let row = try cursor.next() {
            let sessionID = reader.sessionID(row)
            let known = sessions[sessionID]
            let event = reader.read(row, session: known)
            if known == nil {
                if sessions.count >= 20_000 { sessions.removeAll(keepingCapacity: true) }
                sessions[sessionID] = event.session
            }
            if passes(event, filters: scope.filters, rules: scope.rules) { body(&state, event) }
        }
        return state
    }

    /// Rollup cells of the scope's matching events, and of the sessions they belong to
    /// that started in the range.
    func filteredCells(_ scope: StatsScope, dimensions: [StatsDimension]? = nil) async throws(StorageError) -> CellSums {
        try await read { db in try Self.filteredCells(db, scope, dimensions: dimensions) }
    }

    static func filteredCells(_ db: Database, _ scope: StatsScope, dimensions: [StatsDimension]? = nil) throws -> CellSums {
        let only = dimensions.map(DimensionMask.init) ?? .all
        let start = (RollupAccumulator(rules: scope.rules, only: only), [Int64: SessionFacts]())
        var (acc, sessions) = try scan(db, scope, ordered: false, into: start) { state, e in
            state.0.addEvent(visitor: e.visitor, ts: e.ts, name: e.name, path: e.path, props: e.props, session: e.session) { [] }
            if state.1[e.session.id] == nil { state.1[e.session.id] = e.session }
        }
        for s in sessions.values where s.startedAt >= scope.fromMillis && s.startedAt < scope.toMillis { acc.addSession(s) }
        sessions = [:]
        return CellSums(cells: acc.takeDeltas())
    }

    /// The properties recorded with a custom event, ranked by how often they occur.
    public func propertyKeys(_ scope: StatsScope, event: String) async throws(StorageError) -> [String] {
        try await read { db in try Self.propertyKeys(db, scope, event: event) }
    }

    static func propertyKeys(_ db: Database, _ scope: StatsScope, event: String) throws -> [String] {
        let rules = scope.rules
        let counts = try scan(db, scope, extraSQL: " AND e.props IS NOT NULL", ordered: false, into: [String: Int]()) { counts, e in
            guard e.name != "pageview", rules.effectiveName(name: e.name, props: e.props) == event else { return }
            for (k, _) in e.props { counts[k, default: 0] += 1 }
        }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }

    /// Values of one property of one custom event, ranked by visitors (distinct per day).
    public func propertyBreakdown(_ scope: StatsScope, event: String, key: String, limit: Int, offset: Int = 0) async throws(StorageError) -> Breakdown {
        try await read { db in try Self.propertyBreakdown(db, scope, event: event, key: key, limit: limit, offset: offset) }
    }

    static func propertyBreakdown(_ db: Database, _ scope: StatsScope, event: String, key: String, limit: Int, offset: Int = 0) throws -> Breakdown {
        let rules = scope.rules
        let (rows, _) = try scan(db, scope, extraSQL: " AND e.props IS NOT NULL", ordered: false, into: ([String: BreakdownRow](), DailyVisitors<String>())) { state, e in
            guard e.name != "pageview", rules.effectiveName(name: e.name, props: e.props) == event,
                  let value = e.props.first(where: { $0.0 == key })?.1 else { return }
            var row = state.0[value] ?? BreakdownRow(value: value, visitors: 0, hits: 0, pageviews: 0, sessions: 0)
            row.hits += 1
            if state.1.firstTime(e.visitor, day: rules.calendar.day(of: e.ts), value) { row.visitors += 1 }
            state.0[value] = row
        }
        let sorted = rows.values.sorted { BreakdownOrder.before($0, $1, dim: .event) }
        return Breakdown(rows: Array(sorted.dropFirst(offset).prefix(limit)), total: sorted.count)
    }

    /// Sessions (and their visitors) reaching each step of a funnel: step k counts when
    /// goal k happens in the session after step k-1, within `windowMinutes` of step 1.
    public func funnel(_ scope: StatsScope, steps: [Goal], windowMinutes: Int?) async throws(StorageError) -> [FunnelStep] {
        try await read { db in try Self.funnel(db, scope, steps: steps, windowMinutes: windowMinutes) }
    }

    static func funnel(_ db: Database, _ scope: StatsScope, steps: [Goal], windowMinutes: Int?) throws -> [FunnelStep] {
        let rules = scope.rules
        let window = windowMinutes.map { Int64($0) * 60_000 }
        // Narrow to events that can match a step: pageviews for page steps, named events for event steps.
        var names = Set<String>(), pageviews = false
        for step in steps {
            if step.page != nil { pageviews = true } else if let event = step.event { names.insert(event) }
        }
        if !rules.clickEvents.isEmpty { names.insert(ClickDefinition.autocaptureName) }
        if pageviews { names.insert("pageview") }
        let narrow = " AND e.name IN (" + Array(repeating: "?", count: max(1, names.count)).joined(separator: ",") + ")"
        let progress = try scan(db, scope, extraSQL: narrow, extraArgs: names.isEmpty ? [DatabaseValue.null] : names.sorted().map(\.databaseValue),
                                into: [Int64: FunnelProgress]()) { progress, e in
            var p = progress[e.session.id] ?? FunnelProgress(reached: 0, firstAt: 0, visitor: e.visitor)
            guard p.reached < steps.count else { return }
            if let window, p.reached > 0, e.ts - p.firstAt > window { return }
            let name = rules.effectiveName(name: e.name, props: e.props)
            if steps[p.reached].matches(name: name, path: e.path, props: e.props) {
                if p.reached == 0 { p.firstAt = e.ts }
                p.reached += 1
                progress[e.session.id] = p
            }
        }
        return steps.enumerated().map { i, goal in
            let reached = progress.values.filter { $0.reached > i }
            return FunnelStep(goal: goal.name, visitors: Set(reached.map(\.visitor)).count, sessions: reached.count)
        }
    }

    /// The pages viewed just before and just after `page` within a session.
    public func journey(_ scope: StatsScope, page: String, limit: Int) async throws(StorageError) -> Journey {
        try await read { db in try Self.journey(db, scope, page: page, limit: limit) }
    }

    static func journey(_ db: Database, _ scope: StatsScope, page: String, limit: Int) throws -> Journey {
        /// A transition's other page, and whether it came before `page`.
        struct Step: Hashable {
            var before: Bool
            var page: String
        }
        struct Counts {
            var previous: [String: (visitors: Int, hits: Int)] = [:]
            var next: [String: (visitors: Int, hits: Int)] = [:]
            var visitors = DailyVisitors<Step>()
            var lastPage: [Int64: String] = [:]
        }
        // Only sessions that viewed the page (found through the path index) are read.
        let onlyVisits = " AND e.name = 'pageview' AND e.session_id IN (SELECT session_id FROM events WHERE site = ? AND path = ? AND ts >= ? AND ts < ?)"
        let args = [scope.site.databaseValue, page.databaseValue, scope.fromMillis.databaseValue, scope.toMillis.databaseValue]
        let counts = try scan(db, scope, extraSQL: onlyVisits, extraArgs: args, into: Counts()) { c, e in
            if let last = c.lastPage[e.session.id], last != e.path {
                let day = scope.rules.calendar.day(of: e.ts)
                if e.path == page {
                    let first = c.visitors.firstTime(e.visitor, day: day, Step(before: true, page: last))
                    c.previous[last, default: (0, 0)].visitors += first ? 1 : 0
                    c.previous[last]!.hits += 1
                }
                if last == page {
                    let first = c.visitors.firstTime(e.visitor, day: day, Step(before: false, page: e.path))
                    c.next[e.path, default: (0, 0)].visitors += first ? 1 : 0
                    c.next[e.path]!.hits += 1
                }
            }
            c.lastPage[e.session.id] = e.path
        }
        func rows(_ m: [String: (visitors: Int, hits: Int)]) -> [BreakdownRow] {
            Array(m.map { BreakdownRow(value: $0.key, visitors: $0.value.visitors, hits: $0.value.hits, pageviews: $0.value.hits, sessions: 0) }
                .sorted { BreakdownOrder.before($0, $1, dim: .page) }.prefix(limit))
        }
        return Journey(previous: rows(counts.previous), next: rows(counts.next))
    }

    /// Weekly cohorts by first-seen week for the weeks in the scope (meaningful only
    /// where visitor IDs persist across days).
    public func cohorts(site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) async throws(StorageError) -> [Cohort] {
        try await read { db in try Self.cohorts(db, site: site, fromDay: fromDay, toDay: toDay, calendar: calendar) }
    }

    static func cohorts(_ db: Database, site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) throws -> [Cohort] {
        let week = { (ms: Int64) -> Int64 in VeilDatabase.bucketStart(day: calendar.day(of: ms), granularity: .week) }
        var first: [Data: Int64] = [:]
        let firstSeen = try Row.fetchCursor(db, sql: "SELECT visitor, min(ts) AS first_ts FROM events WHERE site = ? AND ts < ? GROUP BY visitor",
                                            arguments: [site, calendar.start(ofDay: toDay)])
        while let row = try firstSeen.next() { first[row["visitor"]] = week(row["first_ts"]) }
        let firstWeek = VeilDatabase.bucketStart(day: fromDay, granularity: .week)
        var members: [Int64: Set<Data>] = [:]
        var active: [Int64: [Int64: Set<Data>]] = [:]
        let cursor = try Row.fetchCursor(db, sql: "SELECT visitor, ts FROM events WHERE site = ? AND ts >= ? AND ts < ?",
                                         arguments: [site, calendar.start(ofDay: firstWeek), calendar.start(ofDay: toDay)])
        while let row = try cursor.next() {
            let visitor: Data = row["visitor"]
            guard let cohort = first[visitor], cohort >= firstWeek else { continue }
            members[cohort, default: []].insert(visitor)
            active[cohort, default: [:]][(week(row["ts"]) - cohort) / 7, default: []].insert(visitor)
        }
        return members.keys.sorted().map { cohort in
            let weeks = Int((VeilDatabase.bucketStart(day: toDay - 1, granularity: .week) - cohort) / 7) + 1
            return Cohort(weekStartDay: cohort, size: members[cohort]!.count, active: (0..<weeks).map { active[cohort]?[Int64($0)]?.count ?? 0 })
        }
    }
}
