import Crypto
import Privacy

/// Limits password guesses without letting anyone lock the admin out.
///
/// - Per (username, client address): at most `maxFailures` failed attempts in the window;
///   an attempt is *reserved* before the password is checked, so concurrent guesses
///   count too (40 simultaneous attempts no longer all get evaluated).
/// - Per client address: at most four times that, across usernames (spraying).
/// - Per username, from every address together: no lockout, but once it has seen
///   `maxFailures` failures in the window, attempts are spaced out (1 s, 2 s, 4 s … up
///   to 30 s between them), so a distributed guesser is slowed while the owner, from
///   their own address, still gets in after a short wait.
///
/// Keys are truncated SHA-256 digests, kept in memory only (never a raw IP), and bounded
/// by `maxKeys`: expired ones are pruned first, then address keys are dropped.
public actor LoginThrottle {
    public enum Decision: Sendable, Equatable {
        case allowed(Reservation)
        case wait(seconds: Int)
    }

    public struct Reservation: Sendable, Equatable {
        fileprivate let pair: String
        fileprivate let address: String
        fileprivate let user: String
    }

    private let maxFailures: Int
    private let windowMillis: Int64
    private let clock: TimeSource
    private let maxKeys: Int
    private var failures: [String: [Int64]] = [:]
    private var inFlight: [String: Int] = [:]
    /// When a username under attack may next be tried.
    private var userNextAttempt: [String: Int64] = [:]

    public init(maxFailures: Int, windowMillis: Int64, clock: TimeSource, maxKeys: Int = 10_000) {
        self.maxFailures = maxFailures
        self.windowMillis = windowMillis
        self.clock = clock
        self.maxKeys = maxKeys
    }

    /// Reserves an attempt, or says how long to wait. Every `.allowed` must be followed
    /// by `finish`.
    public func reserve(ip: String, username: String) -> Decision {
        let now = clock.nowMillis()
        let r = Reservation(pair: "pair:" + digest(username.lowercased() + "\u{0}" + ip), address: "ip:" + digest(ip), user: "user:" + digest(username.lowercased()))
        var wait: Int64 = 0
        for (key, limit) in [(r.pair, maxFailures), (r.address, maxFailures * 4)] {
            let recent = recentFailures(key, now: now)
            if recent.count + inFlight[key, default: 0] >= limit {
                let oldest = recent.first ?? now
                wait = max(wait, max(oldest + windowMillis - now, 1000))
            }
        }
        if let next = userNextAttempt[r.user], next > now { wait = max(wait, next - now) }
        if wait > 0 { return .wait(seconds: Int((wait + 999) / 1000)) }
        inFlight[r.pair, default: 0] += 1
        inFlight[r.address, default: 0] += 1
        let userFailures = recentFailures(r.user, now: now).count
        if userFailures >= maxFailures {
            let step = min(userFailures - maxFailures, 5)
            userNextAttempt[r.user] = now + min(Int64(1000) << Int64(step), 30_000)
        }
        return .allowed(r)
    }

    /// Ends a reserved attempt.
    public func finish(_ r: Reservation, succeeded: Bool) {
        for key in [r.pair, r.address] {
            inFlight[key, default: 1] -= 1
            if inFlight[key] ?? 0 <= 0 { inFlight[key] = nil }
        }
        if succeeded {
            failures[r.pair] = nil
            return
        }
        let now = clock.nowMillis()
        if failures.count >= maxKeys { prune(now: now) }
        for key in [r.pair, r.address, r.user] { failures[key, default: []].append(now) }
    }

    /// Keys held (tests: the bound holds).
    public var keyCount: Int { failures.count + userNextAttempt.count }

    private func recentFailures(_ key: String, now: Int64) -> [Int64] {
        guard let list = failures[key] else { return [] }
        let recent = list.filter { $0 > now - windowMillis }
        failures[key] = recent.isEmpty ? nil : recent
        return recent
    }

    private func prune(now: Int64) {
        failures = failures.filter { $0.value.contains { $0 > now - windowMillis } }
        userNextAttempt = userNextAttempt.filter { $0.value > now }
        if failures.count >= maxKeys {
            // Still full under a flood from many addresses: forget address keys first;
            // usernames (few, and what the slowdown needs) are kept.
            failures = failures.filter { $0.key.hasPrefix("user:") }
        }
    }

    private func digest(_ s: String) -> String {
        SHA256.hash(data: Array(s.utf8)).prefix(12).hexString
    }
}
