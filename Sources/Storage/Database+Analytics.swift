import Foundation
import GRDB
import Privacy

// MARK: - Dashboard queries
//
// Unfiltered views read the rollup table: their cost depends on the number of days and
// distinct values, not on the number of events. Filtered views scan the raw events of
// the range once (narrowed in SQL where a filter maps to a column) and sum them with the
// same `RollupAccumulator` the writer uses, so a filter never changes what a number means.

extension VeilDatabase {
    /// Totals of a scope.
    public func totals(_ scope: StatsScope) async throws(StorageError) -> Totals {
        if !scope.filters.isEmpty { return try await filteredCells(scope, dimensions: []).totals(fromDay: scope.fromDay, toDay: scope.toDay) }
        return try await Self.wrap {
            try await pool.read { db in
                let r = try Row.fetchOne(db, sql: """
                    SELECT coalesce(sum(visitors), 0), coalesce(sum(pageviews), 0), coalesce(sum(hits), 0), coalesce(sum(sessions), 0),
                           coalesce(sum(bounces), 0), coalesce(sum(duration), 0)
                    FROM rollups WHERE site = ? AND dim = 'total' AND bucket >= ? AND bucket < ?
                    """, arguments: [scope.site, scope.fromDay, scope.toDay])!
                var t = Totals()
                t.visitors = r[0]; t.pageviews = r[1]; t.hits = r[2]; t.sessions = r[3]; t.bounces = r[4]; t.durationMillis = r[5]
                return t
            }
        }
    }

    /// A dimension's values ranked by visitors (exit pages: by sessions).
    public func breakdown(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int = 0) async throws(StorageError) -> Breakdown {
        if !scope.filters.isEmpty {
            return try await filteredCells(scope, dimensions: [dim]).breakdown(dim, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: offset)
        }
        let order = dim == .exit ? "s DESC, h DESC, value" : "v DESC, h DESC, value"
        let having = dim == .exit ? "s > 0" : "h > 0"
        return try await Self.wrap {
            try await pool.read { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT value, sum(visitors) AS v, sum(hits) AS h, sum(pageviews), sum(sessions) AS s FROM rollups
                    WHERE site = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY value HAVING \(having) ORDER BY \(order) LIMIT ? OFFSET ?
                    """, arguments: [scope.site, dim.rawValue, scope.fromDay, scope.toDay, limit, offset]).map {
                    BreakdownRow(value: $0[0], visitors: $0[1], hits: $0[2], pageviews: $0[3], sessions: $0[4])
                }
                let total = try Int.fetchOne(db, sql: """
                    SELECT count(*) FROM (SELECT value, sum(hits) AS h, sum(sessions) AS s FROM rollups
                    WHERE site = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY value HAVING \(having))
                    """, arguments: [scope.site, dim.rawValue, scope.fromDay, scope.toDay]) ?? 0
                return Breakdown(rows: rows, total: total)
            }
        }
    }

    /// Visitors and pageviews per bucket, empty buckets included. Weeks start on Monday.
    public func series(_ scope: StatsScope, granularity: Granularity) async throws(StorageError) -> [SeriesPoint] {
        let hourly = granularity == .hour
        var points: [Int64: (Int, Int)] = [:]
        if scope.filters.isEmpty {
            let rows = try await Self.wrap {
                try await pool.read { db in
                    try Row.fetchAll(db, sql: "SELECT bucket, visitors, pageviews FROM rollups WHERE site = ? AND dim = ? AND value = '' AND bucket >= ? AND bucket < ?",
                                     arguments: [scope.site, hourly ? "hour" : "total", hourly ? scope.fromDay * 24 : scope.fromDay, hourly ? scope.toDay * 24 : scope.toDay])
                        .map { ($0[0] as Int64, $0[1] as Int, $0[2] as Int) }
                }
            }
            for r in rows { points[r.0] = (r.1, r.2) }
        } else {
            let cells = try await filteredCells(scope, dimensions: [])
            for (k, c) in cells.cells where k.dim == (hourly ? "hour" : "total") { points[k.bucket] = (c.visitors, c.pageviews) }
        }
        return Self.bucketed(points, scope: scope, granularity: granularity)
    }

    static func bucketed(_ points: [Int64: (Int, Int)], scope: StatsScope, granularity: Granularity) -> [SeriesPoint] {
        if granularity == .hour {
            return (scope.fromDay * 24..<scope.toDay * 24).map { h in
                let p = points[h] ?? (0, 0)
                return SeriesPoint(start: h * RollupCalendar.hour, visitors: p.0, pageviews: p.1)
            }
        }
        var out: [SeriesPoint] = []
        for day in scope.fromDay..<scope.toDay {
            let start = bucketStart(day: day, granularity: granularity)
            let p = points[day] ?? (0, 0)
            if let last = out.last, last.start == start * RollupCalendar.day {
                out[out.count - 1].visitors += p.0
                out[out.count - 1].pageviews += p.1
            } else {
                out.append(SeriesPoint(start: start * RollupCalendar.day, visitors: p.0, pageviews: p.1))
            }
        }
        return out
    }

    /// The first day of the week (Monday) or month holding `day`.
    public static func bucketStart(day: Int64, granularity: Granularity) -> Int64 {
        switch granularity {
        case .hour, .day: return day
        case .week: return day - ((day + 3) % 7 + 7) % 7 // 1970-01-01 was a Thursday
        case .month:
            let (y, m, _) = CivilDate.civil(fromDay: day)
            return CivilDate.day(y: y, m: m, d: 1)
        }
    }

    /// Visitors active in the last `windowMillis` and the pages they are on.
    public func realtime(site: String, now: Int64, windowMillis: Int64 = 300_000, limit: Int = 10) async throws(StorageError) -> Realtime {
        try await Self.wrap {
            try await pool.read { db in
                let visitors = try Int.fetchOne(db, sql: "SELECT count(DISTINCT visitor) FROM events WHERE site = ? AND ts >= ?", arguments: [site, now - windowMillis]) ?? 0
                // A visitor's current page is their latest pageview in the window.
                let pages = try Row.fetchAll(db, sql: """
                    SELECT path, count(*) AS v FROM (
                        SELECT e.visitor, e.path FROM events e
                        WHERE e.site = ? AND e.ts >= ? AND e.name = 'pageview'
                          AND e.id = (SELECT max(id) FROM events x WHERE x.site = e.site AND x.visitor = e.visitor AND x.ts >= ? AND x.name = 'pageview'))
                    GROUP BY path ORDER BY v DESC, path LIMIT ?
                    """, arguments: [site, now - windowMillis, now - windowMillis, limit]).map {
                    BreakdownRow(value: $0[0], visitors: $0[1], hits: $0[1], pageviews: $0[1], sessions: 0)
                }
                return Realtime(visitors: visitors, pages: pages)
            }
        }
    }
}

// MARK: - Raw scans (filters, properties, funnels)

struct FunnelProgress: Sendable {
    var reached: Int
    var firstAt: Int64
    var visitor: [UInt8]
}

/// One stored event with its session, as scans see it.
struct ScannedEvent {
    var visitor: [UInt8]
    var ts: Int64
    var name: String
    var path: String
    var props: [(String, String)]
    var session: SessionFacts
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
    func scan<State: Sendable>(_ scope: StatsScope, extraSQL: String = "", extraArgs: [DatabaseValue] = [], ordered: Bool = true, into initial: State,
                               _ body: @escaping @Sendable (inout State, ScannedEvent) -> Void) async throws(StorageError) -> State {
        let rules = analytics[scope.site] ?? AnalyticsRules()
        let (filterSQL, filterArgs) = Self.pushdown(scope.filters, rules: rules)
        return try await Self.wrap {
            try await pool.read { db in
                var state = initial
                let args: [DatabaseValue] = [scope.site.databaseValue, scope.fromMillis.databaseValue, scope.toMillis.databaseValue] + filterArgs + extraArgs
                let cursor = try Row.fetchCursor(db, sql: """
                    SELECT e.visitor, e.ts, e.name, e.path, e.props, \(SessionFacts.columns) FROM events e JOIN sessions s ON s.id = e.session_id
                    WHERE e.site = ? AND e.ts >= ? AND e.ts < ?\(filterSQL)\(extraSQL)\(ordered ? " ORDER BY e.id" : "")
                    """, arguments: StatementArguments(args))
                // A session's events are close together: decode its columns once (bounded cache).
                var sessions: [Int64: SessionFacts] = [:]
                while let row = try cursor.next() {
                    let sessionID: Int64 = row[5]
                    let session: SessionFacts
                    if let known = sessions[sessionID] {
                        session = known
                    } else {
                        session = Self.sessionFacts(row, offset: 5)
                        if sessions.count >= 20_000 { sessions.removeAll(keepingCapacity: true) }
                        sessions[sessionID] = session
                    }
                    let props: [(String, String)] = (row[4] as String?) == nil ? [] : Self.decodeProps(row[4])
                    let event = ScannedEvent(visitor: [UInt8](row[0] as Data), ts: row[1], name: row[2], path: row[3], props: props, session: session)
                    if Self.passes(event, filters: scope.filters, rules: rules) { body(&state, event) }
                }
                return state
            }
        }
    }

    /// Rollup cells of the scope's matching events, and of the sessions they belong to
    /// that started in the range.
    func filteredCells(_ scope: StatsScope, dimensions: [StatsDimension]? = nil) async throws(StorageError) -> CellSums {
        let only = dimensions.map(DimensionMask.init) ?? .all
        let start = (RollupAccumulator(rules: analytics[scope.site] ?? AnalyticsRules(), only: only), [Int64: SessionFacts]())
        var (acc, sessions) = try await scan(scope, ordered: false, into: start) { state, e in
            state.0.addEvent(visitor: e.visitor, ts: e.ts, name: e.name, path: e.path, props: e.props, session: e.session) { [] }
            if state.1[e.session.id] == nil { state.1[e.session.id] = e.session }
        }
        for s in sessions.values where s.startedAt >= scope.fromMillis && s.startedAt < scope.toMillis { acc.addSession(s) }
        sessions = [:]
        return CellSums(cells: acc.takeDeltas())
    }

    /// The properties recorded with a custom event, ranked by how often they occur.
    public func propertyKeys(_ scope: StatsScope, event: String) async throws(StorageError) -> [String] {
        let rules = analytics[scope.site] ?? AnalyticsRules()
        let counts = try await scan(scope, extraSQL: " AND e.props IS NOT NULL", ordered: false, into: [String: Int]()) { counts, e in
            guard e.name != "pageview", rules.effectiveName(name: e.name, props: e.props) == event else { return }
            for (k, _) in e.props { counts[k, default: 0] += 1 }
        }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }

    /// Values of one property of one custom event, ranked by visitors (distinct per day).
    public func propertyBreakdown(_ scope: StatsScope, event: String, key: String, limit: Int, offset: Int = 0) async throws(StorageError) -> Breakdown {
        let rules = analytics[scope.site] ?? AnalyticsRules()
        let (rows, _) = try await scan(scope, extraSQL: " AND e.props IS NOT NULL", ordered: false, into: ([String: BreakdownRow](), Set<String>())) { state, e in
            guard e.name != "pageview", rules.effectiveName(name: e.name, props: e.props) == event,
                  let value = e.props.first(where: { $0.0 == key })?.1 else { return }
            var row = state.0[value] ?? BreakdownRow(value: value, visitors: 0, hits: 0, pageviews: 0, sessions: 0)
            row.hits += 1
            if state.1.insert("\(RollupCalendar.day(of: e.ts))\u{0}\(e.visitor.hexString)\u{0}\(value)").inserted { row.visitors += 1 }
            state.0[value] = row
        }
        let sorted = rows.values.sorted { BreakdownOrder.before($0, $1, dim: .event) }
        return Breakdown(rows: Array(sorted.dropFirst(offset).prefix(limit)), total: sorted.count)
    }

    /// Sessions (and their visitors) reaching each step of a funnel: step k counts when
    /// goal k happens in the session after step k-1, within `windowMinutes` of step 1.
    public func funnel(_ scope: StatsScope, steps: [Goal], windowMinutes: Int?) async throws(StorageError) -> [FunnelStep] {
        let rules = analytics[scope.site] ?? AnalyticsRules()
        let window = windowMinutes.map { Int64($0) * 60_000 }
        // Narrow to events that can match a step: pageviews for page steps, named events for event steps.
        var names = Set<String>(), pageviews = false
        for step in steps {
            if step.page != nil { pageviews = true } else if let event = step.event { names.insert(event) }
        }
        if !rules.clickEvents.isEmpty { names.insert(ClickDefinition.autocaptureName) }
        if pageviews { names.insert("pageview") }
        let narrow = " AND e.name IN (" + Array(repeating: "?", count: max(1, names.count)).joined(separator: ",") + ")"
        let progress = try await scan(scope, extraSQL: narrow, extraArgs: names.isEmpty ? [DatabaseValue.null] : names.sorted().map(\.databaseValue),
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
        typealias Counts = [String: (Set<String>, Int)]
        // Only sessions that viewed the page (found through the path index) are read.
        let onlyVisits = " AND e.name = 'pageview' AND e.session_id IN (SELECT session_id FROM events WHERE site = ? AND path = ? AND ts >= ? AND ts < ?)"
        let args = [scope.site.databaseValue, page.databaseValue, scope.fromMillis.databaseValue, scope.toMillis.databaseValue]
        let (previous, next, _) = try await scan(scope, extraSQL: onlyVisits, extraArgs: args, into: (Counts(), Counts(), [Int64: String]())) { state, e in
            if let last = state.2[e.session.id], last != e.path {
                let visitorDay = "\(RollupCalendar.day(of: e.ts))\u{0}\(e.visitor.hexString)"
                if e.path == page { state.0[last, default: ([], 0)].0.insert(visitorDay); state.0[last]!.1 += 1 }
                if last == page { state.1[e.path, default: ([], 0)].0.insert(visitorDay); state.1[e.path]!.1 += 1 }
            }
            state.2[e.session.id] = e.path
        }
        func rows(_ m: [String: (Set<String>, Int)]) -> [BreakdownRow] {
            Array(m.map { BreakdownRow(value: $0.key, visitors: $0.value.0.count, hits: $0.value.1, pageviews: $0.value.1, sessions: 0) }
                .sorted { BreakdownOrder.before($0, $1, dim: .page) }.prefix(limit))
        }
        return Journey(previous: rows(previous), next: rows(next))
    }

    /// Weekly cohorts by first-seen week for the weeks in the scope (meaningful only
    /// where visitor IDs persist across days).
    public func cohorts(site: String, fromDay: Int64, toDay: Int64) async throws(StorageError) -> [Cohort] {
        try await Self.wrap {
            try await pool.read { db in
                let week = { (ms: Int64) -> Int64 in VeilDatabase.bucketStart(day: RollupCalendar.day(of: ms), granularity: .week) }
                var first: [Data: Int64] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT visitor, min(ts) FROM events WHERE site = ? AND ts < ? GROUP BY visitor",
                                            arguments: [site, toDay * RollupCalendar.day]) {
                    first[row[0]] = week(row[1])
                }
                let firstWeek = VeilDatabase.bucketStart(day: fromDay, granularity: .week)
                var members: [Int64: Set<Data>] = [:]
                var active: [Int64: [Int64: Set<Data>]] = [:]
                let cursor = try Row.fetchCursor(db, sql: "SELECT visitor, ts FROM events WHERE site = ? AND ts >= ? AND ts < ?",
                                                 arguments: [site, firstWeek * RollupCalendar.day, toDay * RollupCalendar.day])
                while let row = try cursor.next() {
                    let visitor: Data = row[0]
                    guard let cohort = first[visitor], cohort >= firstWeek else { continue }
                    members[cohort, default: []].insert(visitor)
                    active[cohort, default: [:]][(week(row[1]) - cohort) / 7, default: []].insert(visitor)
                }
                return members.keys.sorted().map { cohort in
                    let weeks = Int((VeilDatabase.bucketStart(day: toDay - 1, granularity: .week) - cohort) / 7) + 1
                    return Cohort(weekStartDay: cohort, size: members[cohort]!.count, active: (0..<weeks).map { active[cohort]?[Int64($0)]?.count ?? 0 })
                }
            }
        }
    }
}

/// Proleptic Gregorian calendar arithmetic on day numbers (days since 1970-01-01).
public enum CivilDate {
    public static func day(y: Int, m: Int, d: Int) -> Int64 {
        let y = m <= 2 ? y - 1 : y
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468)
    }

    public static func civil(fromDay z: Int64) -> (Int, Int, Int) {
        let z = Int(z) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

// MARK: - One dashboard's numbers at once

/// Everything one dashboard view shows, computed with a single scan when filtered.
public struct StatsSnapshot: Sendable, Equatable {
    public var totals: Totals
    public var series: [SeriesPoint]
    public var breakdowns: [StatsDimension: Breakdown]
}

extension VeilDatabase {
    public func snapshot(_ scope: StatsScope, granularity: Granularity, dimensions: [StatsDimension], limit: Int) async throws(StorageError) -> StatsSnapshot {
        if scope.filters.isEmpty {
            var breakdowns: [StatsDimension: Breakdown] = [:]
            for d in dimensions { breakdowns[d] = try await breakdown(scope, d, limit: limit) }
            return StatsSnapshot(totals: try await totals(scope), series: try await series(scope, granularity: granularity), breakdowns: breakdowns)
        }
        let cells = try await filteredCells(scope, dimensions: dimensions)
        var points: [Int64: (Int, Int)] = [:]
        for (k, c) in cells.cells where k.dim == (granularity == .hour ? "hour" : "total") { points[k.bucket] = (c.visitors, c.pageviews) }
        var breakdowns: [StatsDimension: Breakdown] = [:]
        for d in dimensions { breakdowns[d] = cells.breakdown(d, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: 0) }
        return StatsSnapshot(totals: cells.totals(fromDay: scope.fromDay, toDay: scope.toDay),
                             series: Self.bucketed(points, scope: scope, granularity: granularity), breakdowns: breakdowns)
    }
}
