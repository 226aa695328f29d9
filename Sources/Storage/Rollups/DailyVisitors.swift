/// The one way Veil counts visitors: distinct per day, summed over days (see `Totals`).
/// It remembers, per visitor and day, the keys the visitor was already counted under (a
/// table value, an hour, a page transition): the rollups, property breakdowns and
/// journeys all count through it, so "visitors" means the same in each.
struct DailyVisitors<Key: Hashable> {
    /// Keys counted so far, per visitor and day.
    var sets: [VisitorDay: Set<Key>] = [:]

    /// Whether this is the visitor's first time under `key` on `day` (and records it).
    mutating func firstTime(_ visitor: [UInt8], day: Int64, _ key: Key) -> Bool {
        sets[VisitorDay(visitor: visitor, day: day), default: []].insert(key).inserted
    }

    /// The visitor's set for a day, taken out for a burst of inserts (one lookup, no copy);
    /// `load` supplies it when not held (the writer reads it from the database). Put it
    /// back with `restore`.
    mutating func take(_ vd: VisitorDay, load: () throws -> Set<Key>) rethrows -> Set<Key> {
        try sets.removeValue(forKey: vd) ?? load()
    }

    mutating func restore(_ vd: VisitorDay, _ set: Set<Key>) {
        sets[vd] = set
    }

    /// Drops days before `day` (a long sequential load keeps only what can still change).
    mutating func forget(before day: Int64) {
        sets = sets.filter { $0.key.day >= day }
    }
}

extension DailyVisitors: Sendable where Key: Sendable {}

/// A visitor hash (always 16 bytes; kept as two words, cheap to hash) and a day number.
struct VisitorDay: Hashable, Sendable {
    var high: UInt64
    var low: UInt64
    var day: Int64

    init(visitor: [UInt8], day: Int64) {
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in visitor.prefix(16).enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
        self.day = day
    }
}
