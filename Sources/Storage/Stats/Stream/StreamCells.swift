import GRDB
import Privacy

/// Rollup cells of a filtered scope, counted from an `EventStream` with integer keys.
///
/// It counts exactly what `RollupAccumulator` counts (the property test compares the two
/// on random data and filters): per event `total`, `page` (pageviews), `event` (custom
/// events, by effective name), `goal` and the hour; per visit and day its session-level
/// values, visitors on its first event of the day and its events spread over them; per
/// visit started in the range its sessions, bounces, duration and exit page. Visitors are
/// distinct per day through `DailySeen`, which forgets days the stream has left.
struct StreamCells {
    private struct CellKey: Hashable {
        var dim: UInt8
        var bucket: Int64
        var value: Int32
    }

    /// Dimension slots: the catalogue's cases, then `total` and `hour`.
    private static let totalSlot = UInt8(StatsDimension.allCases.count)
    private static let hourSlot = totalSlot + 1
    private static let slot: [StatsDimension: UInt8] = Dictionary(uniqueKeysWithValues: StatsDimension.allCases.enumerated().map { ($1, UInt8($0)) })
    private static let sessionSlots: [UInt8] = StatsDimension.sessionLevel.map { slot[$0]! }

    private let rules: AnalyticsRules
    private let only: DimensionMask
    private let from: Int64, to: Int64
    private var cells: [CellKey: RollupCounts] = [:]
    private var seen = DailySeen()
    /// Goals a pageview of a path meets, by interned path (pattern matching once per path).
    private var pageGoals: [Int32: [Int32]] = [:]
    private let goalIDs: [Int32]
    private let wantsSession: [Bool]
    private let wantsPage: Bool, wantsEvent: Bool, wantsGoal: Bool, wantsExit: Bool

    init(scope: StatsScope, only: DimensionMask, interner: inout Interner) {
        rules = scope.rules
        self.only = only
        from = scope.fromMillis
        to = scope.toMillis
        goalIDs = scope.rules.goals.map { interner.id($0.name) }
        wantsSession = StatsDimension.sessionLevel.map { only.contains($0) }
        wantsPage = only.contains(.page)
        wantsEvent = only.contains(.event)
        wantsGoal = only.contains(.goal) && !scope.rules.goals.isEmpty
        wantsExit = only.contains(.exit)
    }

    /// Whether the stream must decode custom events' properties for these cells.
    var needsProps: Bool { wantsEvent || wantsGoal }

    private static func key(_ slot: UInt8, _ value: Int32) -> UInt32 { UInt32(slot) << 27 | UInt32(truncatingIfNeeded: value) & 0x07FF_FFFF }

    private mutating func count(_ slot: UInt8, bucket: Int64, value: Int32, visitor: VisitorKey, day: Int64, pageview: Bool, seenValue: Int32? = nil) {
        let first = seen.firstTime(visitor, day: day, key: Self.key(slot, seenValue ?? value))
        let k = CellKey(dim: slot, bucket: bucket, value: value)
        cells[k, default: RollupCounts()].hits += 1
        if pageview { cells[k]!.pageviews += 1 }
        if first { cells[k]!.visitors += 1 }
    }

    mutating func add(_ e: StreamEvent, session s: inout StreamSession, interner: inout Interner) {
        let day = rules.calendar.day(of: e.ts), hour = rules.calendar.hour(of: e.ts)
        let isPageview = e.name == "pageview"
        // A visit's session-level values: visitors on its first event of the day; its events
        // are tallied (scratchA hits, scratchB pageviews) and spread when the day or visit ends.
        if s.scratchDay != day {
            flushTally(&s)
            s.scratchDay = day
            for (i, wanted) in wantsSession.enumerated() where wanted {
                if seen.firstTime(e.visitor, day: day, key: Self.key(Self.sessionSlots[i], s.values[i])) {
                    cells[CellKey(dim: Self.sessionSlots[i], bucket: day, value: s.values[i]), default: RollupCounts()].visitors += 1
                }
            }
        }
        s.scratchA += 1
        if isPageview { s.scratchB += 1 }

        count(Self.totalSlot, bucket: day, value: 0, visitor: e.visitor, day: day, pageview: isPageview)
        let needsName = !isPageview && (wantsEvent || wantsGoal)
        let effective = needsName ? rules.effectiveName(name: e.name, props: e.props) : e.name
        var pathID: Int32 = -1
        if isPageview, wantsPage {
            pathID = interner.id(e.path)
            count(Self.slot[.page]!, bucket: day, value: pathID, visitor: e.visitor, day: day, pageview: true)
        } else if !isPageview, wantsEvent {
            count(Self.slot[.event]!, bucket: day, value: interner.id(effective), visitor: e.visitor, day: day, pageview: false)
        }
        if wantsGoal {
            let met: [Int32]
            if isPageview, e.props.isEmpty {
                if pathID < 0 { pathID = interner.id(e.path) }
                if let known = pageGoals[pathID] { met = known } else {
                    met = goalsMet(name: effective, path: e.path, props: e.props)
                    pageGoals[pathID] = met
                }
            } else {
                met = goalsMet(name: effective, path: e.path, props: e.props)
            }
            for g in met { count(Self.slot[.goal]!, bucket: day, value: g, visitor: e.visitor, day: day, pageview: isPageview) }
        }
        count(Self.hourSlot, bucket: hour, value: 0, visitor: e.visitor, day: day, pageview: isPageview, seenValue: Int32(hour - day * 24))
    }

    private func goalsMet(name: String, path: String, props: [(String, String)]) -> [Int32] {
        var met: [Int32] = []
        for (i, goal) in rules.goals.enumerated() where goal.matches(name: name, path: path, props: props) { met.append(goalIDs[i]) }
        return met
    }

    /// Spreads a visit's tallied events over its session-level values.
    private mutating func flushTally(_ s: inout StreamSession) {
        guard s.scratchA > 0 else { return }
        for (i, wanted) in wantsSession.enumerated() where wanted {
            let k = CellKey(dim: Self.sessionSlots[i], bucket: s.scratchDay, value: s.values[i])
            cells[k, default: RollupCounts()].hits += s.scratchA
            cells[k]!.pageviews += Int(s.scratchB)
        }
        s.scratchA = 0
        s.scratchB = 0
    }

    /// A visit the stream is done with: its last tally, and its sessions when it started in range.
    mutating func end(_ s: inout StreamSession) {
        flushTally(&s)
        guard s.startedAt >= from, s.startedAt < to else { return }
        let day = rules.calendar.day(of: s.startedAt)
        let t = CellKey(dim: Self.totalSlot, bucket: day, value: 0)
        cells[t, default: RollupCounts()].sessions += 1
        if s.pageviews <= 1 { cells[t]!.bounces += 1 }
        cells[t]!.duration += s.lastSeen - s.startedAt
        if wantsExit { cells[CellKey(dim: Self.slot[.exit]!, bucket: day, value: s.exit), default: RollupCounts()].sessions += 1 }
        for (i, wanted) in wantsSession.enumerated() where wanted {
            let k = CellKey(dim: Self.sessionSlots[i], bucket: day, value: s.values[i])
            cells[k, default: RollupCounts()].sessions += 1
            if s.pageviews <= 1 { cells[k]!.bounces += 1 }
            cells[k]!.duration += s.lastSeen - s.startedAt
        }
    }

    /// Most (visitor, key) pairs the day counters held at once.
    var peakSeen: Int { seen.peakHeld }

    /// The cells under their rollup names and values.
    func sums(_ interner: Interner) -> CellSums {
        var out: [RollupKey: RollupCounts] = [:]
        out.reserveCapacity(cells.count)
        for (k, c) in cells {
            let dim: String, value: String
            switch k.dim {
            case Self.totalSlot: (dim, value) = ("total", "")
            case Self.hourSlot: (dim, value) = ("hour", "")
            default: (dim, value) = (StatsDimension.allCases[Int(k.dim)].rawValue, interner.string(k.value))
            }
            out[RollupKey(dim: dim, bucket: k.bucket, value: value)] = c
        }
        return CellSums(cells: out)
    }
}

extension VeilDatabase {
    /// Rollup cells of the scope's matching events, and of the visits they belong to that
    /// started in the range, from one ordered stream.
    static func streamedCells(_ db: Database, _ scope: StatsScope, dimensions: [StatsDimension]? = nil) throws -> CellSums {
        try streamedCellsMeasured(db, scope, dimensions: dimensions).cells
    }

    /// `streamedCells`, with what the run held: the visits at most, and the day counters'
    /// (visitor, key) pairs at most.
    static func streamedCellsMeasured(_ db: Database, _ scope: StatsScope, dimensions: [StatsDimension]? = nil,
                                      sweepEvery: Int = 4096) throws -> (cells: CellSums, stream: EventStream.Stats, peakSeen: Int) {
        var interner = Interner()
        var counter = StreamCells(scope: scope, only: dimensions.map(DimensionMask.init) ?? .all, interner: &interner)
        var stream = EventStream(scope: scope, needsProps: counter.needsProps)
        stream.sweepEvery = sweepEvery
        let stats = try stream.run(db, interner: &interner, onEvent: { e, s, names in counter.add(e, session: &s, interner: &names) }, onEnd: { s in counter.end(&s) })
        return (counter.sums(interner), stats, counter.peakSeen)
    }
}
