import GRDB
import Privacy

/// One day's cross rollups: for each value of each session-level dimension (the filter a
/// click on a row of one of those 14 tables sets), the rollup cells of the visits having
/// it, every table included.
///
/// Why this shape: a view filtered by a session-level value otherwise reads every event of
/// its range (issue 12: 30–50× the yardstick at 10M). A day's cells for every such filter
/// are counted here in one pass over the day's events, grouped by visitor, so that
/// distinct visitors need a set of one visitor's keys only, not of a whole day's.
///
/// It counts what `StreamCells` counts for a scope of that one day filtered by the value
/// (`CrossRollupTests` holds the two equal on random data in several zones): per event
/// `total`, `page` or `event`, and `goal`; per visit its session-level values, with its
/// events that day and its visitor once a day; per visit started that day its sessions,
/// bounces, duration and exit page. No hourly cells: an hourly chart reads the stream.
struct CrossDay {
    /// One filter value's cells.
    struct Group: Sendable {
        var fdim: String
        var fvalue: String
        var cells: [CrossCodec.Cell]
    }

    private let rules: AnalyticsRules
    private let from: Int64, to: Int64
    private var cells = FlatMap64<RollupCounts>()
    /// The current visitor's keys (visitors are distinct per visitor and day).
    private var visitorKeys = FlatSet64()
    /// Sessions counted (a visit's events can come under two visitor hashes on a day that
    /// spans a salt change; it is still one session).
    private var counted = FlatSet64()
    /// The current visitor's visits, with their events on this day.
    private var visits: [(session: StreamSession, hits: Int, pageviews: Int)] = []
    private var pageGoals: [Int32: [Int32]] = [:]
    private let goalIDs: [Int32]
    private static let filters = StatsDimension.sessionLevel.count

    init(rules: AnalyticsRules, day: Int64, interner: inout Interner) {
        self.rules = rules
        from = rules.calendar.start(ofDay: day)
        to = rules.calendar.start(ofDay: day + 1)
        goalIDs = rules.goals.map { interner.id($0.name) }
    }

    /// A cross cell as one word: filter (4 bits), filter value (27), slot (5), value (27).
    private static func key(_ filter: Int, _ filterValue: Int32, _ slot: UInt8, _ value: Int32) -> UInt64 {
        UInt64(filter) << 59 | UInt64(UInt32(bitPattern: filterValue) & 0x07FF_FFFF) << 32
            | UInt64(slot) << 27 | UInt64(UInt32(bitPattern: value) & 0x07FF_FFFF)
    }

    /// Counts one event under each of its visit's filter values; `visit` is its index in
    /// the current visitor's visits.
    private mutating func add(_ e: StreamEvent, visit: Int, interner: inout Interner) {
        visits[visit].hits += 1
        if e.isPageview { visits[visit].pageviews += 1 }
        // The event's own cells: total, page or event, goals.
        var own: [(UInt8, Int32)] = [(StreamCells.totalSlot, 0)]
        let effective = e.isPageview ? e.name : rules.effectiveName(name: e.name, props: e.props)
        var pathID: Int32 = -1
        if e.isPageview {
            pathID = interner.id(e.path)
            own.append((StreamCells.pageSlot, pathID))
        } else {
            own.append((StreamCells.eventSlot, interner.id(effective)))
        }
        if !goalIDs.isEmpty {
            let met: [Int32]
            if e.isPageview, e.props.isEmpty, let known = pageGoals[pathID] { met = known } else {
                met = rules.goals.indices.filter { rules.goals[$0].matches(name: effective, path: e.path, props: e.props) }.map { goalIDs[$0] }
                if e.isPageview, e.props.isEmpty { pageGoals[pathID] = met }
            }
            for g in met { own.append((StreamCells.goalSlot, g)) }
        }
        let values = visits[visit].session.values
        for f in 0..<Self.filters {
            for (slot, value) in own {
                let k = Self.key(f, values[f], slot, value)
                let i = cells.slot(for: k, default: RollupCounts())
                cells.values[i].hits += 1
                if e.isPageview { cells.values[i].pageviews += 1 }
                if visitorKeys.insert(k) { cells.values[i].visitors += 1 }
            }
        }
    }

    /// The current visitor is done: its visits' session-level cells under each filter value.
    private mutating func endVisitor() {
        for (s, hits, pageviews) in visits {
            let starts = s.startedAt >= from && s.startedAt < to && counted.insert(UInt64(bitPattern: s.id))
            let bounce = s.pageviews <= 1 ? 1 : 0, duration = s.lastSeen - s.startedAt
            for f in 0..<Self.filters {
                let fv = s.values[f]
                for (j, slot) in StreamCells.sessionSlots.enumerated() {
                    let k = Self.key(f, fv, slot, s.values[j])
                    let i = cells.slot(for: k, default: RollupCounts())
                    cells.values[i].hits += hits
                    cells.values[i].pageviews += pageviews
                    if visitorKeys.insert(k) { cells.values[i].visitors += 1 }
                    if starts {
                        cells.values[i].sessions += 1
                        cells.values[i].bounces += bounce
                        cells.values[i].duration += duration
                    }
                }
                guard starts else { continue }
                let t = cells.slot(for: Self.key(f, fv, StreamCells.totalSlot, 0), default: RollupCounts())
                cells.values[t].sessions += 1
                cells.values[t].bounces += bounce
                cells.values[t].duration += duration
                cells.values[cells.slot(for: Self.key(f, fv, StreamCells.exitSlot, s.exit), default: RollupCounts())].sessions += 1
            }
        }
        visits.removeAll(keepingCapacity: true)
        // A visitor with thousands of keys would make every later reset clear a large table.
        if visitorKeys.capacity > 4096 { visitorKeys = FlatSet64() } else { visitorKeys.removeAll() }
    }

    /// The cells under their names, by filter value.
    func grouped(_ interner: Interner) -> [Group] {
        var groups: [UInt64: Int] = [:]
        var out: [Group] = []
        for (k, c) in zip(cells.storedKeys, cells.values) {
            let prefix = k >> 32
            let g: Int
            if let known = groups[prefix] { g = known } else {
                g = out.count
                groups[prefix] = g
                out.append(Group(fdim: StatsDimension.sessionLevel[Int(k >> 59)].rawValue, fvalue: interner.string(Int32(prefix & 0x07FF_FFFF)), cells: []))
            }
            let (dim, value) = StreamCells.named(slot: UInt8(k >> 27 & 0x1F), value: Int32(k & 0x07FF_FFFF), interner)
            out[g].cells.append(CrossCodec.Cell(dim: dim, value: value, counts: c))
        }
        return out
    }

    /// Counts a site's day from its stored events and sessions, in the caller's read.
    static func count(_ db: Database, site: String, day: Int64, rules: AnalyticsRules) throws -> (groups: [Group], events: Int) {
        var interner = Interner()
        var counter = CrossDay(rules: rules, day: day, interner: &interner)
        // Grouped by visitor (SQLite sorts the day's rows, within its cache and temp files).
        let events = try RawStep(db.makeStatement(sql: """
            SELECT e.session_id, e.visitor, e.name, e.path, e.props FROM events e
            WHERE e.site = ? AND e.ts >= ? AND e.ts < ? ORDER BY e.visitor
            """), arguments: [site, counter.from, counter.to])
        defer { events.finish() }
        let byID = try db.makeStatement(sql: "SELECT \(EventStream.sessionColumns) FROM sessions WHERE id = ?")
        var current: VisitorKey?
        var n = 0
        while try events.next() {
            n += 1
            let visitorBytes = events.bytes(1)
            let visitor = visitorBytes.isEmpty ? VisitorKey(high: 0, low: 0) : VisitorKey(bytes: visitorBytes)
            if visitor != current {
                counter.endVisitor()
                current = visitor
            }
            let sessionID = events.int64(0)
            var visit = counter.visits.firstIndex { $0.session.id == sessionID }
            if visit == nil {
                let lookup = try RawStep(byID, arguments: [sessionID])
                defer { lookup.finish() }
                guard try lookup.next() else { continue }
                counter.visits.append((EventStream.session(lookup, passes: true, values: true, interner: &interner), 0, 0))
                visit = counter.visits.count - 1
            }
            let isPageview = events.equals(2, "pageview")
            let props = isPageview || events.isNull(4) ? [] : VeilDatabase.decodeProps(bytes: events.bytes(4))
            let event = StreamEvent(visitor: visitor, ts: 0, isPageview: isPageview, name: isPageview ? EventStream.pageview : events.string(2),
                                    path: events.string(3), props: props)
            counter.add(event, visit: visit!, interner: &interner)
        }
        counter.endVisitor()
        return (counter.grouped(interner), n)
    }
}
