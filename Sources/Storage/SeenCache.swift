import Synchronization

/// What each visitor has already been counted under today, kept between write
/// transactions so the writer does not re-read a visitor's events for every request.
///
/// Only committed state goes in (the writer stores its sets after the commit). Erasure,
/// retention and rebuilds clear it, because they change what was counted. Bounded: when
/// full it starts over, and a miss only costs one indexed read.
final class SeenCache: Sendable {
    struct Key: Hashable {
        var site: String
        var visitorDay: RollupAccumulator.VisitorDay
    }

    private let entries = Mutex<[Key: Set<RollupAccumulator.SeenKey>]>([:])
    let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func get(site: String, _ vd: RollupAccumulator.VisitorDay) -> Set<RollupAccumulator.SeenKey>? {
        entries.withLock { $0[Key(site: site, visitorDay: vd)] }
    }

    func store(site: String, _ sets: [RollupAccumulator.VisitorDay: Set<RollupAccumulator.SeenKey>]) {
        entries.withLock { entries in
            if entries.count + sets.count > capacity { entries.removeAll(keepingCapacity: true) }
            for (vd, set) in sets { entries[Key(site: site, visitorDay: vd)] = set }
        }
    }

    func clear() {
        entries.withLock { $0.removeAll() }
    }
}
