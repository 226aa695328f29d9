import Foundation

/// The wall clock, injected everywhere time matters so tests can move it.
public struct TimeSource: Sendable {
    public let nowMillis: @Sendable () -> Int64

    public init(nowMillis: @escaping @Sendable () -> Int64) {
        self.nowMillis = nowMillis
    }

    public static let system = TimeSource { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}
