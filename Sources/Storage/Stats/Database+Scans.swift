import Foundation
import GRDB
import Privacy

// MARK: - Raw scans (filters, properties, funnels), all on an `EventStream`

extension VeilDatabase {
    /// Rollup cells of the scope's matching events, and of the sessions they belong to
    /// that started in the range.
    func filteredCells(_ scope: StatsScope, dimensions: [StatsDimension]? = nil) async throws(StorageError) -> CellSums {
        try await read { db in try Self.filteredCells(db, scope, dimensions: dimensions) }
    }

    /// `hours`: also the hourly cells (only an hourly chart reads them).
    /// A view filtered by one value reads the cross rollups of its complete days (and counts
    /// the others the same way); two filters, or an hourly chart, stream the range.
    static func filteredCells(_ db: Database, _ scope: StatsScope, dimensions: [StatsDimension]? = nil, hours: Bool = true) throws -> CellSums {
        if !hours, scope.filters.count == 1, let f = scope.filters.first, CrossDay.filterDims.contains(f.dimension) {
            return try crossCells(db, scope, filter: f, dimensions: dimensions)
        }
        return try streamedCells(db, scope, dimensions: dimensions, hours: hours)
    }

    /// The properties recorded with a custom event, ranked by how often they occur.
    public func propertyKeys(_ scope: StatsScope, event: String) async throws(StorageError) -> [String] {
        try await read { db in try Self.propertyKeys(db, scope, event: event) }
    }

    /// `crossRollups: false` streams every day (tests compare the two).
    static func propertyKeys(_ db: Database, _ scope: StatsScope, event: String, crossRollups: Bool = true) throws -> [String] {
        var counts: [String: Int] = [:]
        var pending = [scope]
        if scope.filters.isEmpty, crossRollups {
            // Complete days from their cross rollups: an event's hits per property key.
            let (found, days) = try crossBlobs(db, scope, fdim: CrossDay.propertyDim, fvalue: event)
            for (_, cells) in found { for c in cells { counts[c.dim, default: 0] += c.counts.hits } }
            pending = stretches(days, of: scope)
        }
        for part in pending {
            let rules = part.rules
            var interner = Interner()
            let stream = EventStream(scope: part, needsValues: false, extraSQL: " AND e.props IS NOT NULL")
            try stream.run(db, interner: &interner, onEvent: { e, _, _ in
                guard !e.isPageview, rules.effectiveName(name: e.name, props: e.props) == event else { return }
                var keys = Set<String>()
                for (k, _) in e.props where keys.insert(k).inserted { counts[k, default: 0] += 1 }
            }, onEnd: { _ in })
        }
        return counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map(\.key)
    }

    /// Values of one property of one custom event, ranked by visitors (distinct per day).
    public func propertyBreakdown(_ scope: StatsScope, event: String, key: String, limit: Int, offset: Int = 0) async throws(StorageError) -> Breakdown {
        try await read { db in try Self.propertyBreakdown(db, scope, event: event, key: key, limit: limit, offset: offset) }
    }

    static func propertyBreakdown(_ db: Database, _ scope: StatsScope, event: String, key: String, limit: Int, offset: Int = 0,
                                  crossRollups: Bool = true) throws -> Breakdown {
        var rows: [String: BreakdownRow] = [:]
        func add(_ value: String, visitors: Int, hits: Int) {
            rows[value, default: BreakdownRow(value: value, visitors: 0, hits: 0, pageviews: 0, sessions: 0)].visitors += visitors
            rows[value]!.hits += hits
        }
        var pending = [scope]
        if scope.filters.isEmpty, crossRollups {
            // Complete days from their cross rollups (visitors are distinct per day, so days add up).
            let (found, days) = try crossBlobs(db, scope, fdim: CrossDay.propertyDim, fvalue: event)
            for (_, cells) in found { for c in cells where c.dim == key { add(c.value, visitors: c.counts.visitors, hits: c.counts.hits) } }
            pending = stretches(days, of: scope)
        }
        for part in pending {
            let rules = part.rules
            var counted: [Int32: (visitors: Int, hits: Int)] = [:]
            var seen = DailySeen(calendar: rules.calendar)
            var interner = Interner()
            let stream = EventStream(scope: part, needsValues: false, extraSQL: " AND e.props IS NOT NULL")
            try stream.run(db, interner: &interner, onEvent: { e, _, names in
                guard !e.isPageview, rules.effectiveName(name: e.name, props: e.props) == event,
                      let value = e.props.first(where: { $0.0 == key })?.1 else { return }
                let id = names.id(value)
                counted[id, default: (0, 0)].hits += 1
                if seen.firstTime(e.visitor, day: rules.calendar.day(of: e.ts), at: e.ts, key: UInt32(id)) { counted[id]!.visitors += 1 }
            }, onEnd: { _ in })
            for (id, c) in counted { add(interner.string(id), visitors: c.visitors, hits: c.hits) }
        }
        let sorted = rows.values.sorted { BreakdownOrder.before($0, $1, dim: .event) }
        return Breakdown(rows: Array(sorted.dropFirst(offset).prefix(limit)), total: sorted.count)
    }

    /// Sessions (and their visitors) reaching each step of a funnel: step k counts when
    /// goal k happens in the session after step k-1 (in time order), within
    /// `windowMinutes` of step 1. Visitors are distinct per day and summed, like every
    /// visitor count (`Totals`), which also keeps the funnel's memory to a day's visitors.
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
        // Per session: steps reached (scratchA) and when step 1 happened (scratchB).
        var sessions = [Int](repeating: 0, count: steps.count)
        var visitors = [Int](repeating: 0, count: steps.count)
        var seen = DailySeen(calendar: scope.rules.calendar)
        var interner = Interner()
        let stream = EventStream(scope: scope, needsValues: false, extraSQL: narrow,
                                 extraArgs: names.isEmpty ? [DatabaseValue.null] : names.sorted().map(\.databaseValue))
        try stream.run(db, interner: &interner, onEvent: { e, s, _ in
            guard s.scratchA < steps.count else { return }
            if let window, s.scratchA > 0, e.ts - s.scratchB > window { return }
            let name = rules.effectiveName(name: e.name, props: e.props)
            if steps[s.scratchA].matches(name: name, path: e.path, props: e.props) {
                if s.scratchA == 0 { s.scratchB = e.ts }
                sessions[s.scratchA] += 1
                if seen.firstTime(e.visitor, day: rules.calendar.day(of: e.ts), at: e.ts, key: UInt32(s.scratchA)) { visitors[s.scratchA] += 1 }
                s.scratchA += 1
            }
        }, onEnd: { _ in })
        return steps.enumerated().map { i, goal in FunnelStep(goal: goal.name, visitors: visitors[i], sessions: sessions[i]) }
    }

    /// The pages viewed just before and just after `page` within a session.
    public func journey(_ scope: StatsScope, page: String, limit: Int) async throws(StorageError) -> Journey {
        try await read { db in try Self.journey(db, scope, page: page, limit: limit) }
    }

    /// Unfiltered: complete days from their cross rollups, the others counted the same way
    /// for this page (`crossRollups: false` streams the range; tests compare the two).
    static func journey(_ db: Database, _ scope: StatsScope, page: String, limit: Int, crossRollups: Bool = true) throws -> Journey {
        guard scope.filters.isEmpty, crossRollups else { return try streamedJourney(db, scope, page: page, limit: limit) }
        var previous: [String: (visitors: Int, hits: Int)] = [:]
        var next: [String: (visitors: Int, hits: Int)] = [:]
        func add(_ cells: [CrossCodec.Cell], day: Int64) {
            for c in cells where c.counts(fromDay: scope.fromDay, toDay: scope.toDay, day: day) {
                if c.dim == CrossJourneys.previousDim {
                    previous[c.value, default: (0, 0)].visitors += c.counts.visitors
                    previous[c.value]!.hits += c.counts.hits
                } else {
                    next[c.value, default: (0, 0)].visitors += c.counts.visitors
                    next[c.value]!.hits += c.counts.hits
                }
            }
        }
        let (found, pending) = try crossBlobs(db, scope, fdim: CrossDay.journeyDim, fvalue: page)
        for (day, cells) in found { add(cells, day: day) }
        for day in pending { add(try CrossDay.cells(db, site: scope.site, day: day, rules: scope.rules, only: .journey(page: page)), day: day) }
        func rows(_ m: [String: (visitors: Int, hits: Int)]) -> [BreakdownRow] {
            Array(m.map { BreakdownRow(value: $0.key, visitors: $0.value.visitors, hits: $0.value.hits, pageviews: $0.value.hits, sessions: 0) }
                .sorted { BreakdownOrder.before($0, $1, dim: .page) }.prefix(limit))
        }
        return Journey(previous: rows(previous), next: rows(next))
    }

    static func streamedJourney(_ db: Database, _ scope: StatsScope, page: String, limit: Int) throws -> Journey {
        var previous: [Int32: (visitors: Int, hits: Int)] = [:]
        var next: [Int32: (visitors: Int, hits: Int)] = [:]
        var seen = DailySeen(calendar: scope.rules.calendar)
        var interner = Interner()
        let pageID = interner.id(page)
        // Only sessions that viewed the page (found through the path index) are read.
        let onlyVisits = " AND e.name = 'pageview' AND e.session_id IN (SELECT session_id FROM events WHERE site = ? AND path = ? AND ts >= ? AND ts < ?)"
        let args = [scope.site.databaseValue, page.databaseValue, scope.fromMillis.databaseValue, scope.toMillis.databaseValue]
        let stream = EventStream(scope: scope, needsProps: false, needsValues: false, extraSQL: onlyVisits, extraArgs: args)
        // Per session: the last page viewed, interned, plus one (scratchA; 0: none yet).
        try stream.run(db, interner: &interner, onEvent: { e, s, names in
            let path = names.id(e.path)
            let last = Int32(s.scratchA - 1)
            s.scratchA = Int(path) + 1
            guard last >= 0, last != path else { return }
            let day = scope.rules.calendar.day(of: e.ts)
            // Keys: the other page, with the top bit telling "before" from "after".
            if path == pageID {
                let first = seen.firstTime(e.visitor, day: day, at: e.ts, key: UInt32(last) | 1 << 31)
                previous[last, default: (0, 0)].visitors += first ? 1 : 0
                previous[last]!.hits += 1
            }
            if last == pageID {
                let first = seen.firstTime(e.visitor, day: day, at: e.ts, key: UInt32(path))
                next[path, default: (0, 0)].visitors += first ? 1 : 0
                next[path]!.hits += 1
            }
        }, onEnd: { _ in })
        func rows(_ m: [Int32: (visitors: Int, hits: Int)]) -> [BreakdownRow] {
            Array(m.map { BreakdownRow(value: interner.string($0.key), visitors: $0.value.visitors, hits: $0.value.hits, pageviews: $0.value.hits, sessions: 0) }
                .sorted { BreakdownOrder.before($0, $1, dim: .page) }.prefix(limit))
        }
        return Journey(previous: rows(previous), next: rows(next))
    }

    /// Weekly cohorts by first-seen week for the weeks in the scope (meaningful only
    /// where visitor IDs persist across days).
    public func cohorts(site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) async throws(StorageError) -> [Cohort] {
        try await read { db in try Self.cohorts(db, site: site, fromDay: fromDay, toDay: toDay, calendar: calendar) }
    }

    static func cohorts(_ db: Database, site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) throws -> [Cohort] {
        // Grouped in SQL so that SQLite, not a Swift map of every visitor ever seen, holds
        // the per-visitor state (its sorter and temporary b-trees stay within its cache and
        // spill to disk): the first-seen week of every visitor is the one thing here that
        // grows with history. Weeks are on the site's clock, through a function of this read.
        let week = DatabaseFunction("veil_week", argumentCount: 1, pure: true) { values in
            guard let ms = Int64.fromDatabaseValue(values[0]) else { return nil }
            return VeilDatabase.bucketStart(day: calendar.day(of: ms), granularity: .week)
        }
        db.add(function: week)
        defer { db.remove(function: week) }
        let firstWeek = VeilDatabase.bucketStart(day: fromDay, granularity: .week)
        let from = calendar.start(ofDay: firstWeek), to = calendar.start(ofDay: toDay)
        let firsts = "SELECT visitor, veil_week(min(ts)) AS cohort FROM events WHERE site = ? AND ts < ? GROUP BY visitor HAVING min(ts) >= ?"
        var sizes: [Int64: Int] = [:]
        let members = try Row.fetchCursor(db, sql: "SELECT cohort, count(*) AS n FROM (\(firsts)) GROUP BY cohort", arguments: [site, to, from])
        while let row = try members.next() { sizes[row["cohort"]] = row["n"] }
        var active: [Int64: [Int64: Int]] = [:]
        let weeks = try Row.fetchCursor(db, sql: """
            SELECT f.cohort AS cohort, veil_week(e.ts) AS week, count(DISTINCT e.visitor) AS n
            FROM (\(firsts)) f JOIN events e ON e.site = ? AND e.visitor = f.visitor AND e.ts >= ? AND e.ts < ?
            GROUP BY f.cohort, week
            """, arguments: [site, to, from, site, from, to])
        while let row = try weeks.next() {
            let cohort: Int64 = row["cohort"], week: Int64 = row["week"]
            active[cohort, default: [:]][(week - cohort) / 7] = row["n"]
        }
        return sizes.keys.sorted().map { cohort in
            let count = Int((VeilDatabase.bucketStart(day: toDay - 1, granularity: .week) - cohort) / 7) + 1
            return Cohort(weekStartDay: cohort, size: sizes[cohort]!, active: (0..<count).map { active[cohort]?[Int64($0)] ?? 0 })
        }
    }
}
