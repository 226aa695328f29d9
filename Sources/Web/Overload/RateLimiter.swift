import Privacy
import Synchronization

/// Token-bucket rate limits for the public ingest routes.
public struct RateLimitSettings: Sendable, Equatable {
    /// Requests per second one client address may make to the ingest routes (0: no limit),
    /// and how many it may make at once after a quiet spell.
    public var clientPerSecond: Double = 50
    public var clientBurst: Int = 200
    /// Events per second one site may receive (0: no limit), and its burst.
    public var sitePerSecond: Double = 50_000
    public var siteBurst: Int = 100_000
    /// Buckets kept in memory; at the bound, full (idle) buckets are forgotten first, and
    /// if none is idle all are, so memory stays bounded whatever addresses arrive.
    public var maxKeys = 100_000

    public init() {}
}

/// One set of token buckets keyed by a hash (never the raw address: the key is Swift's
/// per-process seeded hash, so the table holds no IP).
public final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Int64
    }

    private let buckets = Mutex<[Int: Bucket]>([:])
    private let perSecond: Double
    private let burst: Double
    private let maxKeys: Int
    private let clock: TimeSource

    public init(perSecond: Double, burst: Int, maxKeys: Int, clock: TimeSource) {
        self.perSecond = perSecond
        self.burst = Double(max(1, burst))
        self.maxKeys = max(1, maxKeys)
        self.clock = clock
    }

    /// Takes `cost` tokens for `key`; nil when allowed, else the seconds until it would be.
    public func take(_ key: String, cost: Int = 1) -> Int? {
        guard perSecond > 0 else { return nil }
        let now = clock.nowMillis()
        let cost = min(Double(cost), burst)
        return buckets.withLock { table -> Int? in
            let id = key.hashValue
            var b = table[id] ?? Bucket(tokens: burst, updated: now)
            b.tokens = min(burst, b.tokens + Double(max(0, now - b.updated)) / 1000 * perSecond)
            b.updated = now
            if b.tokens >= cost {
                b.tokens -= cost
                if table[id] == nil && table.count >= maxKeys { evict(&table, now: now) }
                table[id] = b
                return nil
            }
            table[id] = b
            return max(1, Int(((cost - b.tokens) / perSecond).rounded(.up)))
        }
    }

    /// Buckets held now (for tests: proves the bound).
    public var count: Int { buckets.withLock { $0.count } }

    private func evict(_ table: inout [Int: Bucket], now: Int64) {
        let refillMillis = burst / perSecond * 1000
        table = table.filter { Double(now - $0.value.updated) < refillMillis }
        // Keep at least half the room free, so the next sweep is maxKeys/2 inserts away
        // and a stream of new addresses costs amortised constant time.
        if table.count > maxKeys / 2 { table.removeAll(keepingCapacity: true) }
    }
}
