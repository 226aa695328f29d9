import Foundation
import GRDB
import Privacy

// MARK: - Dashboard queries (rollup-backed; raw scans are in Database+Scans.swift)
//
// Unfiltered views read the rollup table: their cost depends on the number of days and
// distinct values, not on the number of events. So do the totals and daily series of a
// view filtered by one session-level value (its cells hold them). Other filtered numbers
// come from one ordered scan of the range's raw events (`EventStream`), counted exactly
// as the rollups count, so a filter never changes what a number means.

extension VeilDatabase {
    /// Totals of a scope.
    public func totals(_ scope: StatsScope) async throws(StorageError) -> Totals {
        try await read { db in try Self.totals(db, scope) }
    }

    static func totals(_ db: Database, _ scope: StatsScope) throws -> Totals {
        if !scope.filters.isEmpty {
            guard let f = try rollupFilter(db, scope) else { return try filteredCells(db, scope, dimensions: [], hours: false).totals(fromDay: scope.fromDay, toDay: scope.toDay) }
            return try rollupTotals(db, scope, dim: f.dimension.rawValue, value: f.value)
        }
        return try rollupTotals(db, scope, dim: "total", value: "")
    }

    /// The one filter whose headline numbers (totals, daily series) the rollups hold: a
    /// single session-level value, whose cells carry visitors, events, sessions, bounces and
    /// duration of the visits with that value, exactly as a scan counts them (a test holds
    /// the two equal). Only when the site's rollups are current: while they are recomputed
    /// (new goals, a new zone, a new format), the raw rows answer.
    static func rollupFilter(_ db: Database, _ scope: StatsScope) throws -> StatsFilter? {
        guard scope.filters.count == 1, let f = scope.filters.first, StatsDimension.sessionLevel.contains(f.dimension),
              try rollupsCurrent(db, site: scope.site, rules: scope.rules) else { return nil }
        return f
    }

    /// Totals of one rollup value over the scope's days.
    static func rollupTotals(_ db: Database, _ scope: StatsScope, dim: String, value: String) throws -> Totals {
        let r = try Row.fetchOne(db, sql: """
            SELECT coalesce(sum(visitors), 0) AS visitors, coalesce(sum(pageviews), 0) AS pageviews, coalesce(sum(hits), 0) AS hits,
                   coalesce(sum(sessions), 0) AS sessions, coalesce(sum(bounces), 0) AS bounces, coalesce(sum(duration), 0) AS duration
            FROM rollups WHERE site = ? AND dim = ? AND value = ? AND bucket >= ? AND bucket < ?
            """, arguments: [scope.site, dim, value, scope.fromDay, scope.toDay])!
        var t = Totals()
        t.visitors = r["visitors"]; t.pageviews = r["pageviews"]; t.hits = r["hits"]
        t.sessions = r["sessions"]; t.bounces = r["bounces"]; t.durationMillis = r["duration"]
        return t
    }

    /// A dimension's values ranked by visitors (exit pages: by sessions).
    public func breakdown(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int = 0) async throws(StorageError) -> Breakdown {
        try await read { db in try Self.breakdown(db, scope, dim, limit: limit, offset: offset) }
    }

    static func breakdown(_ db: Database, _ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int = 0) throws -> Breakdown {
        if !scope.filters.isEmpty {
            return try filteredCells(db, scope, dimensions: [dim], hours: false).breakdown(dim, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: offset)
        }
        let order = dim == .exit ? "sessions DESC, hits DESC, value" : "visitors DESC, hits DESC, value"
        // sum(…), not the alias: in HAVING, SQLite binds a name shared by a column and an
        // alias to the column (one arbitrary row's), which dropped values with a zero cell
        // on one day of a multi-day range (found by the ClickHouse comparison).
        let having = dim == .exit ? "sum(sessions) > 0" : "sum(hits) > 0"
        let rows = try Row.fetchAll(db, sql: """
            SELECT value, sum(visitors) AS visitors, sum(hits) AS hits, sum(pageviews) AS pageviews, sum(sessions) AS sessions FROM rollups
            WHERE site = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY value HAVING \(having) ORDER BY \(order) LIMIT ? OFFSET ?
            """, arguments: [scope.site, dim.rawValue, scope.fromDay, scope.toDay, limit, offset]).map(BreakdownRow.init(row:))
        let total = try Int.fetchOne(db, sql: """
            SELECT count(*) FROM (SELECT value, sum(hits) AS hits, sum(sessions) AS sessions FROM rollups
            WHERE site = ? AND dim = ? AND bucket >= ? AND bucket < ? GROUP BY value HAVING \(having))
            """, arguments: [scope.site, dim.rawValue, scope.fromDay, scope.toDay]) ?? 0
        return Breakdown(rows: rows, total: total)
    }

    /// Visitors and pageviews per bucket, empty buckets included. Weeks start on Monday.
    public func series(_ scope: StatsScope, granularity: Granularity) async throws(StorageError) -> [SeriesPoint] {
        try await read { db in try Self.series(db, scope, granularity: granularity) }
    }

    static func series(_ db: Database, _ scope: StatsScope, granularity: Granularity) throws -> [SeriesPoint] {
        let hourly = granularity == .hour
        if scope.filters.isEmpty { return try rollupSeries(db, scope, dim: hourly ? "hour" : "total", value: "", granularity: granularity) }
        if !hourly, let f = try rollupFilter(db, scope) { return try rollupSeries(db, scope, dim: f.dimension.rawValue, value: f.value, granularity: granularity) }
        let cells = try filteredCells(db, scope, dimensions: [], hours: hourly)
        var points: [Int64: (Int, Int)] = [:]
        for (k, c) in cells.cells where k.dim == (hourly ? "hour" : "total") { points[k.bucket] = (c.visitors, c.pageviews) }
        return bucketed(points, scope: scope, granularity: granularity)
    }

    /// The series of one rollup value (`hour` buckets for an hourly chart, days otherwise).
    static func rollupSeries(_ db: Database, _ scope: StatsScope, dim: String, value: String, granularity: Granularity) throws -> [SeriesPoint] {
        let hourly = granularity == .hour
        let hours = scope.rules.calendar.hours(fromDay: scope.fromDay, toDay: scope.toDay)
        var points: [Int64: (Int, Int)] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT bucket, visitors, pageviews FROM rollups WHERE site = ? AND dim = ? AND value = ? AND bucket >= ? AND bucket < ?",
                                       arguments: [scope.site, dim, value, hourly ? hours.lowerBound : scope.fromDay, hourly ? hours.upperBound : scope.toDay])
        while let r = try rows.next() { points[r["bucket"]] = (r["visitors"], r["pageviews"]) }
        return bucketed(points, scope: scope, granularity: granularity)
    }

    static func bucketed(_ points: [Int64: (Int, Int)], scope: StatsScope, granularity: Granularity) -> [SeriesPoint] {
        if granularity == .hour {
            return scope.rules.calendar.hours(fromDay: scope.fromDay, toDay: scope.toDay).map { h in
                let p = points[h] ?? (0, 0)
                return SeriesPoint(start: scope.rules.calendar.start(ofHour: h), visitors: p.0, pageviews: p.1)
            }
        }
        var out: [SeriesPoint] = []
        for day in scope.fromDay..<scope.toDay {
            let start = bucketStart(day: day, granularity: granularity)
            let p = points[day] ?? (0, 0)
            if let last = out.last, last.start == scope.rules.calendar.start(ofDay: start) {
                out[out.count - 1].visitors += p.0
                out[out.count - 1].pageviews += p.1
            } else {
                out.append(SeriesPoint(start: scope.rules.calendar.start(ofDay: start), visitors: p.0, pageviews: p.1))
            }
        }
        return out
    }

    /// The first day of the week (Monday) or month holding `day`.
    public static func bucketStart(day: Int64, granularity: Granularity) -> Int64 {
        switch granularity {
        case .hour, .day: day
        case .week: DayCalendar.weekStart(day)
        case .month: DayCalendar.monthStart(day)
        }
    }

    /// Visitors active in the last `windowMillis` and the pages they are on.
    public func realtime(site: String, now: Int64, windowMillis: Int64 = 300_000, limit: Int = 10) async throws(StorageError) -> Realtime {
        try await read { db in try Self.realtime(db, site: site, now: now, windowMillis: windowMillis, limit: limit) }
    }

    static func realtime(_ db: Database, site: String, now: Int64, windowMillis: Int64 = 300_000, limit: Int = 10) throws -> Realtime {
        let visitors = try Int.fetchOne(db, sql: "SELECT count(DISTINCT visitor) FROM events WHERE site = ? AND ts >= ?", arguments: [site, now - windowMillis]) ?? 0
        // A visitor's current page is their latest pageview in the window.
        let pages = try Row.fetchAll(db, sql: """
            SELECT path, count(*) AS visitors FROM (
                SELECT e.visitor, e.path FROM events e
                WHERE e.site = ? AND e.ts >= ? AND e.name = 'pageview'
                  AND e.id = (SELECT max(id) FROM events x WHERE x.site = e.site AND x.visitor = e.visitor AND x.ts >= ? AND x.name = 'pageview'))
            GROUP BY path ORDER BY visitors DESC, path LIMIT ?
            """, arguments: [site, now - windowMillis, now - windowMillis, limit]).map { (r: Row) -> BreakdownRow in
            let n: Int = r["visitors"]
            return BreakdownRow(value: r["path"], visitors: n, hits: n, pageviews: n, sessions: 0)
        }
        return Realtime(visitors: visitors, pages: pages)
    }
}

extension BreakdownRow {
    /// From a row selecting `value, visitors, hits, pageviews, sessions` by those names.
    init(row: Row) {
        self.init(value: row["value"], visitors: row["visitors"], hits: row["hits"], pageviews: row["pageviews"], sessions: row["sessions"])
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
        try await read { db in try Self.snapshot(db, scope, granularity: granularity, dimensions: dimensions, limit: limit) }
    }

    static func snapshot(_ db: Database, _ scope: StatsScope, granularity: Granularity, dimensions: [StatsDimension], limit: Int) throws -> StatsSnapshot {
        if scope.filters.isEmpty {
            var breakdowns: [StatsDimension: Breakdown] = [:]
            for d in dimensions { breakdowns[d] = try breakdown(db, scope, d, limit: limit) }
            return StatsSnapshot(totals: try totals(db, scope), series: try series(db, scope, granularity: granularity), breakdowns: breakdowns)
        }
        // Headline numbers alone (the previous period of a filtered overview) come from the
        // rollups when they hold them.
        if dimensions.isEmpty, granularity != .hour, let f = try rollupFilter(db, scope) {
            return StatsSnapshot(totals: try rollupTotals(db, scope, dim: f.dimension.rawValue, value: f.value),
                                 series: try rollupSeries(db, scope, dim: f.dimension.rawValue, value: f.value, granularity: granularity), breakdowns: [:])
        }
        let cells = try filteredCells(db, scope, dimensions: dimensions, hours: granularity == .hour)
        var points: [Int64: (Int, Int)] = [:]
        for (k, c) in cells.cells where k.dim == (granularity == .hour ? "hour" : "total") { points[k.bucket] = (c.visitors, c.pageviews) }
        var breakdowns: [StatsDimension: Breakdown] = [:]
        for d in dimensions { breakdowns[d] = cells.breakdown(d, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: 0) }
        return StatsSnapshot(totals: cells.totals(fromDay: scope.fromDay, toDay: scope.toDay),
                             series: bucketed(points, scope: scope, granularity: granularity), breakdowns: breakdowns)
    }
}

// MARK: - Partial-day comparison

extension VeilDatabase {
    /// Totals of a site for any millisecond range within one or two days, from the raw
    /// tables ("yesterday until this time" for the Today view's comparison). Visitors are
    /// distinct over the range, which for a range within one day is the same definition
    /// the rollups use.
    public func rawTotals(site: String, from: Int64, to: Int64) async throws(StorageError) -> Totals {
        try await read { db in try Self.rawTotals(db, site: site, from: from, to: to) }
    }

    static func rawTotals(_ db: Database, site: String, from: Int64, to: Int64) throws -> Totals {
        let e = try Row.fetchOne(db, sql: """
            SELECT count(DISTINCT visitor) AS visitors, coalesce(sum(name = 'pageview'), 0) AS pageviews, count(*) AS hits FROM events WHERE site = ? AND ts >= ? AND ts < ?
            """, arguments: [site, from, to])!
        let s = try Row.fetchOne(db, sql: """
            SELECT count(*) AS sessions, coalesce(sum(pageviews <= 1), 0) AS bounces, coalesce(sum(last_seen - started_at), 0) AS duration
            FROM sessions WHERE site = ? AND started_at >= ? AND started_at < ?
            """, arguments: [site, from, to])!
        var t = Totals()
        t.visitors = e["visitors"]; t.pageviews = e["pageviews"]; t.hits = e["hits"]
        t.sessions = s["sessions"]; t.bounces = s["bounces"]; t.durationMillis = s["duration"]
        return t
    }
}
