import Privacy

/// Funnels, journeys and retention cohorts on ClickHouse. ClickHouse finds the visits and
/// which steps each event completes; the funnel's walk (a step counts once the previous
/// one was reached, within the window of the first) is the SQLite store's rule, applied
/// here to the few rows that complete a step.
extension ClickHouseStats {
    public func funnel(_ scope: StatsScope, steps: [Goal], windowMinutes: Int?) async throws(StorageError) -> [FunnelStep] {
        guard !steps.isEmpty else { return [] }
        guard steps.count <= 63 else { throw .unsupported("Funnels of more than 63 steps") }
        let sql = ClickHouseQueries(site: scope.site, timeoutMillis: timeoutMillis)
            .funnelEvents(from: scope.fromMillis, to: scope.toMillis, filters: scope.filters, rules: scope.rules, steps: steps)
        let window = windowMinutes.map { Int64($0) * 60_000 }
        var sessions = [Int](repeating: 0, count: steps.count), visitors = sessions
        // Visitors are distinct per day and step, and summed, like every visitor count.
        var seen = Set<FunnelVisitor>()
        var visit: (key: String, sid: String)?
        var reached = 0, startedAt: Int64 = 0
        for row in try await client.rows(sql) {
            guard row.count == 4, let ts = Int64(row[2]), let mask = UInt64(row[3]) else { continue }
            if visit?.key != row[0] || visit?.sid != row[1] { visit = (row[0], row[1]); reached = 0 }
            guard reached < steps.count else { continue }
            if let window, reached > 0, ts - startedAt > window { continue }
            guard mask & (UInt64(1) << UInt64(reached)) != 0 else { continue }
            if reached == 0 { startedAt = ts }
            sessions[reached] += 1
            if seen.insert(FunnelVisitor(key: row[0], day: scope.rules.calendar.day(of: ts), step: reached)).inserted { visitors[reached] += 1 }
            reached += 1
        }
        return steps.enumerated().map { i, goal in FunnelStep(goal: goal.name, visitors: visitors[i], sessions: sessions[i]) }
    }

    public func funnelsScreen(_ scope: StatsScope, funnels: [FunnelQuery]) async throws(StorageError) -> [[FunnelStep]] {
        var out: [[FunnelStep]] = []
        for f in funnels { out.append(try await funnel(scope, steps: f.steps, windowMinutes: f.windowMinutes)) }
        return out
    }

    public func journey(_ scope: StatsScope, page: String, limit: Int) async throws(StorageError) -> Journey {
        let sql = ClickHouseQueries(site: scope.site, timeoutMillis: timeoutMillis)
            .journey(from: scope.fromMillis, to: scope.toMillis, filters: scope.filters, rules: scope.rules, page: page)
        var previous: [BreakdownRow] = [], next: [BreakdownRow] = []
        for r in try await client.rows(sql) {
            guard r.count == 4, let v = Int(r[2]), let h = Int(r[3]) else { continue }
            let row = BreakdownRow(value: r[1], visitors: v, hits: h, pageviews: h, sessions: 0)
            if r[0] == "prev" { previous.append(row) } else { next.append(row) }
        }
        func top(_ rows: [BreakdownRow]) -> [BreakdownRow] { Array(rows.sorted { BreakdownOrder.before($0, $1, dim: .page) }.prefix(limit)) }
        return Journey(previous: top(previous), next: top(next))
    }

    public func journeysScreen(_ scope: StatsScope, at: String?, pages: Int, limit: Int) async throws(StorageError) -> JourneysScreen {
        let top = try await breakdown(scope, .page, limit: pages, offset: 0)
        let page = at ?? top.rows.first?.value ?? ""
        let journey = page.isEmpty ? Journey(previous: [], next: []) : try await journey(scope, page: page, limit: limit)
        return JourneysScreen(pages: top, at: page, journey: journey)
    }

    public func cohorts(site: String, fromDay: Int64, toDay: Int64, calendar: DayCalendar) async throws(StorageError) -> [Cohort] {
        let firstWeek = VeilDatabase.bucketStart(day: fromDay, granularity: .week)
        let sql = ClickHouseQueries(site: site, timeoutMillis: timeoutMillis)
            .cohorts(from: calendar.start(ofDay: firstWeek), to: calendar.start(ofDay: toDay), tz: calendar.identifier)
        var sizes: [Int64: Int] = [:], active: [Int64: [Int64: Int]] = [:]
        for r in try await client.rows(sql.sizes) {
            guard r.count == 2, let cohort = Int64(r[0]), let n = Int(r[1]) else { continue }
            sizes[cohort] = n
        }
        for r in try await client.rows(sql.active) {
            guard r.count == 3, let cohort = Int64(r[0]), let week = Int64(r[1]), let n = Int(r[2]) else { continue }
            active[cohort, default: [:]][(week - cohort) / 7] = n
        }
        let lastWeek = VeilDatabase.bucketStart(day: toDay - 1, granularity: .week)
        return sizes.sorted { $0.key < $1.key }.map { cohort, size in
            Cohort(weekStartDay: cohort, size: size, active: (0...Int((lastWeek - cohort) / 7)).map { active[cohort]?[Int64($0)] ?? 0 })
        }
    }
}

/// A visitor on a day at a funnel step.
struct FunnelVisitor: Hashable {
    var key: String
    var day: Int64
    var step: Int
}
