import Hummingbird
import HummingbirdCore
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Open connections, shared between the server's accept loop and `/metrics`.
public final class ConnectionStats: Sendable {
    private struct State { var open = 0, peak = 0, capHits = 0, atCap = false }
    private let state = Mutex(State())
    public init() {}

    /// Open connections now, the most at once, and how often the cap was reached.
    public var snapshot: (open: Int, peak: Int, capHits: Int) { state.withLock { ($0.open, $0.peak, $0.capHits) } }

    /// Returns true when this opening reached the cap (so it is logged once per episode).
    fileprivate func opened(cap: Int) -> Bool {
        state.withLock { s in
            s.open += 1
            s.peak = max(s.peak, s.open)
            if s.open >= cap && !s.atCap { s.atCap = true; s.capHits += 1; return true }
            return false
        }
    }

    fileprivate func closed(cap: Int) -> Bool {
        state.withLock { s in
            s.open -= 1
            if s.atCap && s.open < cap { s.atCap = false; return true }
            return false
        }
    }

    fileprivate func accepting(cap: Int) -> Bool { state.withLock { $0.open < cap } }
}

/// At `max` open connections the server stops accepting; new connections wait in the
/// listen backlog instead of exhausting file descriptors. (NIO accepts a small batch per
/// read of the listening socket, so the cap can be passed by at most that batch.) Logged when the cap is
/// reached and when it is left, not per connection.
struct ConnectionLimit: AvailableConnectionsDelegate {
    let max: Int
    let stats: ConnectionStats
    let logger: Logger

    mutating func connectionOpened() {
        if stats.opened(cap: max) {
            logger.warning("connection cap reached; new connections wait until one closes", metadata: ["max_connections": "\(max)"])
        }
    }

    mutating func connectionClosed() {
        if stats.closed(cap: max) {
            logger.notice("below the connection cap again", metadata: ["max_connections": "\(max)"])
        }
    }

    func isAcceptingNewConnections() -> Bool { stats.accepting(cap: max) }
}

/// Raises the soft open-file limit to the hard limit (where allowed), so the connection
/// cap, not the descriptor table, is what bounds connections. Returns the soft limit now.
@discardableResult
public func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return -1 }
    if limit.rlim_cur < limit.rlim_max {
        var raised = limit
        raised.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return Int(raised.rlim_cur) }
    }
    return Int(limit.rlim_cur)
}
