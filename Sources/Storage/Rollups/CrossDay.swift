import GRDB
import Privacy

/// One day's cross rollups: for each value of each dimension a view can be filtered by
/// alone (a click on a row of any of the 18 tables), the rollup cells of what passes it,
/// every table included.
///
/// Why this shape: a filtered view otherwise reads every event of its range (issue 12:
/// 30–50× the yardstick at 10M). A day's cells for every such filter are counted here in
/// one pass over the day's events grouped by visitor, so distinct visitors need the keys of
/// one visitor only, not of a whole day. A view then reads a blob per day and filter, and
/// counts only the days without one (today, days written to since) the same way, for its
/// one filter.
///
/// What it counts is what `StreamCells` counts for the filter over a range, split by day
/// (`CrossRollupTests` holds the sums equal to the stream on random data in several zones):
/// per passing event `total`, `page` or `event`, and `goal`; per visit and day its
/// session-level values, with its passing events and its visitor once a day; per visit
/// started that day with a passing event its sessions, bounces, duration and exit page.
/// A filter on a visit's value (session-level, or its exit page) passes all of a visit's
/// events, so a visit is counted on its start day. A filter on events (page, event, goal)
/// can pass a visit only after midnight: such a visit is counted on its start day in a
/// "carried" cell of the day its first passing event is on, which a range reads only if
/// it includes the start day (as the stream counts a visit only if it started in range).
/// No hourly cells: an hourly chart reads the stream.
struct CrossDay {
    /// One group's named cells: a filter value's, an event's properties, a page's journeys.
    struct Group: Sendable {
        var fdim: String
        var fvalue: String
        var cells: [CrossCodec.Cell]
    }

    /// Filter dimensions by their index in a key: a visit's values first (the 14
    /// session-level ones, then its exit page), then the event-level ones.
    static let filterDims: [StatsDimension] = StatsDimension.sessionLevel + [.exit, .page, .event, .goal]
    private static let visitWide = StatsDimension.sessionLevel.count + 1
    /// Filters on a visit's values: a visit passes them with all its events.
    static let visitWideDims = Array(filterDims.prefix(visitWide))
    private static let pageFilter = visitWide, eventFilter = visitWide + 1, goalFilter = visitWide + 2
    /// Not a filter: a custom event's properties (key and value as cells), for the property
    /// breakdown. Its blobs are stored under this name and the event's name.
    private static let propertyGroup = filterDims.count
    static let propertyDim = "property"
    /// Not a filter either: a page's journeys (see `CrossJourneys`).
    private static let journeyGroup = filterDims.count + 1
    static let journeyDim = "journey"

    /// What a view counting a day without a blob needs: one filter, or one page's journeys.
    enum Only {
        case filter(StatsFilter)
        case journey(page: String)
    }
    private static let sessionCount = StatsDimension.sessionLevel.count

    struct Passing {
        var prefix: UInt64
        var hits = 0
        var pageviews = 0
    }

    struct Visit {
        var session: StreamSession
        var hits = 0
        var pageviews = 0
        /// Event-level filter values its events passed today, with those events.
        var passing: [Passing] = []
        /// Its pageviews today, in order (journeys).
        var pages: [Int32] = []
        /// Counting one visit-wide filter value, which this visit does not have.
        var skipped = false
    }

    private struct SessionPrefix: Hashable {
        var session: Int64
        var prefix: UInt64
    }

    private let rules: AnalyticsRules
    private let day: Int64
    let from: Int64, to: Int64
    /// One filter value only (a view counting a day that has no blob), as a prefix.
    private let only: UInt64?
    /// Whether filters are counted (not when only journeys are).
    private let countsFilters: Bool
    private var journeys: CrossJourneys
    private var cells = FlatMap64<RollupCounts>()
    /// Visits counted on their start day from another day's blob (see `carry`).
    private struct Carry: Hashable, Comparable {
        var daysBack: Int64
        var passedBack: Int64

        static func < (a: Carry, b: Carry) -> Bool { (a.daysBack, a.passedBack) < (b.daysBack, b.passedBack) }
    }
    private var carried: [Carry: FlatMap64<RollupCounts>] = [:]
    /// The current visitor's keys (visitors are distinct per visitor and day).
    private var visitorKeys = FlatSet64()
    /// Visits counted under a visit-wide filter (a visit's events can come under two visitor
    /// hashes on a day that spans a salt change; it is still one visit).
    private var counted = FlatSet64()
    /// The same for event-level filters.
    private var countedPassing = Set<SessionPrefix>()
    var visits: [Visit] = []
    private var pageGoals: [Int32: [Int32]] = [:]
    private let goalIDs: [Int32]
    /// Property (key, value) pairs by number (a cell's value).
    private var pairIDs: [PropertyPair: Int32] = [:]
    private var pairs: [PropertyPair] = []

    private struct PropertyPair: Hashable {
        var key: String
        var value: String
    }

    /// `only`: count just this filter, or just this page's journeys.
    init(rules: AnalyticsRules, day: Int64, only: Only? = nil, interner: inout Interner) {
        self.rules = rules
        self.day = day
        from = rules.calendar.start(ofDay: day)
        to = rules.calendar.start(ofDay: day + 1)
        goalIDs = rules.goals.map { interner.id($0.name) }
        var journeyPage: Int32?
        switch only {
        case .filter(let f)?:
            self.only = Self.prefix(Self.filterDims.firstIndex(of: f.dimension) ?? 0, interner.id(f.value))
        case .journey(let page)?:
            self.only = nil
            journeyPage = interner.id(page)
        case nil:
            self.only = nil
        }
        countsFilters = journeyPage == nil
        journeys = CrossJourneys(only: journeyPage, counts: only == nil || journeyPage != nil,
                                 prefix: { Self.prefix(Self.journeyGroup, $0) }, key: Self.key)
    }

    /// A filter value as 31 bits: filter index (5), value id (26).
    static func prefix(_ filter: Int, _ value: Int32) -> UInt64 {
        UInt64(filter) << 26 | UInt64(UInt32(bitPattern: value) & 0x03FF_FFFF)
    }

    /// A cross cell as one word: filter value (31 bits), slot (5), value (27).
    static func key(_ prefix: UInt64, _ slot: UInt8, _ value: Int32) -> UInt64 {
        prefix << 32 | UInt64(slot) << 27 | UInt64(UInt32(bitPattern: value) & 0x07FF_FFFF)
    }

    private mutating func count(_ k: UInt64, pageview: Bool) {
        let i = cells.slot(for: k, default: RollupCounts())
        cells.values[i].hits += 1
        if pageview { cells.values[i].pageviews += 1 }
        if visitorKeys.insert(k) { cells.values[i].visitors += 1 }
    }

    /// The filter values an event passes by itself: its page, its event name, its goals.
    /// The first element of `own` is `total`, then what `StreamCells` counts it under.
    private mutating func keys(_ e: StreamEvent, interner: inout Interner) -> (own: [(UInt8, Int32)], prefixes: [UInt64]) {
        var own: [(UInt8, Int32)] = [(StreamCells.totalSlot, 0)]
        var prefixes: [UInt64] = []
        let effective = e.isPageview ? e.name : rules.effectiveName(name: e.name, props: e.props)
        // A page filter passes every event on the page (custom events too), as the stream's does.
        let pathID = interner.id(e.path)
        prefixes.append(Self.prefix(Self.pageFilter, pathID))
        if e.isPageview {
            own.append((StreamCells.pageSlot, pathID))
        } else {
            let name = interner.id(effective)
            own.append((StreamCells.eventSlot, name))
            prefixes.append(Self.prefix(Self.eventFilter, name))
        }
        if !goalIDs.isEmpty {
            let met: [Int32]
            if e.isPageview, e.props.isEmpty, let known = pageGoals[pathID] { met = known } else {
                met = rules.goals.indices.filter { rules.goals[$0].matches(name: effective, path: e.path, props: e.props) }.map { goalIDs[$0] }
                if e.isPageview, e.props.isEmpty { pageGoals[pathID] = met }
            }
            for g in met {
                own.append((StreamCells.goalSlot, g))
                prefixes.append(Self.prefix(Self.goalFilter, g))
            }
        }
        return (own, prefixes)
    }

    /// Counts one event; `visit` is its index in the current visitor's visits.
    mutating func add(_ e: StreamEvent, visit v: Int, interner: inout Interner) {
        let (own, prefixes) = keys(e, interner: &interner)
        if journeys.counts, e.isPageview { visits[v].pages.append(own[1].1) }
        guard countsFilters else { return }
        visits[v].hits += 1
        if e.isPageview { visits[v].pageviews += 1 }
        let s = visits[v].session
        for f in 0..<Self.visitWide {
            let p = Self.prefix(f, f < Self.sessionCount ? s.values[f] : s.exit)
            if let only, only != p { continue }
            for (slot, value) in own { count(Self.key(p, slot, value), pageview: e.isPageview) }
        }
        if only == nil, !e.isPageview, !e.props.isEmpty {
            // Each key once per event, with its first value (as the property breakdown reads it).
            let event = Self.prefix(Self.propertyGroup, own[1].1)
            var keys = Set<String>()
            for (k, value) in e.props where keys.insert(k).inserted {
                let pair = PropertyPair(key: k, value: value)
                let id: Int32
                if let known = pairIDs[pair] { id = known } else {
                    id = Int32(pairs.count)
                    pairIDs[pair] = id
                    pairs.append(pair)
                }
                count(Self.key(event, 0, id), pageview: false)
            }
        }
        for p in prefixes {
            if let only, only != p { continue }
            for (slot, value) in own { count(Self.key(p, slot, value), pageview: e.isPageview) }
            if let i = visits[v].passing.firstIndex(where: { $0.prefix == p }) {
                visits[v].passing[i].hits += 1
                if e.isPageview { visits[v].passing[i].pageviews += 1 }
            } else {
                visits[v].passing.append(Passing(prefix: p, hits: 1, pageviews: e.isPageview ? 1 : 0))
            }
        }
    }

    /// Whether a visit is left out: counting one visit-wide filter value it does not have.
    func skips(_ s: StreamSession) -> Bool {
        guard let only, Int(only >> 26) < Self.visitWide else { return false }
        let f = Int(only >> 26)
        return Self.prefix(f, f < Self.sessionCount ? s.values[f] : s.exit) != only
    }

    /// A visit's session-level cells under one filter value: its passing events and its
    /// visitor; with `counts`, the visit itself (sessions, bounces, duration, exit page).
    private mutating func spread(_ s: StreamSession, _ p: UInt64, hits: Int, pageviews: Int, counts: Bool) {
        let bounce = s.pageviews <= 1 ? 1 : 0, duration = s.lastSeen - s.startedAt
        for (j, slot) in StreamCells.sessionSlots.enumerated() {
            let k = Self.key(p, slot, s.values[j])
            let i = cells.slot(for: k, default: RollupCounts())
            cells.values[i].hits += hits
            cells.values[i].pageviews += pageviews
            if visitorKeys.insert(k) { cells.values[i].visitors += 1 }
            if counts {
                cells.values[i].sessions += 1
                cells.values[i].bounces += bounce
                cells.values[i].duration += duration
            }
        }
        guard counts else { return }
        let t = cells.slot(for: Self.key(p, StreamCells.totalSlot, 0), default: RollupCounts())
        cells.values[t].sessions += 1
        cells.values[t].bounces += bounce
        cells.values[t].duration += duration
        cells.values[cells.slot(for: Self.key(p, StreamCells.exitSlot, s.exit), default: RollupCounts())].sessions += 1
    }

    /// A visit that passed `p` today, counted on its start day, `passedBack` days after the
    /// last day it passed `p` before (0: it never did).
    private mutating func carry(_ s: StreamSession, _ p: UInt64, passedBack: Int64) {
        let back = Carry(daysBack: day - rules.calendar.day(of: s.startedAt), passedBack: passedBack)
        var map = carried.removeValue(forKey: back) ?? FlatMap64<RollupCounts>()
        defer { carried[back] = map }
        let bounce = s.pageviews <= 1 ? 1 : 0, duration = s.lastSeen - s.startedAt
        var keys = StreamCells.sessionSlots.enumerated().map { Self.key(p, $0.element, s.values[$0.offset]) }
        keys.append(Self.key(p, StreamCells.totalSlot, 0))
        for k in keys {
            let i = map.slot(for: k, default: RollupCounts())
            map.values[i].sessions += 1
            map.values[i].bounces += bounce
            map.values[i].duration += duration
        }
        map.values[map.slot(for: Self.key(p, StreamCells.exitSlot, s.exit), default: RollupCounts())].sessions += 1
    }

    /// The current visitor is done: its visits' session-level cells under each filter value.
    /// `earlier` gives the filter values a visit's events before today passed.
    mutating func endVisitor(interner: inout Interner, earlier: (Int64, inout Interner) throws -> [(Int64, StreamEvent)]) throws {
        for visit in visits {
            let s = visit.session
            // A visit starts with its earliest event (the writer moves the start for late
            // ones), so only a visit that started before today has events before it.
            guard !visit.skipped else { continue }
            let before = s.startedAt >= from || (!countsFilters && visit.pages.isEmpty) ? [] : try earlier(s.id, &interner)
            if !visit.pages.isEmpty {
                // The visit's last pageview before today: the step to its first one today.
                let last = before.last { $0.1.isPageview }
                journeys.visit(pages: visit.pages, before: last.map { (interner.id($0.1.path), day - rules.calendar.day(of: $0.0)) })
            }
            guard countsFilters else { continue }
            let starts = s.startedAt >= from && s.startedAt < to
            let countsVisit = starts && counted.insert(UInt64(bitPattern: s.id))
            // A visit that started before today with no event left before it (retention took
            // them) is counted here, carried to its start day: the stream counts it whenever
            // the range holds that day and one of its events.
            let carriesVisit = s.startedAt < from && before.isEmpty && counted.insert(UInt64(bitPattern: s.id))
            for f in 0..<Self.visitWide {
                let p = Self.prefix(f, f < Self.sessionCount ? s.values[f] : s.exit)
                if let only, only != p { continue }
                spread(s, p, hits: visit.hits, pageviews: visit.pageviews, counts: countsVisit)
                if carriesVisit { carry(s, p, passedBack: 0) }
            }
            guard !visit.passing.isEmpty else { continue }
            // The last day before today on which the visit passed each filter value (the
            // visit's events before today; none for a visit that started today, unless a late
            // event was added to it).
            var passedBefore: [UInt64: Int64] = [:]
            for (ts, e) in before {
                let d = rules.calendar.day(of: ts)
                for p in keys(e, interner: &interner).prefixes { passedBefore[p] = max(passedBefore[p] ?? .min, d) }
            }
            for passing in visit.passing {
                let first = countedPassing.insert(SessionPrefix(session: s.id, prefix: passing.prefix)).inserted
                let previous = passedBefore[passing.prefix]
                let plain = starts && previous == nil
                spread(s, passing.prefix, hits: passing.hits, pageviews: passing.pageviews, counts: plain && first)
                if first, !plain { carry(s, passing.prefix, passedBack: previous.map { day - $0 } ?? 0) }
            }
        }
        journeys.endVisitor()
        visits.removeAll(keepingCapacity: true)
        // A visitor with thousands of keys would make every later reset clear a large table.
        if visitorKeys.capacity > 4096 { visitorKeys = FlatSet64() } else { visitorKeys.removeAll() }
    }

    /// The cells under their names, one filter value (or event's properties, or page's
    /// journeys) at a time. One group's named cells exist at once: named, a 10M-event day's
    /// cells took twice the memory of the counting itself.
    func forEachGroup(_ interner: Interner, _ body: (Group) throws -> Void) rethrows {
        // Every cell as (its map, its place), ordered by filter value.
        var maps: [(map: FlatMap64<RollupCounts>, back: Carry, needsBack: Int64)] = [(cells, Carry(daysBack: 0, passedBack: 0), 0)]
        for (back, map) in carried.sorted(by: { $0.key < $1.key }) { maps.append((map, back, 0)) }
        maps.append((journeys.cells, Carry(daysBack: 0, passedBack: 0), 0))
        for (back, map) in journeys.conditional.sorted(by: { $0.key < $1.key }) { maps.append((map, Carry(daysBack: 0, passedBack: 0), back)) }
        var order: [(prefix: UInt64, map: Int32, at: Int32)] = []
        order.reserveCapacity(maps.reduce(0) { $0 + $1.map.count })
        for (m, entry) in maps.enumerated() {
            for (at, k) in entry.map.storedKeys.enumerated() { order.append((k >> 32, Int32(m), Int32(at))) }
        }
        order.sort { ($0.prefix, $0.map, $0.at) < ($1.prefix, $1.map, $1.at) }
        var start = 0
        while start < order.count {
            let prefix = order[start].prefix
            var end = start
            let filter = Int(prefix >> 26)
            let fdim = filter == Self.propertyGroup ? Self.propertyDim : filter == Self.journeyGroup ? Self.journeyDim : Self.filterDims[filter].rawValue
            var group = Group(fdim: fdim, fvalue: interner.string(Int32(prefix & 0x03FF_FFFF)), cells: [])
            while end < order.count, order[end].prefix == prefix {
                let entry = maps[Int(order[end].map)]
                let k = entry.map.storedKeys[Int(order[end].at)]
                let slot = UInt8(k >> 27 & 0x1F), value = Int32(k & 0x07FF_FFFF)
                let named: (String, String)
                switch filter {
                case Self.propertyGroup: named = (pairs[Int(value)].key, pairs[Int(value)].value)
                case Self.journeyGroup: named = (slot == CrossJourneys.previousSlot ? CrossJourneys.previousDim : CrossJourneys.nextDim, interner.string(value))
                default: named = StreamCells.named(slot: slot, value: value, interner)
                }
                group.cells.append(CrossCodec.Cell(dim: named.0, value: named.1, daysBack: entry.back.daysBack, passedBack: entry.back.passedBack,
                                                   needsBack: entry.needsBack, counts: entry.map.values[Int(order[end].at)]))
                end += 1
            }
            try body(group)
            start = end
        }
    }

    /// Counts a site's day from its stored events and sessions, in the caller's read: every
    /// filter value, or `only` one of a page, event or goal (then the read is narrowed to the
    /// events that can pass it; a day's visits with one value are read by the stream instead).
}
