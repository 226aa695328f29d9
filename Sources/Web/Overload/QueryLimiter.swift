import Synchronization

/// How many dashboard and stats queries may run at once. A filtered view, funnel or
/// journey can scan every raw row of its range, and public share links let anyone start
/// one, so each site and each link gets a share and the whole process a ceiling.
public struct QuerySettings: Sendable, Equatable {
    /// Queries running at once in the whole process; more wait in line.
    public var maxRunning = 2
    /// Queries of one site running or waiting at once (429 beyond).
    public var perSite = 4
    /// Queries of one public share link running or waiting at once (429 beyond).
    public var perShareLink = 1
    /// Queries waiting for a free slot (503 beyond).
    public var maxWaiting = 16

    public init() {}
}

/// Why a query was not started: 429 for one site's or link's share, 503 when the line is full.
public enum QueryRefusal: String, Error, Sendable {
    case site = "site"
    case shareLink = "share_link"
    case busy = "busy"
}

/// Counts queries per site, per share link and in total, and queues those waiting for a
/// slot in arrival order. A query whose client went away is cancelled: a waiting one
/// leaves the line, a running one is interrupted (GRDB interrupts the SQLite statement
/// of a cancelled task).
public final class QueryLimiter: Sendable {
    public struct Key: Sendable, Hashable {
        let name: String
        let kind: QueryRefusal
        public static func site(_ domain: String) -> Key { Key(name: "site:" + domain, kind: .site) }
        /// Keyed by a hash of the token, never the token itself.
        public static func shareLink(_ tokenHash: String) -> Key { Key(name: "link:" + tokenHash, kind: .shareLink) }
    }

    public struct Stats: Sendable, Equatable {
        public var running = 0
        public var waiting = 0
        public var peakRunning = 0
        public var refused: [QueryRefusal: Int] = [:]
        /// Queries ended because their client disconnected.
        public var cancelled = 0
    }

    private struct Waiter {
        let id: UInt64
        var continuation: CheckedContinuation<Void, any Error>?
    }

    private struct State {
        var perKey: [Key: Int] = [:]
        var line: [Waiter] = []
        /// Waiters cancelled, or given a slot, before they stored their continuation.
        var cancelledEarly: Set<UInt64> = []
        var grantedEarly: Set<UInt64> = []
        var nextID: UInt64 = 0
        var stats = Stats()
    }

    private let state = Mutex(State())
    let settings: QuerySettings

    public init(settings: QuerySettings) {
        self.settings = settings
    }

    public var stats: Stats { state.withLock { $0.stats } }

    private func limit(_ key: Key) -> Int { key.kind == .shareLink ? settings.perShareLink : settings.perSite }

    /// Runs `body` once a slot is free. It runs in its own task so that `clientGone`,
    /// asked every `pollInterval` while it waits or runs, can cancel it.
    public func run<T: Sendable>(_ keys: [Key], clientGone: (@Sendable () async -> Bool)? = nil, pollInterval: Duration = .milliseconds(250),
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task {
            try await acquire(keys)
            defer { release(keys) }
            try Task.checkCancellation()
            return try await body()
        }
        let watcher = clientGone.map { gone in
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: pollInterval)
                    if !Task.isCancelled, await gone() { task.cancel(); return }
                }
            }
        }
        defer { watcher?.cancel() }
        do {
            return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        } catch {
            if task.isCancelled { state.withLock { $0.stats.cancelled += 1 } }
            throw error
        }
    }

    private func acquire(_ keys: [Key]) async throws {
        let admitted: Result<UInt64?, QueryRefusal> = state.withLock { s in
            for key in keys where s.perKey[key, default: 0] >= limit(key) {
                s.stats.refused[key.kind, default: 0] += 1
                return .failure(key.kind)
            }
            if s.stats.running < settings.maxRunning {
                for key in keys { s.perKey[key, default: 0] += 1 }
                s.stats.running += 1
                s.stats.peakRunning = max(s.stats.peakRunning, s.stats.running)
                return .success(nil)
            }
            guard s.line.count < settings.maxWaiting else {
                s.stats.refused[.busy, default: 0] += 1
                return .failure(.busy)
            }
            for key in keys { s.perKey[key, default: 0] += 1 }
            s.nextID += 1
            s.line.append(Waiter(id: s.nextID))
            s.stats.waiting = s.line.count
            return .success(s.nextID)
        }
        let id: UInt64
        switch admitted {
        case .failure(let refusal): throw refusal
        case .success(nil): return
        case .success(let waiting?): id = waiting
        }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let early: Bool? = state.withLock { s in
                        if s.cancelledEarly.remove(id) != nil { return false }
                        if s.grantedEarly.remove(id) != nil { return true }
                        if let i = s.line.firstIndex(where: { $0.id == id }) { s.line[i].continuation = continuation }
                        return nil
                    }
                    switch early {
                    case true?: continuation.resume()
                    case false?: continuation.resume(throwing: CancellationError())
                    case nil: break
                    }
                }
            } onCancel: {
                let waiting: CheckedContinuation<Void, any Error>?? = state.withLock { s in
                    guard let i = s.line.firstIndex(where: { $0.id == id }) else { return nil }
                    let waiter = s.line.remove(at: i)
                    s.stats.waiting = s.line.count
                    if waiter.continuation == nil { s.cancelledEarly.insert(id) }
                    return .some(waiter.continuation)
                }
                if case .some(let continuation?) = waiting { continuation.resume(throwing: CancellationError()) }
            }
        } catch {
            // Left the line without a slot: only its per-key counts are given back.
            state.withLock { Self.giveBack(keys, &$0) }
            throw error
        }
    }

    /// Returns a query's per-site and per-link counts (idle keys are forgotten).
    private static func giveBack(_ keys: [Key], _ s: inout State) {
        for key in keys {
            s.perKey[key, default: 1] -= 1
            if s.perKey[key] == 0 { s.perKey[key] = nil }
        }
    }

    /// Gives the slot to the first in line, or frees it.
    private func release(_ keys: [Key]) {
        let next: CheckedContinuation<Void, any Error>? = state.withLock { s in
            Self.giveBack(keys, &s)
            // The slot passes to the first in line; one not yet suspended finds it granted.
            if !s.line.isEmpty {
                let waiter = s.line.removeFirst()
                s.stats.waiting = s.line.count
                if waiter.continuation == nil { s.grantedEarly.insert(waiter.id) }
                return waiter.continuation
            }
            s.stats.running -= 1
            return nil
        }
        next?.resume()
    }
}

extension QueryLimiter {
    /// `run` for a request: cancelled when its connection closes, refusals as HTTP errors
    /// (429 for one site's or link's share, 503 when the line is full, both with Retry-After).
    func answer<T: Sendable>(_ keys: [Key], _ context: VeilRequestContext, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        do {
            return try await run(keys, clientGone: context.client.gone, body)
        } catch let refusal as QueryRefusal {
            switch refusal {
            case .site, .shareLink:
                throw APIError(.tooManyRequests, "too_many_queries", "too many reports of this \(refusal == .site ? "site" : "link") are being computed at once; retry in a moment",
                               headers: [.retryAfter: "2"])
            case .busy:
                throw APIError(.serviceUnavailable, "busy", "Veil is computing many reports at once; retry in a moment", headers: [.retryAfter: "2"])
            }
        }
    }
}
