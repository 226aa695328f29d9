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
    /// A cell as one word: dimension slot (5 bits), bucket (32 bits), value id (27 bits).
    private struct CellKey {
        var dim: UInt8
        var bucket: Int64
        var value: Int32

        var packed: UInt64 {
            UInt64(dim) << 59 | UInt64(UInt32(truncatingIfNeeded: bucket)) << 27 | UInt64(UInt32(truncatingIfNeeded: value) & 0x07FF_FFFF)
        }

        init(dim: UInt8, bucket: Int64, value: Int32) {
            self.dim = dim
            self.bucket = bucket
            self.value = value
        }

        init(packed k: UInt64) {
            dim = UInt8(k >> 59)
            bucket = Int64(Int32(truncatingIfNeeded: k >> 27))
            value = Int32(truncatingIfNeeded: k & 0x07FF_FFFF)
        }
    }

    /// Dimension slots: the catalogue's cases, then `total` and `hour` (cross rollups use the same).
    static let totalSlot = UInt8(StatsDimension.allCases.count)
    static let hourSlot = totalSlot + 1
    static let slot: [StatsDimension: UInt8] = Dictionary(uniqueKeysWithValues: StatsDimension.allCases.enumerated().map { ($1, UInt8($0)) })
    static let sessionSlots: [UInt8] = StatsDimension.sessionLevel.map { slot[$0]! }
    static let pageSlot = slot[.page]!, eventSlot = slot[.event]!, goalSlot = slot[.goal]!, exitSlot = slot[.exit]!

    /// A slot's rollup name and a value's string (`total` and `hour` have none).
    static func named(slot: UInt8, value: Int32, _ interner: Interner) -> (dim: String, value: String) {
        switch slot {
        case totalSlot: ("total", "")
        case hourSlot: ("hour", "")
        default: (StatsDimension.allCases[Int(slot)].rawValue, interner.string(value))
        }
    }

    private let rules: AnalyticsRules
    private let only: DimensionMask
    private let from: Int64, to: Int64
    private var cells = FlatMap64<RollupCounts>()
    private var seen: DailySeen
    /// Goals a pageview of a path meets, by interned path (pattern matching once per path).
    private var pageGoals: [Int32: [Int32]] = [:]
    private let goalIDs: [Int32]
    private let wantsSession: [Bool]
    private let wantsPage: Bool, wantsEvent: Bool, wantsGoal: Bool, wantsExit: Bool
    /// Hourly cells cost a key per visitor-hour; only an hourly chart reads them.
    private let wantsHours: Bool

    init(scope: StatsScope, only: DimensionMask, hours: Bool = true, interner: inout Interner) {
        wantsHours = hours
        rules = scope.rules
        seen = DailySeen(calendar: scope.rules.calendar)
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

    /// The counts of a cell, to update in place (one hash for several fields).
    private mutating func cell(_ k: CellKey) -> Int { cells.slot(for: k.packed, default: RollupCounts()) }

    private mutating func count(_ slot: UInt8, bucket: Int64, value: Int32, visitor h: DailySeen.Handle, pageview: Bool, seenValue: Int32? = nil) {
        let first = seen.firstTime(h, key: Self.key(slot, seenValue ?? value))
        let i = cell(CellKey(dim: slot, bucket: bucket, value: value))
        cells.values[i].hits += 1
        if pageview { cells.values[i].pageviews += 1 }
        if first { cells.values[i].visitors += 1 }
    }

    mutating func add(_ e: StreamEvent, session s: inout StreamSession, interner: inout Interner) {
        let day = rules.calendar.day(of: e.ts), hour = wantsHours ? rules.calendar.hour(of: e.ts) : 0
        let isPageview = e.isPageview
        let h = seen.handle(e.visitor, day: day, at: e.ts)
        // A visit's session-level values: visitors on its first event of the day; its events
        // are tallied (scratchA hits, scratchB pageviews) and spread when the day or visit ends.
        if s.scratchDay != day {
            flushTally(&s)
            s.scratchDay = day
            let wants = wantsSession
            let fresh = seen.newValues(h, values: s.values) { i, v in wants[i] ? Self.key(Self.sessionSlots[i], v) : nil }
            for i in s.values.indices where fresh & 1 << UInt32(i) != 0 {
                cells.values[cell(CellKey(dim: Self.sessionSlots[i], bucket: day, value: s.values[i]))].visitors += 1
            }
        }
        s.scratchA += 1
        if isPageview { s.scratchB += 1 }

        count(Self.totalSlot, bucket: day, value: 0, visitor: h, pageview: isPageview)
        let needsName = !isPageview && (wantsEvent || wantsGoal)
        let effective = needsName ? rules.effectiveName(name: e.name, props: e.props) : e.name
        var pathID: Int32 = -1
        if isPageview, wantsPage {
            pathID = interner.id(e.path)
            count(Self.pageSlot, bucket: day, value: pathID, visitor: h, pageview: true)
        } else if !isPageview, wantsEvent {
            count(Self.eventSlot, bucket: day, value: interner.id(effective), visitor: h, pageview: false)
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
            for g in met { count(Self.goalSlot, bucket: day, value: g, visitor: h, pageview: isPageview) }
        }
        if wantsHours { count(Self.hourSlot, bucket: hour, value: 0, visitor: h, pageview: isPageview, seenValue: Int32(hour - day * 24)) }
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
            let k = cell(CellKey(dim: Self.sessionSlots[i], bucket: s.scratchDay, value: s.values[i]))
            cells.values[k].hits += s.scratchA
            cells.values[k].pageviews += Int(s.scratchB)
        }
        s.scratchA = 0
        s.scratchB = 0
    }

    /// A visit the stream is done with: its last tally, and its sessions when it started in range.
    mutating func end(_ s: inout StreamSession) {
        flushTally(&s)
        guard s.startedAt >= from, s.startedAt < to else { return }
        let day = rules.calendar.day(of: s.startedAt)
        let t = cell(CellKey(dim: Self.totalSlot, bucket: day, value: 0))
        cells.values[t].sessions += 1
        if s.pageviews <= 1 { cells.values[t].bounces += 1 }
        cells.values[t].duration += s.lastSeen - s.startedAt
        if wantsExit { cells.values[cell(CellKey(dim: Self.exitSlot, bucket: day, value: s.exit))].sessions += 1 }
        for (i, wanted) in wantsSession.enumerated() where wanted {
            let k = cell(CellKey(dim: Self.sessionSlots[i], bucket: day, value: s.values[i]))
            cells.values[k].sessions += 1
            if s.pageviews <= 1 { cells.values[k].bounces += 1 }
            cells.values[k].duration += s.lastSeen - s.startedAt
        }
    }

    /// Most (visitor, key) pairs the day counters held at once.
    var peakSeen: Int { seen.peakHeld }

    /// The cells under their rollup names and values.
    func sums(_ interner: Interner) -> CellSums {
        var out: [RollupKey: RollupCounts] = [:]
        out.reserveCapacity(cells.count)
        for (packed, c) in zip(cells.storedKeys, cells.values) {
            let k = CellKey(packed: packed)
            let (dim, value) = Self.named(slot: k.dim, value: k.value, interner)
            out[RollupKey(dim: dim, bucket: k.bucket, value: value)] = c
        }
        return CellSums(cells: out)
    }
}

extension VeilDatabase {
    /// Rollup cells of the scope's matching events, and of the visits they belong to that
    /// started in the range, from one ordered stream.
    static func streamedCells(_ db: Database, _ scope: StatsScope, dimensions: [StatsDimension]? = nil, hours: Bool = true) throws -> CellSums {
        try streamedCellsMeasured(db, scope, dimensions: dimensions, hours: hours).cells
    }

    /// `streamedCells`, with what the run held: the visits at most, and the day counters'
    /// (visitor, key) pairs at most.
    static func streamedCellsMeasured(_ db: Database, _ scope: StatsScope, dimensions: [StatsDimension]? = nil,
                                      hours: Bool = true, sweepEvery: Int = 4096) throws -> (cells: CellSums, stream: EventStream.Stats, peakSeen: Int) {
        var interner = Interner()
        var counter = StreamCells(scope: scope, only: dimensions.map(DimensionMask.init) ?? .all, hours: hours, interner: &interner)
        var stream = EventStream(scope: scope, needsProps: counter.needsProps)
        stream.sweepEvery = sweepEvery
        let stats = try stream.run(db, interner: &interner, onEvent: { e, s, names in counter.add(e, session: &s, interner: &names) }, onEnd: { s in counter.end(&s) })
        return (counter.sums(interner), stats, counter.peakSeen)
    }
}
