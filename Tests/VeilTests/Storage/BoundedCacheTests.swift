import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
@testable import Web
@testable import Storage

/// The writer's per-visitor cache is bounded by bytes, not only entries.
@Suite("Bounded in-memory caches")
struct BoundedCacheTests {
    @Test func oneVisitorsHugeSetIsNotKept() {
        let cache = SeenCache(capacity: 1000, maxBytes: 1 << 20)
        let vd = VisitorDay(visitor: Array(repeating: 1, count: 16), day: 1)
        let huge = Set((0..<325_000).map { RollupAccumulator.SeenKey(dim: "name", value: "unique-name-\($0)") })
        cache.store(site: "example.com", [vd: huge])
        #expect(cache.get(site: "example.com", vd) == nil)
        #expect(cache.usage.bytes == 0)
    }

    @Test func manyVisitorsStayUnderTheByteBound() {
        let maxBytes = 256 << 10
        let cache = SeenCache(capacity: 100_000, maxBytes: maxBytes)
        for i in 0..<5000 {
            let vd = VisitorDay(visitor: (0..<16).map { UInt8(truncatingIfNeeded: i >> ($0 % 2 * 8)) &+ UInt8($0) }, day: Int64(i))
            let set = Set((0..<20).map { RollupAccumulator.SeenKey(dim: "path", value: "/page/\(i)/\($0)") })
            cache.store(site: "example.com", [vd: set])
            #expect(cache.usage.bytes <= maxBytes)
        }
        #expect(cache.usage.entries > 0)
    }
}
