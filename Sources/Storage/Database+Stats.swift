import Foundation
import GRDB

// MARK: - Dashboard queries

extension VeilDatabase {
    /// Headline numbers. Sessions (and bounce, duration) count sessions that started in
    /// the range; visitors and pageviews count events in the range.
    public func overviewTotals(site: String, range: TimeRange) async throws(StorageError) -> OverviewTotals {
        try await Self.wrap {
            try await pool.read { db in
                let e = try Row.fetchOne(db, sql: """
                    SELECT count(DISTINCT visitor), coalesce(sum(name = 'pageview'), 0)
                    FROM events WHERE site = ? AND ts >= ? AND ts < ?
                    """, arguments: [site, range.from, range.to])!
                let s = try Row.fetchOne(db, sql: """
                    SELECT count(*), coalesce(sum(pageviews <= 1), 0), coalesce(sum(last_seen - started_at), 0)
                    FROM sessions WHERE site = ? AND started_at >= ? AND started_at < ?
                    """, arguments: [site, range.from, range.to])!
                return OverviewTotals(visitors: e[0], pageviews: e[1], sessions: s[0], bounces: s[1], totalDurationMillis: s[2])
            }
        }
    }

    /// Visitors and pageviews per bucket of `bucketMillis`, with empty buckets filled.
    public func timeSeries(site: String, range: TimeRange, bucketMillis: Int64) async throws(StorageError) -> [SeriesPoint] {
        try await Self.wrap {
            try await pool.read { db in
                let rows = try Row.fetchAll(db, sql: """
                    SELECT (ts - ?) / ? AS bucket, count(DISTINCT visitor), coalesce(sum(name = 'pageview'), 0)
                    FROM events WHERE site = ? AND ts >= ? AND ts < ? GROUP BY bucket
                    """, arguments: [range.from, bucketMillis, site, range.from, range.to])
                var byBucket: [Int64: (Int, Int)] = [:]
                for row in rows { byBucket[row[0]] = (row[1], row[2]) }
                let count = max(1, Int((range.to - range.from + bucketMillis - 1) / bucketMillis))
                return (0..<count).map { i in
                    let v = byBucket[Int64(i)] ?? (0, 0)
                    return SeriesPoint(start: range.from + Int64(i) * bucketMillis, visitors: v.0, pageviews: v.1)
                }
            }
        }
    }

    /// Pages ranked by unique visitors, then pageviews.
    public func topPages(site: String, range: TimeRange, limit: Int) async throws(StorageError) -> [RankedRow] {
        try await ranked(sql: """
            SELECT path, count(DISTINCT visitor) AS v, count(*) AS c FROM events
            WHERE site = ? AND ts >= ? AND ts < ? AND name = 'pageview'
            GROUP BY path ORDER BY v DESC, c DESC, path LIMIT ?
            """, site: site, range: range, limit: limit)
    }

    /// Referring hosts ranked by visitors (direct traffic has no row).
    public func topReferrers(site: String, range: TimeRange, limit: Int) async throws(StorageError) -> [RankedRow] {
        try await ranked(sql: """
            SELECT referrer_host, count(DISTINCT visitor) AS v, count(*) AS c FROM events
            WHERE site = ? AND ts >= ? AND ts < ? AND name = 'pageview' AND referrer_host IS NOT NULL
            GROUP BY referrer_host ORDER BY v DESC, c DESC, referrer_host LIMIT ?
            """, site: site, range: range, limit: limit)
    }

    /// Custom events (everything but pageviews) ranked by visitors.
    public func topEvents(site: String, range: TimeRange, limit: Int) async throws(StorageError) -> [RankedRow] {
        try await ranked(sql: """
            SELECT name, count(DISTINCT visitor) AS v, count(*) AS c FROM events
            WHERE site = ? AND ts >= ? AND ts < ? AND name <> 'pageview'
            GROUP BY name ORDER BY v DESC, c DESC, name LIMIT ?
            """, site: site, range: range, limit: limit)
    }

    /// Time of the first stored event for a site, or nil when it has none.
    public func firstEventTime(site: String) async throws(StorageError) -> Int64? {
        try await Self.wrap { try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT min(ts) FROM events WHERE site = ?", arguments: [site]) } }
    }

    private func ranked(sql: String, site: String, range: TimeRange, limit: Int) async throws(StorageError) -> [RankedRow] {
        try await Self.wrap {
            try await pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: [site, range.from, range.to, limit]).map {
                    RankedRow(label: $0[0], visitors: $0[1], count: $0[2])
                }
            }
        }
    }
}
