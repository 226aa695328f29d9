/// Small integer stand-ins for the strings and hashes a scan counts with. A scan hashes
/// each string once (to intern it) and then compares and hashes integers: at millions of
/// rows, string hashing and the allocations behind it were most of a filtered view's time.
struct Interner {
    private var ids: [String: Int32] = [:]
    private(set) var strings: [String] = []

    mutating func id(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id = Int32(strings.count)
        ids[s] = id
        strings.append(s)
        return id
    }

    /// The id of a string already interned, without adding it.
    func existing(_ s: String) -> Int32? { ids[s] }

    func string(_ id: Int32) -> String { strings[Int(id)] }
}

/// A visitor hash (16 bytes) as two words.
struct VisitorKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(bytes: UnsafeRawBufferPointer) {
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.prefix(16).enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
    }
}

/// Distinct visitors per day under integer keys, for a stream in time order. Visitors are
/// distinct per day (see `DailyVisitors`), so a day's memory can go once the stream has
/// moved past it: only the newest two days are kept (a zone's clock can step back across
/// midnight for an hour, never by more than a day), which bounds a scan's memory by the
/// traffic of a day instead of the range.
struct DailySeen {
    private struct Day {
        var visitors: [VisitorKey: UInt32] = [:]
        var seen = Set<UInt64>()

        mutating func insert(_ visitor: VisitorKey, _ key: UInt32) -> Bool {
            let slot: UInt32
            if let known = visitors[visitor] {
                slot = known
            } else {
                slot = UInt32(visitors.count)
                visitors[visitor] = slot
            }
            return seen.insert(UInt64(slot) << 32 | UInt64(key)).inserted
        }
    }
    private var days: [Int64: Day] = [:]
    private var newest = Int64.min
    /// (visitor, key) pairs held now, and the most held at once (tests check the bound).
    private(set) var held = 0
    private(set) var peakHeld = 0

    /// Whether this is the visitor's first time under `key` on `day` (and records it).
    /// `key` must fit in 32 bits.
    mutating func firstTime(_ visitor: VisitorKey, day: Int64, key: UInt32) -> Bool {
        if day > newest {
            newest = day
            if days.count > 1 {
                for (d, old) in days where d < day - 1 { held -= old.seen.count }
                days = days.filter { $0.key >= day - 1 }
            }
        }
        guard days[day, default: Day()].insert(visitor, key) else { return false }
        held += 1
        peakHeld = max(peakHeld, held)
        return true
    }

    /// Distinct (day, key) pairs held right now (tests check the memory bound with it).
    var heldDays: Int { days.count }
}
