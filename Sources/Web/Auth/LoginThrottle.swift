import Crypto
import Privacy

/// Limits failed logins per client and per username within a sliding window.
///
/// Keys are SHA-256 digests of the IP or username, kept in memory only: the throttle
/// never holds a raw IP.
public actor LoginThrottle {
    private let maxFailures: Int
    private let windowMillis: Int64
    private let clock: TimeSource
    private var failures: [String: [Int64]] = [:]

    public init(maxFailures: Int, windowMillis: Int64, clock: TimeSource) {
        self.maxFailures = maxFailures
        self.windowMillis = windowMillis
        self.clock = clock
    }

    /// Seconds to wait before another attempt, or nil when one is allowed now.
    public func retryAfter(ip: String, username: String) -> Int? {
        let now = clock.nowMillis()
        var wait: Int64 = 0
        for key in keys(ip: ip, username: username) {
            let recent = (failures[key] ?? []).filter { $0 > now - windowMillis }
            failures[key] = recent.isEmpty ? nil : recent
            if recent.count >= maxFailures, let oldest = recent.first {
                wait = max(wait, oldest + windowMillis - now)
            }
        }
        return wait > 0 ? Int((wait + 999) / 1000) : nil
    }

    public func recordFailure(ip: String, username: String) {
        let now = clock.nowMillis()
        for key in keys(ip: ip, username: username) { failures[key, default: []].append(now) }
    }

    public func recordSuccess(ip: String, username: String) {
        for key in keys(ip: ip, username: username) { failures[key] = nil }
    }

    private func keys(ip: String, username: String) -> [String] {
        ["ip:" + digest(ip), "user:" + digest(username.lowercased())]
    }

    private func digest(_ s: String) -> String {
        SHA256.hash(data: Array(s.utf8)).prefix(12).hexString
    }
}
