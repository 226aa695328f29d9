import Privacy

/// The SQL behind the ClickHouse answers: visits are computed when asked, from the
/// events every node shipped, so no node needs another's state.
///
/// A visit is a visitor's run of events with gaps of at most the session timeout. The
/// visitor hash changes at UTC midnight (daily salt); an event also carries the hash under
/// yesterday's salt (`visitor_prev`), and a visitor's first run of the day that begins
/// within the timeout of their last event under yesterday's hash continues that visit, as
/// the SQLite writer does at ingest. Session-level values (entry, channel, device…) are
/// the visit's first event's; the exit is its last pageview's path.
struct ClickHouseQueries {
    let site: String
    let timeoutMillis: Int64
    /// Events read for visit context before `from` and after `to`.
    static let contextMillis: Int64 = DayCalendar.millisPerDay

    private var s: String { ClickHouseSQL.string(site) }

    /// Rows: visitor, yesterday's key it continues, and the last ts of that first run.
    private func links(lo: Int64, hi: Int64) -> String {
        let t = timeoutMillis
        return """
            SELECT visitor, v1, run_end FROM (
                SELECT visitor, any(visitor_prev) AS v1, arraySort(groupArray(ts)) AS t, t[1] AS f0,
                       arrayFirstIndex(x -> x > \(t), arrayDifference(t)) AS gap_at,
                       if(gap_at = 0, t[length(t)], t[gap_at - 1]) AS run_end
                FROM events WHERE site = \(s) AND ts >= \(lo) AND ts < \(hi) AND visitor_prev != ''
                GROUP BY visitor
                HAVING f0 - intDiv(f0, 86400000) * 86400000 < \(t)
            ) AS j_firsts ANY INNER JOIN (
                SELECT visitor AS v1, max(ts) AS l1 FROM events WHERE site = \(s) AND ts >= \(lo) AND ts < \(hi) GROUP BY visitor
            ) AS j_lasts USING v1
            WHERE f0 - l1 <= \(t) AND l1 < intDiv(f0, 86400000) * 86400000
            """
    }

    /// Session-level columns an event row carries, in `StatsDimension.sessionLevel` order
    /// after the first event's choice: the raw column and the `s_` name.
    static let visitColumns: [(StatsDimension, String)] = [
        (.source, "referrer_host"), (.channel, "channel"), (.utmSource, "utm_source"), (.utmMedium, "utm_medium"), (.utmCampaign, "utm_campaign"),
        (.utmTerm, "utm_term"), (.utmContent, "utm_content"), (.browser, "browser"), (.os, "os"), (.device, "device"), (.screen, "screen"),
        (.language, "language"), (.country, "country"),
    ]

    /// The events in [lo, hi) with `key`: the visitor hash the SQLite writer stores for
    /// each (yesterday's for a run that continues a visit across midnight), and `columns`.
    func keyedEvents(lo: Int64, hi: Int64, columns: String) -> String {
        """
        SELECT if(v1 != '' AND ts <= run_end, v1, visitor) AS key, \(columns)
        FROM (SELECT * FROM events WHERE site = \(s) AND ts >= \(lo) AND ts < \(hi)) AS j_raw
        ANY LEFT JOIN (\(links(lo: lo, hi: hi))) AS j_links USING visitor
        """
    }

    /// Every event in [lo, hi) with its visit: key, sid, ts, name, path, prop_keys,
    /// prop_values and `s_start`, `s_last`, `s_pv`, `s_entry`, `s_exit`, `s_<column>`.
    func visitEvents(lo: Int64, hi: Int64) -> String {
        let t = timeoutMillis
        let firsts = Self.visitColumns.map { "argMin(\($0.1), (ts, seq)) AS s_\($0.1)" }.joined(separator: ", ")
        let keyed = keyedEvents(lo: lo, hi: hi, columns: "ts, node, seq, name, path, prop_keys, prop_values, " + Self.visitColumns.map(\.1).joined(separator: ", "))
        // Visit numbers from each visitor's event times alone (small arrays; the wide
        // columns join back by the event's identity), so memory stays proportional to
        // the events' keys, not their text.
        let sids = """
            SELECT key, tt.1 AS ts, tt.2 AS node, tt.3 AS seq, sid FROM (
                SELECT key, arraySort(groupArray((ts, node, seq))) AS times,
                       arrayCumSum(arrayMap((g, i) -> if(i = 1 OR g > \(t), 1, 0), arrayDifference(arrayMap(x -> x.1, times)), arrayEnumerate(times))) AS sids
                FROM (SELECT key, ts, node, seq FROM (\(keyed))) GROUP BY key
            ) ARRAY JOIN times AS tt, sids AS sid
            """
        let perEvent = "SELECT * FROM (\(keyed)) AS j_keyed ALL INNER JOIN (\(sids)) AS j_numbers USING (key, ts, node, seq)"
        return """
            SELECT * FROM (\(perEvent)) AS j_events
            ALL INNER JOIN (
                SELECT key, sid, min(ts) AS s_start, max(ts) AS s_last, countIf(name = 'pageview') AS s_pv,
                       argMin(path, (ts, seq)) AS s_entry,
                       if(s_pv > 0, argMaxIf(path, (ts, seq), name = 'pageview'), s_entry) AS s_exit, \(firsts)
                FROM (\(perEvent)) GROUP BY key, sid
            ) AS j_visits USING (key, sid)
            """
    }

    /// A property's value (`''` when the event has none).
    static func prop(_ key: String) -> String { "prop_values[indexOf(prop_keys, \(ClickHouseSQL.string(key)))]" }

    /// The event's name after click definitions (`$click` renamed retroactively).
    static func effectiveName(_ rules: AnalyticsRules) -> String {
        guard !rules.clickEvents.isEmpty else { return "name" }
        var cases: [String] = []
        for d in rules.clickEvents {
            cases.append("name = \(ClickHouseSQL.string(ClickDefinition.autocaptureName)) AND \(clickCondition(d))")
            cases.append(ClickHouseSQL.string(d.name))
        }
        return "multiIf(" + cases.joined(separator: ", ") + ", name)"
    }

    static func clickCondition(_ d: ClickDefinition) -> String {
        var parts: [String] = []
        if let selector = d.selector {
            guard let sel = ClickDefinition.parse(selector: selector) else { return "0" }
            if let tag = sel.tag, tag != "*" { parts.append("lower(\(prop("tag"))) = \(ClickHouseSQL.string(tag))") }
            if let id = sel.id { parts.append("indexOf(prop_keys, 'id') > 0 AND \(prop("id")) = \(ClickHouseSQL.string(id))") }
            for c in sel.classes {
                parts.append("has(splitByChar(' ', replaceRegexpAll(\(prop("classes")), '[\\\\t\\\\n]', ' ')), \(ClickHouseSQL.string(c)))")
            }
        }
        if let href = d.href { parts.append("indexOf(prop_keys, 'href') > 0 AND \(wildcard(prop("href"), href))") }
        return parts.isEmpty ? (d.selector != nil || d.href != nil ? "1" : "0") : "(" + parts.joined(separator: " AND ") + ")"
    }

    /// `text` matches a `*` pattern, byte for byte otherwise.
    static func wildcard(_ text: String, _ pattern: String) -> String {
        guard pattern.contains("*") else { return "\(text) = \(ClickHouseSQL.string(pattern))" }
        let regex = "(?s)^" + pattern.split(separator: "*", omittingEmptySubsequences: false).map { reEscape(String($0)) }.joined(separator: ".*") + "$"
        return "match(\(text), \(ClickHouseSQL.string(regex)))"
    }

    /// RE2 literal: every ASCII punctuation byte escaped.
    static func reEscape(_ s: String) -> String {
        var out = ""
        for ch in s.unicodeScalars {
            if ch.isASCII && !(ch.properties.isAlphabetic || ("0"..."9").contains(ch)) { out += "\\" }
            out.unicodeScalars.append(ch)
        }
        return out
    }

    /// Whether an event (effective name `eff`) completes `goal`.
    static func goalCondition(_ goal: Goal, eff: String) -> String {
        if let page = goal.page { return "(name = 'pageview' AND \(wildcard("path", page)))" }
        guard let event = goal.event else { return "0" }
        var parts = ["\(eff) = \(ClickHouseSQL.string(event))"]
        for (k, v) in goal.props { parts.append("\(prop(k)) = \(ClickHouseSQL.string(v))") }
        return "(" + parts.joined(separator: " AND ") + ")"
    }

    /// The names of the goals an event completes.
    static func goalsMet(_ rules: AnalyticsRules, eff: String) -> String {
        guard !rules.goals.isEmpty else { return "emptyArrayString()" }
        let items = rules.goals.map { "if(\(goalCondition($0, eff: eff)), \(ClickHouseSQL.string($0.name)), '')" }
        return "arrayFilter(g -> g != '', [" + items.joined(separator: ", ") + "])"
    }

    /// The SQL condition of the scope's filters on a visit-events row.
    static func filters(_ filters: [StatsFilter], rules: AnalyticsRules, eff: String) -> String {
        var parts: [String] = []
        for f in filters {
            let v = ClickHouseSQL.string(f.value)
            switch f.dimension {
            case .page: parts.append("path = \(v)")
            case .event: parts.append("name != 'pageview' AND \(eff) = \(v)")
            case .goal:
                guard let goal = rules.goal(named: f.value) else { parts.append("0"); continue }
                parts.append(goalCondition(goal, eff: eff))
            case .entry: parts.append("s_entry = \(v)")
            case .exit: parts.append("s_exit = \(v)")
            default:
                guard let column = visitColumns.first(where: { $0.0 == f.dimension })?.1 else { parts.append("0"); continue }
                parts.append("s_\(column) = \(v)")
            }
        }
        return parts.isEmpty ? "1" : parts.joined(separator: " AND ")
    }

    /// Local day and hour numbers of `ts` on the site's clock (as `DayCalendar` counts them).
    static func day(_ tz: String) -> String { day(of: "ts", tz) }
    static func hour(_ tz: String) -> String { "(\(day(tz)) * 24 + toHour(toDateTime(intDiv(ts, 1000)), \(ClickHouseSQL.string(tz))))" }
    static func startDay(_ tz: String) -> String { day(of: "s_start", tz) }

    /// The events in [from, to) that pass the filters, with their visits (`visitEvents`).
    func passingEvents(from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules) -> String {
        """
        SELECT * FROM (\(visitEvents(lo: from - Self.contextMillis, hi: to + Self.contextMillis)))
        WHERE ts >= \(from) AND ts < \(to) AND \(Self.filters(filters, rules: rules, eff: Self.effectiveName(rules)))
        """
    }

    /// A custom event's property keys with how many of its events carry each.
    func propertyKeys(from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules, event: String) -> String {
        """
        SELECT k, count() AS n FROM (\(passingEvents(from: from, to: to, filters: filters, rules: rules)))
        ARRAY JOIN arrayDistinct(prop_keys) AS k
        WHERE name != 'pageview' AND \(Self.effectiveName(rules)) = \(ClickHouseSQL.string(event))
        GROUP BY k ORDER BY n DESC, k
        """
    }

    /// Values of one property of one custom event: visitors distinct per day (summed) and events.
    func propertyValues(from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules, event: String, key: String) -> String {
        """
        SELECT value, sum(v), sum(h) FROM (
            SELECT \(Self.day(rules.calendar.identifier)) AS d, \(Self.prop(key)) AS value, uniqExact(key) AS v, count() AS h
            FROM (\(passingEvents(from: from, to: to, filters: filters, rules: rules)))
            WHERE name != 'pageview' AND \(Self.effectiveName(rules)) = \(ClickHouseSQL.string(event)) AND has(prop_keys, \(ClickHouseSQL.string(key)))
            GROUP BY d, value
        ) GROUP BY value
        """
    }

    /// Rollup-shaped cells (dim, bucket, value, visitors, hits, pageviews, sessions,
    /// bounces, duration) of the events in [from, to) passing the filters: what the
    /// rollups and the filtered scan of the SQLite store hold, for the same questions.
    /// Three statements, run one after another: each computes the visits again, but only
    /// one at a time holds memory (as one UNION ALL they ran side by side and needed
    /// several GB for a month of 1M events).
    func cells(from: Int64, to: Int64, filters: [StatsFilter], rules: AnalyticsRules, dimensions: Set<StatsDimension>, hours: Bool) -> [String] {
        let tz = rules.calendar.identifier
        let eff = Self.effectiveName(rules)
        let day = Self.day(tz)
        var eventCells = ["('total', \(day), '')"]
        if hours { eventCells.append("('hour', \(Self.hour(tz)), '')") }
        if dimensions.contains(.page) { eventCells.append("arrayFilter(x -> name = 'pageview', [('page', \(day), path)])") }
        if dimensions.contains(.event) { eventCells.append("arrayFilter(x -> name != 'pageview', [('event', \(day), \(eff))])") }
        if dimensions.contains(.goal) { eventCells.append("arrayMap(g -> ('goal', \(day), g), \(Self.goalsMet(rules, eff: eff)))") }
        var sessionCells = ["('total', \(Self.startDay(tz)), '')"]
        if dimensions.contains(.exit) { sessionCells.append("('exit', \(Self.startDay(tz)), s_exit)") }
        // Session-level values are counted per visit and day (d), not per event: the same
        // numbers from far fewer rows, so memory follows visits, not events × dimensions.
        var visitDayCells: [String] = []
        for dim in StatsDimension.sessionLevel where dimensions.contains(dim) {
            let column = dim == .entry ? "s_entry" : "s_" + (Self.visitColumns.first { $0.0 == dim }?.1 ?? "")
            visitDayCells.append("('\(dim.rawValue)', d, \(column))")
            sessionCells.append("('\(dim.rawValue)', \(Self.startDay(tz)), \(column))")
        }
        func arrays(_ items: [String]) -> String {
            "arrayConcat(" + items.map { $0.hasPrefix("(") ? "[\($0)]" : $0 }.joined(separator: ", ") + ")"
        }
        let passing = passingEvents(from: from, to: to, filters: filters, rules: rules)
        var statements = ["""
            SELECT c.1 AS dim, c.2 AS bucket, c.3 AS value, uniqExact(key) AS visitors, count() AS hits, countIf(name = 'pageview') AS pageviews,
                   toUInt64(0) AS sessions, toUInt64(0) AS bounces, toInt64(0) AS duration
            FROM (\(passing)) ARRAY JOIN \(arrays(eventCells)) AS c
            GROUP BY dim, bucket, value
            """]
        if !visitDayCells.isEmpty {
            statements.append("""
            SELECT c.1 AS dim, c.2 AS bucket, c.3 AS value, uniqExact(key) AS visitors, sum(h) AS hits, sum(p) AS pageviews,
                   toUInt64(0) AS sessions, toUInt64(0) AS bounces, toInt64(0) AS duration
            FROM (
                SELECT key, sid, \(day) AS d, count() AS h, countIf(name = 'pageview') AS p, any(s_entry) AS s_entry,
                       \(Self.visitColumns.map { "any(s_\($0.1)) AS s_\($0.1)" }.joined(separator: ", "))
                FROM (\(passing)) GROUP BY key, sid, d
            ) ARRAY JOIN \(arrays(visitDayCells)) AS c
            GROUP BY dim, bucket, value
            """)
        }
        statements.append("""
            SELECT c.1 AS dim, c.2 AS bucket, c.3 AS value, toUInt64(0) AS visitors, toUInt64(0) AS hits, toUInt64(0) AS pageviews,
                   count() AS sessions, countIf(s_pv <= 1) AS bounces, toInt64(sum(s_last - s_start)) AS duration
            FROM (
                SELECT key, sid, any(s_start) AS s_start, any(s_last) AS s_last, any(s_pv) AS s_pv, any(s_entry) AS s_entry, any(s_exit) AS s_exit,
                       \(Self.visitColumns.map { "any(s_\($0.1)) AS s_\($0.1)" }.joined(separator: ", "))
                FROM (\(passing)) GROUP BY key, sid HAVING s_start >= \(from) AND s_start < \(to)
            ) ARRAY JOIN \(arrays(sessionCells)) AS c
            GROUP BY dim, bucket, value
            """)
        return statements
    }
}
