#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The wall clock, injected everywhere time matters so tests can move it.
public struct TimeSource: Sendable {
    public let nowMillis: @Sendable () -> Int64

    public init(nowMillis: @escaping @Sendable () -> Int64) {
        self.nowMillis = nowMillis
    }

    public static let system = TimeSource {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
