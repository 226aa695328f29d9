import Foundation
import GRDB
import Privacy

// MARK: - Dashboard queries (rollup-backed; raw scans are in Database+Scans.swift)
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

// MARK: - Partial-day comparison

extension VeilDatabase {
    /// Totals of a site for any millisecond range within one or two days, from the raw
    /// tables ("yesterday until this time" for the Today view's comparison). Visitors are
    /// distinct over the range, which for a range within one day is the same definition
    /// the rollups use.
    public func rawTotals(site: String, from: Int64, to: Int64) async throws(StorageError) -> Totals {
        try await Self.wrap {
            try await pool.read { db in
                let e = try Row.fetchOne(db, sql: """
                    SELECT count(DISTINCT visitor), coalesce(sum(name = 'pageview'), 0), count(*) FROM events WHERE site = ? AND ts >= ? AND ts < ?
                    """, arguments: [site, from, to])!
                let s = try Row.fetchOne(db, sql: """
                    SELECT count(*), coalesce(sum(pageviews <= 1), 0), coalesce(sum(last_seen - started_at), 0)
                    FROM sessions WHERE site = ? AND started_at >= ? AND started_at < ?
                    """, arguments: [site, from, to])!
                var t = Totals()
                t.visitors = e[0]; t.pageviews = e[1]; t.hits = e[2]
                t.sessions = s[0]; t.bounces = s[1]; t.durationMillis = s[2]
                return t
            }
        }
    }
}
