/// Open-addressing hash tables on 64-bit keys, for the scans' per-event counting.
///
/// Why not `Dictionary`/`Set`: a filtered view does some ten hash operations per event,
/// and the standard library's per-process seeded SipHash was a third of a scan's time
/// (`perf`, 1M events). The keys here are interned integers and salted visitor hashes,
/// not strings a client picked, so a fixed 64-bit mixer with linear probing is enough;
/// tables stay at most three quarters full and double when they would not.

/// 64 → 64 bit mixer (the finaliser of MurmurHash3): every input bit moves every output bit.
@inline(__always)
func mix64(_ key: UInt64) -> UInt64 {
    var x = key
    x ^= x >> 33
    x &*= 0xff51_afd7_ed55_8ccd
    x ^= x >> 33
    x &*= 0xc4ce_b9fe_1a85_ec53
    x ^= x >> 33
    return x
}

/// A set of `UInt64` keys; `UInt64.max` cannot be stored (it marks an empty slot).
struct FlatSet64 {
    private var keys: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 8) {
        let size = max(16, (capacity * 4 / 3 + 1).nextPowerOfTwo)
        keys = [UInt64](repeating: .max, count: size)
        mask = size - 1
    }

    /// Inserts `key`; true when it was not there.
    mutating func insert(_ key: UInt64) -> Bool {
        precondition(key != .max)
        if (count + 1) * 4 > keys.count * 3 { grow() }
        let mask = self.mask
        let added = keys.withUnsafeMutableBufferPointer { slots -> Bool in
            var i = Int(truncatingIfNeeded: mix64(key)) & mask
            while true {
                let s = slots[i]
                if s == key { return false }
                if s == .max {
                    slots[i] = key
                    return true
                }
                i = (i + 1) & mask
            }
        }
        if added { count += 1 }
        return added
    }

    /// Empties the set, keeping its table (a scan reuses a day's table for the next day:
    /// freeing and allocating tables of tens of megabytes left the heap fragmented and the
    /// process larger than the tables).
    mutating func removeAll() {
        keys.withUnsafeMutableBufferPointer { $0.update(repeating: .max) }
        count = 0
    }

    var capacity: Int { keys.count * 3 / 4 }

    private mutating func grow() {
        let old = keys
        keys = [UInt64](repeating: .max, count: old.count * 2)
        mask = keys.count - 1
        count = 0
        for k in old where k != .max { _ = insert(k) }
    }
}

/// A map from `UInt64` keys to values kept in insertion order; `UInt64.max` cannot be a key.
/// `slot(for:default:)` finds or adds a key with one probe sequence and returns where its
/// value lives, so a caller updates several fields with one hash.
struct FlatMap64<Value> {
    /// Per table slot: the key, and 1 + the index of its value (0: empty).
    private var keys: [UInt64]
    private var positions: [Int32]
    private var mask: Int
    private(set) var storedKeys: [UInt64] = []
    var values: [Value] = []

    init(capacity: Int = 8) {
        let size = max(16, (capacity * 4 / 3 + 1).nextPowerOfTwo)
        keys = [UInt64](repeating: .max, count: size)
        positions = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    /// The index in `values` of `key`'s value, added as `initial` when absent.
    mutating func slot(for key: UInt64, default initial: @autoclosure () -> Value) -> Int {
        precondition(key != .max)
        if let found = find(key) { return found }
        if (values.count + 1) * 4 > keys.count * 3 { grow() }
        values.append(initial())
        storedKeys.append(key)
        place(key, Int32(values.count))
        return values.count - 1
    }

    /// The index in `values` of `key`'s value, if present.
    func find(_ key: UInt64) -> Int? {
        let mask = self.mask
        return keys.withUnsafeBufferPointer { slots -> Int? in
            var i = Int(truncatingIfNeeded: mix64(key)) & mask
            while true {
                let s = slots[i]
                if s == key { return Int(positions[i]) - 1 }
                if s == .max { return nil }
                i = (i + 1) & mask
            }
        }
    }

    private mutating func place(_ key: UInt64, _ position: Int32) {
        var i = Int(truncatingIfNeeded: mix64(key)) & mask
        while keys[i] != .max { i = (i + 1) & mask }
        keys[i] = key
        positions[i] = position
    }

    private mutating func grow() {
        let size = keys.count * 2
        keys = [UInt64](repeating: .max, count: size)
        positions = [Int32](repeating: 0, count: size)
        mask = size - 1
        for (i, k) in storedKeys.enumerated() { place(k, Int32(i + 1)) }
    }
}

extension Int {
    /// The smallest power of two at least `self` (1 for 0 or less).
    var nextPowerOfTwo: Int {
        guard self > 1 else { return 1 }
        return 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount)
    }
}

/// Small numbers for visitor hashes (both words compared: no two visitors ever merge).
struct VisitorSlots {
    private var high: [UInt64]
    private var low: [UInt64]
    /// 1 + the visitor's number (0: empty).
    private var numbers: [UInt32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 8) {
        let size = max(16, (capacity * 4 / 3 + 1).nextPowerOfTwo)
        high = [UInt64](repeating: 0, count: size)
        low = [UInt64](repeating: 0, count: size)
        numbers = [UInt32](repeating: 0, count: size)
        mask = size - 1
    }

    /// Empties the table, keeping its storage (see `FlatSet64.removeAll`).
    mutating func removeAll() {
        numbers.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        count = 0
    }

    var capacity: Int { numbers.count * 3 / 4 }

    /// The visitor's number (0, 1, 2… in order of first appearance).
    mutating func number(_ v: VisitorKey) -> UInt32 {
        var i = Int(truncatingIfNeeded: mix64(v.high ^ mix64(v.low))) & mask
        while numbers[i] != 0 {
            if high[i] == v.high, low[i] == v.low { return numbers[i] - 1 }
            i = (i + 1) & mask
        }
        if (count + 1) * 4 > numbers.count * 3 {
            grow()
            return number(v)
        }
        high[i] = v.high
        low[i] = v.low
        count += 1
        numbers[i] = UInt32(count)
        return UInt32(count - 1)
    }

    private mutating func grow() {
        let (oh, ol, on) = (high, low, numbers)
        let size = on.count * 2
        high = [UInt64](repeating: 0, count: size)
        low = [UInt64](repeating: 0, count: size)
        numbers = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for j in on.indices where on[j] != 0 {
            var i = Int(truncatingIfNeeded: mix64(oh[j] ^ mix64(ol[j]))) & mask
            while numbers[i] != 0 { i = (i + 1) & mask }
            high[i] = oh[j]
            low[i] = ol[j]
            numbers[i] = on[j]
        }
    }
}
