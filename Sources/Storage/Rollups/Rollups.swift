import Privacy

/// One rollup cell: a dimension value in a bucket (a UTC day; an hour for `hour`).
struct RollupKey: Hashable, Sendable {
    var dim: String
    var bucket: Int64
    var value: String
}

/// Counters of a cell. `visitors` counts distinct visitors per day (per hour for the
/// `hour` series); `sessions`, `bounces` and `duration` belong to the session's start day.
struct RollupCounts: Sendable, Equatable {
    var visitors = 0
    var hits = 0
    var pageviews = 0
    var sessions = 0
    var bounces = 0
    var duration: Int64 = 0

    var isZero: Bool { visitors == 0 && hits == 0 && pageviews == 0 && sessions == 0 && bounces == 0 && duration == 0 }

    /// Adds another cell's counts (cells of disjoint days, or of one day from two sources).
    mutating func add(_ o: RollupCounts) {
        visitors += o.visitors
        hits += o.hits
        pageviews += o.pageviews
        sessions += o.sessions
        bounces += o.bounces
        duration += o.duration
    }
}

/// A set of dimensions as bits (checked per event, so no string hashing).
struct DimensionMask: Sendable {
    var bits: UInt32

    static let all = DimensionMask(bits: .max)

    init(bits: UInt32) {
        self.bits = bits
    }

    init(_ dimensions: [StatsDimension]) {
        bits = dimensions.reduce(0) { $0 | Self.bit($1) }
    }

    static func bit(_ d: StatsDimension) -> UInt32 { d.bit }

    func contains(_ d: StatsDimension) -> Bool { bits & Self.bit(d) != 0 }

    func contains(name: String) -> Bool { StatsDimension(rawValue: name).map(contains) ?? false }
}

/// Turns events and sessions into rollup deltas. The writer feeds it events as they
/// arrive; a rebuild feeds it a day's stored rows; filtered queries feed it matching
/// rows. One code path, so the three can never disagree on what a number means.
struct RollupAccumulator {
    let rules: AnalyticsRules
    /// Counted cells; session-level tables are completed by `takeDeltas()`.
    private var deltas: [RollupKey: RollupCounts] = [:]
    /// Events per session and day, spread over the session's tables once at the end:
    /// a visit's 14 session-level values are the same for all its events.
    private var tallies: [SessionDay: Tally] = [:]

    struct SessionDay: Hashable {
        var session: Int64
        var day: Int64
    }

    struct Tally {
        var values: [String]
        var hits = 0
        var pageviews = 0
    }
    /// Per visitor and day: which (dimension, value) pairs, and which hours, were already counted.
    var seen = DailyVisitors<SeenKey>()

    struct SeenKey: Hashable {
        var dim: String
        var value: String
    }


    /// Only these dimensions (plus `total` and `hour`) are counted: a filtered view asking
    /// for one table does not pay for all of them.
    var only: DimensionMask

    init(rules: AnalyticsRules, only: DimensionMask = .all) {
        self.rules = rules
        self.only = only
    }

    /// The (dimension, value) pairs an event counts under, `total` included. With `only`,
    /// just those dimensions (and `total`).
    static func keys(name: String, path: String, props: [(String, String)], session: SessionFacts, rules: AnalyticsRules,
                     only: DimensionMask = .all) -> [(String, String)] {
        var keys = eventKeys(name: name, path: path, props: props, rules: rules, only: only)
        for (d, v) in zip(StatsDimension.sessionLevel, session.values) where only.contains(d) { keys.append((d.rawValue, v)) }
        return keys
    }

    /// `keys` without the session-level tables (the accumulator tallies those per visit).
    static func eventKeys(name: String, path: String, props: [(String, String)], rules: AnalyticsRules, only: DimensionMask) -> [(String, String)] {
        var keys: [(String, String)] = [("total", "")]
        func wanted(_ d: StatsDimension) -> Bool { only.contains(d) }
        let isPageview = name == "pageview"
        let needsName = !isPageview && (wanted(.event) || wanted(.goal))
        let effective = needsName ? rules.effectiveName(name: name, props: props) : name
        if isPageview {
            if wanted(.page) { keys.append((StatsDimension.page.rawValue, path)) }
        } else if wanted(.event) {
            keys.append((StatsDimension.event.rawValue, effective))
        }
        if wanted(.goal), !rules.goals.isEmpty {
            for goal in rules.goals where goal.matches(name: effective, path: path, props: props) { keys.append((StatsDimension.goal.rawValue, goal.name)) }
        }
        return keys
    }

    /// The counted cells, with every visit's events spread over its session-level tables.
    mutating func takeDeltas() -> [RollupKey: RollupCounts] {
        for (sd, t) in tallies {
            for (d, v) in zip(StatsDimension.sessionLevel, t.values) where only.contains(d) {
                add(RollupKey(dim: d.rawValue, bucket: sd.day, value: v)) {
                    $0.hits += t.hits
                    $0.pageviews += t.pageviews
                }
            }
        }
        tallies = [:]
        defer { deltas = [:] }
        return deltas
    }

    mutating func add(_ key: RollupKey, _ apply: (inout RollupCounts) -> Void) {
        apply(&deltas[key, default: RollupCounts()])
    }

    /// Counts one event. `alreadySeen` supplies the visitor's earlier keys that day
    /// when they are not in `seen` yet (the writer reads them from the database).
    mutating func addEvent(visitor: [UInt8], ts: Int64, name: String, path: String, props: [(String, String)], session: SessionFacts,
                           alreadySeen: () throws -> Set<SeenKey>) rethrows {
        let day = rules.calendar.day(of: ts), hour = rules.calendar.hour(of: ts)
        let vd = VisitorDay(visitor: visitor, day: day)
        // Take the set out once (one lookup, no copy), put it back at the end.
        var set = try seen.take(vd, load: alreadySeen)
        defer { seen.restore(vd, set) }
        let isPageview = name == "pageview"
        // A visit's session-level values: visitors counted on its first event of the day,
        // events tallied and spread by `takeDeltas`.
        let sd = SessionDay(session: session.id, day: day)
        if tallies[sd] == nil {
            for (d, v) in zip(StatsDimension.sessionLevel, session.values) where only.contains(d) {
                if set.insert(SeenKey(dim: d.rawValue, value: v)).inserted { add(RollupKey(dim: d.rawValue, bucket: day, value: v)) { $0.visitors += 1 } }
            }
            tallies[sd] = Tally(values: session.values)
        }
        tallies[sd]!.hits += 1
        if isPageview { tallies[sd]!.pageviews += 1 }
        for (dim, value) in Self.eventKeys(name: name, path: path, props: props, rules: rules, only: only) {
            let first = set.insert(SeenKey(dim: dim, value: value)).inserted
            add(RollupKey(dim: dim, bucket: day, value: value)) {
                $0.hits += 1
                if isPageview { $0.pageviews += 1 }
                if first { $0.visitors += 1 }
            }
        }
        let firstThisHour = set.insert(SeenKey(dim: "hour", value: String(hour))).inserted
        add(RollupKey(dim: "hour", bucket: hour, value: "")) {
            $0.hits += 1
            if isPageview { $0.pageviews += 1 }
            if firstThisHour { $0.visitors += 1 }
        }
    }

    /// The seen-set of a visitor's stored events of one day (same rules as `addEvent`).
    static func seenSet(rows: [ScannedEvent], rules: AnalyticsRules) -> Set<SeenKey> {
        var set = Set<SeenKey>()
        for r in rows {
            for (dim, value) in keys(name: r.name, path: r.path, props: r.props, session: r.session, rules: rules) { set.insert(SeenKey(dim: dim, value: value)) }
            set.insert(SeenKey(dim: "hour", value: String(rules.calendar.hour(of: r.ts))))
        }
        return set
    }

    /// Dimensions that count sessions: every session-level one, plus `total` and `exit`.
    static func sessionKeys(_ s: SessionFacts) -> [(String, String)] {
        var keys: [(String, String)] = [("total", ""), (StatsDimension.exit.rawValue, s.exit)]
        for (d, v) in zip(StatsDimension.sessionLevel, s.values) { keys.append((d.rawValue, v)) }
        return keys
    }

    /// A whole session as it stands (rebuilds and filtered queries). Bounces and duration
    /// go to `total` and to every session-level value too: with them, a view filtered by
    /// one session-level value has all its headline numbers in that value's cells.
    /// `sign` -1 takes a session out again (the writer moving it to another start day).
    mutating func addSession(_ s: SessionFacts, sign: Int = 1) {
        let day = rules.calendar.day(of: s.startedAt)
        let exit = StatsDimension.exit.rawValue
        for (dim, value) in Self.sessionKeys(s) {
            if only.bits != DimensionMask.all.bits, dim != "total", !only.contains(name: dim) { continue }
            add(RollupKey(dim: dim, bucket: day, value: value)) {
                $0.sessions += sign
                // The exit page changes while a visit goes on, so its cells count sessions only.
                if dim != exit {
                    if s.pageviews <= 1 { $0.bounces += sign }
                    $0.duration += Int64(sign) * (s.lastSeen - s.startedAt)
                }
            }
        }
    }

    /// A session changed by one event (the writer): bounce, duration and exit page, and its
    /// start when a late event came before it (a visit starts with its earliest event).
    mutating func touchSession(before: SessionFacts, after: SessionFacts) {
        let day = rules.calendar.day(of: before.startedAt)
        guard rules.calendar.day(of: after.startedAt) == day else {
            // The visit now starts on an earlier day: it moves there whole.
            addSession(before, sign: -1)
            addSession(after)
            return
        }
        let bounces = (after.pageviews <= 1 ? 1 : 0) - (before.pageviews <= 1 ? 1 : 0)
        let duration = (after.lastSeen - after.startedAt) - (before.lastSeen - before.startedAt)
        if bounces != 0 || duration != 0 {
            add(RollupKey(dim: "total", bucket: day, value: "")) {
                $0.bounces += bounces
                $0.duration += duration
            }
            for (d, v) in zip(StatsDimension.sessionLevel, before.values) {
                add(RollupKey(dim: d.rawValue, bucket: day, value: v)) {
                    $0.bounces += bounces
                    $0.duration += duration
                }
            }
        }
        if before.exit != after.exit {
            add(RollupKey(dim: StatsDimension.exit.rawValue, bucket: day, value: before.exit)) { $0.sessions -= 1 }
            add(RollupKey(dim: StatsDimension.exit.rawValue, bucket: day, value: after.exit)) { $0.sessions += 1 }
        }
    }
}
