import Privacy

/// The dashboards' questions answered by ClickHouse (`storage.backend: clickhouse`),
/// through the same `StatsStore` seam as SQLite. Cells come back in the rollups' shape,
/// so totals, tables, pagination, ranking and chart buckets are the very code the SQLite
/// store uses, and the two backends can be compared answer for answer.
public struct ClickHouseStats: StatsStore {
    let client: ClickHouseClient
    let timeoutMillis: Int64
    /// The node's own folder, for what stays per node (the public link's date).
    let local: VeilDatabase?

    public init(client: ClickHouseClient, sessionTimeoutMillis: Int64, local: VeilDatabase? = nil) {
        self.client = client
        self.timeoutMillis = sessionTimeoutMillis
        self.local = local
    }

    func cells(site: String, from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules,
               dimensions: Set<StatsDimension>, hours: Bool) async throws(StorageError) -> CellSums {
        let statements = ClickHouseQueries(site: site, timeoutMillis: timeoutMillis)
            .cells(from: from, to: to, filters: filters, rules: rules, dimensions: dimensions, hours: hours)
        var rows: [[String]] = []
        for sql in statements { rows += try await client.rows(sql) }
        var out: [RollupKey: RollupCounts] = [:]
        for r in rows where r.count == 9 {
            guard let bucket = Int64(r[1]) else { continue }
            let key = RollupKey(dim: r[0], bucket: bucket, value: r[2])
            var c = out[key] ?? RollupCounts()
            c.visitors += Int(r[3]) ?? 0
            c.hits += Int(r[4]) ?? 0
            c.pageviews += Int(r[5]) ?? 0
            c.sessions += Int(r[6]) ?? 0
            c.bounces += Int(r[7]) ?? 0
            c.duration += Int64(r[8]) ?? 0
            out[key] = c
        }
        return CellSums(cells: out)
    }

    func cells(_ scope: StatsScope, dimensions: Set<StatsDimension>, hours: Bool = false) async throws(StorageError) -> CellSums {
        try await cells(site: scope.site, from: scope.fromMillis, to: scope.toMillis, filters: scope.filters, rules: scope.rules, dimensions: dimensions, hours: hours)
    }

    // MARK: Single questions

    public func totals(_ scope: StatsScope) async throws(StorageError) -> Totals {
        try await cells(scope, dimensions: []).totals(fromDay: scope.fromDay, toDay: scope.toDay)
    }

    public func breakdown(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int) async throws(StorageError) -> Breakdown {
        try await cells(scope, dimensions: [dim]).breakdown(dim, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: offset)
    }

    public func series(_ scope: StatsScope, granularity: Granularity) async throws(StorageError) -> [SeriesPoint] {
        Self.series(try await cells(scope, dimensions: [], hours: granularity == .hour), scope, granularity: granularity)
    }

    static func series(_ cells: CellSums, _ scope: StatsScope, granularity: Granularity) -> [SeriesPoint] {
        let dim = granularity == .hour ? "hour" : "total"
        var points: [Int64: (Int, Int)] = [:]
        for (k, c) in cells.cells where k.dim == dim { points[k.bucket] = (c.visitors, c.pageviews) }
        return VeilDatabase.bucketed(points, scope: scope, granularity: granularity)
    }

    /// Totals of an arbitrary time range (the Today comparison).
    public func rawTotals(site: String, from: Int64, to: Int64, rules: AnalyticsRules = AnalyticsRules()) async throws(StorageError) -> Totals {
        try await cells(site: site, from: from, to: to, filters: [], rules: rules, dimensions: [], hours: false).totals(fromDay: .min, toDay: .max)
    }

    public func realtime(site: String, now: Int64, windowMillis: Int64, limit: Int) async throws(StorageError) -> Realtime {
        let s = ClickHouseSQL.string(site), since = now - windowMillis
        let visitors = try await client.rows("SELECT uniqExact(visitor) FROM events WHERE site = \(s) AND ts >= \(since)").first?.first.flatMap { Int($0) } ?? 0
        // A visitor's current page is their latest pageview in the window.
        let rows = try await client.rows("""
            SELECT path, count() AS n FROM (
                SELECT visitor, argMax(path, (ts, seq)) AS path FROM events WHERE site = \(s) AND ts >= \(since) AND name = 'pageview' GROUP BY visitor
            ) GROUP BY path ORDER BY n DESC, path LIMIT \(max(0, limit))
            """)
        let pages = rows.compactMap { r -> BreakdownRow? in
            guard r.count == 2, let n = Int(r[1]) else { return nil }
            return BreakdownRow(value: r[0], visitors: n, hits: n, pageviews: n, sessions: 0)
        }
        return Realtime(visitors: visitors, pages: pages)
    }

    public func propertyKeys(_ scope: StatsScope, event: String) async throws(StorageError) -> [String] {
        let sql = ClickHouseQueries(site: scope.site, timeoutMillis: timeoutMillis)
            .propertyKeys(from: scope.fromMillis, to: scope.toMillis, filters: scope.filters, rules: scope.rules, event: event)
        return try await client.rows(sql).compactMap(\.first)
    }

    public func propertyBreakdown(_ scope: StatsScope, event: String, key: String, limit: Int, offset: Int) async throws(StorageError) -> Breakdown {
        let sql = ClickHouseQueries(site: scope.site, timeoutMillis: timeoutMillis)
            .propertyValues(from: scope.fromMillis, to: scope.toMillis, filters: scope.filters, rules: scope.rules, event: event, key: key)
        let rows = try await client.rows(sql).compactMap { r -> BreakdownRow? in
            guard r.count == 3, let v = Int(r[1]), let h = Int(r[2]) else { return nil }
            return BreakdownRow(value: r[0], visitors: v, hits: h, pageviews: 0, sessions: 0)
        }.sorted { BreakdownOrder.before($0, $1, dim: .event) }
        return Breakdown(rows: Array(rows.dropFirst(offset).prefix(limit)), total: rows.count)
    }

    // MARK: Screens

    public func snapshot(_ scope: StatsScope, granularity: Granularity, dimensions: [StatsDimension], limit: Int) async throws(StorageError) -> StatsSnapshot {
        let cells = try await cells(scope, dimensions: Set(dimensions), hours: granularity == .hour)
        var breakdowns: [StatsDimension: Breakdown] = [:]
        for d in dimensions { breakdowns[d] = cells.breakdown(d, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: 0) }
        return StatsSnapshot(totals: cells.totals(fromDay: scope.fromDay, toDay: scope.toDay), series: Self.series(cells, scope, granularity: granularity), breakdowns: breakdowns)
    }

    public func overviewScreen(_ q: OverviewQuery) async throws(StorageError) -> OverviewScreen {
        let current = try await snapshot(q.scope, granularity: q.granularity, dimensions: q.dimensions, limit: q.limit)
        let before = try await snapshot(q.previous, granularity: q.granularity, dimensions: [], limit: 0)
        var screen = OverviewScreen(current: current, previousTotals: before.totals, previousSeries: before.series)
        if let range = q.comparisonRange { screen.previousTotals = try await rawTotals(site: q.scope.site, from: range.from, to: range.to, rules: q.scope.rules) }
        if let now = q.realtimeAt { screen.realtime = try await realtime(site: q.scope.site, now: now) }
        if let event = q.propertyEvent {
            screen.propertyKeys = try await propertyKeys(q.scope, event: event)
            screen.propertyKey = q.propertyKey(among: screen.propertyKeys)
            if let key = screen.propertyKey { screen.properties = try await propertyBreakdown(q.scope, event: event, key: key, limit: 20, offset: 0) }
        }
        if q.ownerFacts {
            screen.shareLinkCreated = try await local?.shareLinkCreated(site: q.scope.site)
            screen.oldestEvent = try await oldestEvent(site: q.scope.site)
        }
        return screen
    }

    /// The time of the site's oldest event in ClickHouse (nil when it has none).
    func oldestEvent(site: String) async throws(StorageError) -> Int64? {
        let row = try await client.rows("SELECT count(), min(ts) FROM events WHERE site = \(ClickHouseSQL.string(site))").first
        guard let row, row.count == 2, row[0] != "0" else { return nil }
        return Int64(row[1])
    }

    public func breakdownScreen(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int, withTotals: Bool) async throws(StorageError) -> BreakdownScreen {
        let cells = try await cells(scope, dimensions: [dim])
        return BreakdownScreen(breakdown: cells.breakdown(dim, fromDay: scope.fromDay, toDay: scope.toDay, limit: limit, offset: offset),
                               totals: withTotals ? cells.totals(fromDay: scope.fromDay, toDay: scope.toDay) : Totals())
    }

    // MARK: Not yet on ClickHouse (each says so; README "Scaling out" lists them)

    public func replayListScreen(site: String, filter: RecordingFilter, rules: AnalyticsRules) async throws(StorageError) -> ReplayListScreen { throw .unsupported("Session replay") }
    public func replayPlayerScreen(site: String, id: Int64, rules: AnalyticsRules) async throws(StorageError) -> ReplayPlayerScreen? { throw .unsupported("Session replay") }
}
