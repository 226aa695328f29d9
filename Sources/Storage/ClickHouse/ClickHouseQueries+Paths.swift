import Privacy

/// The SQL of the questions that follow visitors through their visits: funnels, journeys
/// and retention cohorts. Visits are the query-time visits of `visitEvents`; the visitor
/// of an event is its visit key (the hash the SQLite writer stores for it: yesterday's
/// for a run that continues a visit across UTC midnight).
extension ClickHouseQueries {
    /// The day number of the millisecond expression `ms` on the site's clock (as
    /// `DayCalendar` counts them); `day(_:)` and `startDay(_:)` are this for `ts` and `s_start`.
    static func day(of ms: String, _ tz: String) -> String {
        "toInt64(toUInt16(toDate(toDateTime(intDiv(\(ms), 1000)), \(ClickHouseSQL.string(tz)))))"
    }

    /// The first day (Monday) of the week holding the day expression `d` (`DayCalendar.weekStart`).
    static func weekStart(_ d: String) -> String { "(\(d) - modulo(modulo(\(d) + 3, 7) + 7, 7))" }

    /// Passing events that complete at least one funnel step, in each visit's order: key,
    /// sid, ts and a mask of the steps each completes (bit i: step i). Walking them is the
    /// funnel's own rule (`VeilDatabase.funnel`), so it is done by the caller.
    func funnelEvents(from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules, steps: [Goal]) -> String {
        let eff = Self.effectiveName(rules)
        let bits = steps.enumerated().map { i, goal in "if(\(Self.goalCondition(goal, eff: eff)), toUInt64(\(UInt64(1) << UInt64(i))), toUInt64(0))" }
        let mask = bits.isEmpty ? "toUInt64(0)" : bits.joined(separator: " + ")
        return """
            SELECT key, sid, ts, mask FROM (
                SELECT key, sid, ts, node, seq, \(mask) AS mask FROM (\(passingEvents(from: from, to: to, filters: filters, rules: rules)))
            ) WHERE mask != 0 ORDER BY key, sid, ts, node, seq
            """
    }

    /// The pages viewed just before (`prev`) and just after (`next`) `page` within a visit:
    /// direction, the other page, visitors distinct per day (summed) and times.
    /// Consecutive views of one page are one step, as in the SQLite store.
    func journey(from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules, page: String) -> String {
        let p = ClickHouseSQL.string(page)
        let day = Self.day(rules.calendar.identifier)
        return """
            SELECT dir, other, sum(v), sum(h) FROM (
                SELECT j.1 AS dir, j.2 AS other, j.3 AS d, uniqExact(j.4) AS v, count() AS h FROM (
                    SELECT arraySort(groupArray((ts, node, seq, path, d, key))) AS e,
                           arrayMap(x -> x.4, e) AS paths,
                           arrayPopBack(arrayPushFront(paths, '')) AS prevs,
                           arrayMap(x -> x.5, e) AS days,
                           arrayFilter(x -> x.1 != '', arrayMap((cur, prev, i, dd, k) -> multiIf(
                               i = 1 OR cur = prev, ('', '', toInt64(0), ''),
                               cur = \(p), ('prev', prev, dd, k),
                               prev = \(p), ('next', cur, dd, k),
                               ('', '', toInt64(0), '')), paths, prevs, arrayEnumerate(paths), days, arrayMap(x -> x.6, e))) AS pairs
                    FROM (SELECT key, sid, ts, node, seq, path, \(day) AS d
                          FROM (\(passingEvents(from: from, to: to, filters: filters, rules: rules))) WHERE name = 'pageview')
                    GROUP BY key, sid HAVING has(paths, \(p))
                ) ARRAY JOIN pairs AS j
                GROUP BY dir, other, d
            ) GROUP BY dir, other
            """
    }

    /// Weekly cohorts: how many visitors (visit keys, as the SQLite store counts them) were
    /// first seen in each week of [from, to) on the site's clock, and how many of each
    /// cohort were active in each week. First-seen needs the whole history before `to`.
    func cohorts(from: Int64, to: Int64, tz: String) -> (sizes: String, active: String) {
        let keyed = keyedEvents(lo: 0, hi: to, columns: "ts")
        let firsts = "SELECT key, \(Self.weekStart(Self.day(of: "min(ts)", tz))) AS cohort FROM (\(keyed)) GROUP BY key HAVING min(ts) >= \(from)"
        let sizes = "SELECT cohort, count() FROM (\(firsts)) GROUP BY cohort"
        let active = """
            SELECT cohort, week, uniqExact(key) FROM (
                SELECT key, \(Self.weekStart(Self.day(of: "ts", tz))) AS week FROM (\(keyed)) WHERE ts >= \(from)
            ) AS j_active ALL INNER JOIN (\(firsts)) AS j_firsts USING key
            GROUP BY cohort, week
            """
        return (sizes, active)
    }
}
