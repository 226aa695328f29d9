import Privacy

/// Distinct visitors per day under integer keys, for a stream in time order. Visitors are
/// distinct per day (see `DailyVisitors`), so a day's memory can go once the stream has
/// moved past it. A local day can come back once: a zone that sets its clocks back just
/// after midnight puts the next instants on the day before. So the previous day is kept
/// until the stream is `stepBackMargin` into the new one (clocks are never set back by
/// more than two hours, so no instant later than that is on the previous day), then
/// dropped: a scan holds about one day's visitors, whatever the range.
///
/// An event resolves its visitor once (`handle`) and then asks per key (`firstTime`):
/// one visitor lookup and one set insert per key, in flat tables (see FlatTables.swift).
struct DailySeen {
    private struct Day {
        var day: Int64
        var visitors: VisitorSlots
        var seen: FlatSet64
        /// Per visitor number, the session-level values of its first visit of the day, kept
        /// as the visit's own array until a second visit needs them as keys: nil no visit
        /// yet, empty already expanded. Most visitors make one visit a day, so most of the
        /// 14 keys a visit would add to `seen` are never made.
        var firstVisit: [[Int32]?] = []

        /// Sized like the day before, if any: days are alike, and growing a large table
        /// step by step was a tenth of a scan's time.
        init(day: Int64, like other: Day? = nil) {
            self.day = day
            visitors = VisitorSlots(capacity: other?.visitors.count ?? 8)
            seen = FlatSet64(capacity: other?.seen.count ?? 8)
        }

        /// Empties this day's tables in place for `day`; false when they are too small for
        /// a day like `other` (then new ones are better).
        mutating func reset(for day: Int64, like other: Day?) -> Bool {
            guard seen.capacity >= other?.seen.count ?? 0, visitors.capacity >= other?.visitors.count ?? 0 else { return false }
            self.day = day
            seen.removeAll()
            visitors.removeAll()
            firstVisit.removeAll(keepingCapacity: true)
            return true
        }
    }
    static let stepBackMargin: Int64 = 3 * 3_600_000

    private let calendar: DayCalendar
    /// The newest day and the one before; `older` holds any earlier day an out-of-order
    /// caller touches, until the stream moves on.
    private var current: Day?
    private var previous: Day?
    private var older: [Int64: Day] = [:]
    /// When the previous day can go (`stepBackMargin` into the current one).
    private var forgetPreviousAt = Int64.max
    /// The tables of the last day dropped, kept for the next day.
    private var spare: Day?

    init(calendar: DayCalendar) {
        self.calendar = calendar
    }

    /// (visitor, key) pairs held now, and the most held at once (tests check the bound).
    private(set) var held = 0
    private(set) var peakHeld = 0

    /// A visitor on a day, resolved once for several keys.
    struct Handle {
        fileprivate var day: Int64
        fileprivate var base: UInt64
    }

    /// The visitor on the day of `ts` (which callers have at hand as `day`).
    mutating func handle(_ visitor: VisitorKey, day: Int64, at ts: Int64) -> Handle {
        if current == nil || day > current!.day {
            // Moving on: the newest day stays as the previous one if it is the day before;
            // everything older goes.
            var dropped = older.values.reduce(0) { $0 + $1.seen.count } + (previous?.seen.count ?? 0)
            older = [:]
            let sizedLike = current
            if previous != nil { spare = previous }
            if let c = current, c.day == day - 1 { previous = c } else {
                dropped += current?.seen.count ?? 0
                if current != nil { spare = current }
                previous = nil
            }
            held -= dropped
            var reused = spare
            spare = nil
            if reused != nil, reused!.reset(for: day, like: sizedLike) { current = reused } else { current = Day(day: day, like: sizedLike) }
            forgetPreviousAt = calendar.start(ofDay: day) + Self.stepBackMargin
        } else if previous != nil, ts >= forgetPreviousAt {
            held -= previous!.seen.count
            spare = previous
            previous = nil
        }
        let number: UInt32
        if current!.day == day { number = current!.visitors.number(visitor) }
        else if previous?.day == day { number = previous!.visitors.number(visitor) }
        else { number = older[day, default: Day(day: day)].visitors.number(visitor) }
        return Handle(day: day, base: UInt64(number) << 32)
    }

    /// Whether this is the visitor's first time under `key` on the handle's day (and records
    /// it). `key` must fit in 32 bits, and be less than `UInt32.max`.
    mutating func firstTime(_ h: Handle, key: UInt32) -> Bool {
        let k = h.base | UInt64(key)
        let added: Bool
        if current!.day == h.day { added = current!.seen.insert(k) }
        else if previous?.day == h.day { added = previous!.seen.insert(k) }
        else { added = older[h.day]!.seen.insert(k) }
        guard added else { return false }
        held += 1
        peakHeld = max(peakHeld, held)
        return true
    }

    /// A visit's first event of the day: which of its session-level `values` the visitor has
    /// not had yet today, as bits (bit i for `values[i]`). `key` forms value i's key, nil for
    /// values not counted. Equal to asking `firstTime` for every key, without storing the
    /// keys of a visitor's only visit of the day.
    mutating func newValues(_ h: Handle, values: [Int32], key: (Int, Int32) -> UInt32?) -> UInt32 {
        let n = Int(h.base >> 32)
        func withDay<T>(_ body: (inout Day) -> T) -> T {
            if current!.day == h.day { return body(&current!) }
            if previous?.day == h.day { return body(&previous!) }
            return body(&older[h.day]!)
        }
        var added = 0
        let bits: UInt32 = withDay { d in
            while d.firstVisit.count <= n { d.firstVisit.append(nil) }
            guard let first = d.firstVisit[n] else {
                // The visitor's first visit today: every value is new; keep them unexpanded.
                d.firstVisit[n] = values
                var all: UInt32 = 0
                for i in values.indices where key(i, values[i]) != nil { all |= 1 << UInt32(i) }
                return all
            }
            if !first.isEmpty {
                // A second visit: the first one's values become keys now.
                for (i, v) in first.enumerated() { if let k = key(i, v), d.seen.insert(h.base | UInt64(k)) { added += 1 } }
                d.firstVisit[n] = []
            }
            var fresh: UInt32 = 0
            for (i, v) in values.enumerated() { if let k = key(i, v), d.seen.insert(h.base | UInt64(k)) { fresh |= 1 << UInt32(i); added += 1 } }
            return fresh
        }
        held += added
        peakHeld = max(peakHeld, held)
        return bits
    }

    /// `handle` and `firstTime` in one.
    mutating func firstTime(_ visitor: VisitorKey, day: Int64, at ts: Int64, key: UInt32) -> Bool {
        firstTime(handle(visitor, day: day, at: ts), key: key)
    }
}
