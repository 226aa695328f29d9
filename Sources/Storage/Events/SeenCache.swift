import Synchronization

/// What each visitor has already been counted under today, kept between write
/// transactions so the writer does not re-read a visitor's events for every request.
///
/// Only committed state goes in (the writer stores its sets after the commit). Erasure,
/// retention and rebuilds clear it, because they change what was counted.
///
/// Bounded by entries and by bytes (an estimate of what the strings and set slots hold):
/// one visitor's set larger than `maxBytes / 16` is not cached at all (a visitor sending
/// hundreds of thousands of distinct names costs an indexed read per request, not memory),
/// and when the whole cache passes either bound it starts over. A miss only costs one
/// indexed read, so forgetting is always safe.
final class SeenCache: Sendable {
    struct Key: Hashable {
        var site: String
        var visitorDay: VisitorDay
    }

    private struct State {
        var entries: [Key: (set: Set<RollupAccumulator.SeenKey>, bytes: Int)] = [:]
        var bytes = 0
    }

    private let state = Mutex(State())
    let capacity: Int
    let maxBytes: Int

    init(capacity: Int = 50_000, maxBytes: Int = 64 << 20) {
        self.capacity = capacity
        self.maxBytes = maxBytes
    }

    /// Estimated bytes one cached set holds: a slot and two string headers per member,
    /// plus the members' text, plus the entry itself.
    static func cost(site: String, _ set: Set<RollupAccumulator.SeenKey>) -> Int {
        var bytes = 96 + site.utf8.count
        for key in set { bytes += 48 + key.dim.utf8.count + key.value.utf8.count }
        return bytes
    }

    func get(site: String, _ vd: VisitorDay) -> Set<RollupAccumulator.SeenKey>? {
        state.withLock { $0.entries[Key(site: site, visitorDay: vd)]?.set }
    }

    func store(site: String, _ sets: [VisitorDay: Set<RollupAccumulator.SeenKey>]) {
        let priced = sets.map { ($0.key, $0.value, Self.cost(site: site, $0.value)) }
        state.withLock { s in
            for (vd, set, bytes) in priced {
                let key = Key(site: site, visitorDay: vd)
                if let old = s.entries.removeValue(forKey: key) { s.bytes -= old.bytes }
                guard bytes <= maxBytes / 16 else { continue }
                if s.entries.count + 1 > capacity || s.bytes + bytes > maxBytes {
                    s.entries.removeAll(keepingCapacity: true)
                    s.bytes = 0
                }
                s.entries[key] = (set, bytes)
                s.bytes += bytes
            }
        }
    }

    /// Entries and estimated bytes held (for tests and metrics).
    var usage: (entries: Int, bytes: Int) { state.withLock { ($0.entries.count, $0.bytes) } }

    func clear() {
        state.withLock { $0 = State() }
    }
}
