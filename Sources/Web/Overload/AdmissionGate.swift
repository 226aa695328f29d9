import Synchronization

/// How much ingest work may be under way at once. Checked from the request head alone,
/// before a body byte is read or parsed, so an overloaded Veil says "503, retry" for the
/// price of a header instead of doing work it would then have to throw away.
public struct AdmissionSettings: Sendable, Equatable {
    /// Ingest requests being read, parsed or waiting for their commit at once.
    public var maxInFlightRequests = 64
    /// Body bytes those requests may hold at once (declared or, for chunked bodies, the route's limit).
    public var maxInFlightBytes = 32 << 20
    /// Share of the write queue's capacity above which new ingest requests are turned away:
    /// the queue drains first, so the requests already admitted are committed quickly.
    public var queueHighWaterPercent = 75

    public init() {}
}

/// Why a request was not admitted; each is a 503 with `Retry-After` and a metric label.
public enum AdmissionRefusal: String, Error, Sendable {
    case tooManyRequests = "in_flight_requests"
    case tooManyBytes = "in_flight_bytes"
    case queueBacklog = "queue_backlog"
}

/// Counts the ingest requests and body bytes in flight. Lock-protected plain integers:
/// admission must cost nothing measurable, even when turning thousands away.
public final class AdmissionGate: Sendable {
    public struct Ticket: Sendable, Equatable {
        let bytes: Int
    }

    private struct State {
        var requests = 0
        var bytes = 0
        var peakRequests = 0
        var peakBytes = 0
    }

    private let state = Mutex(State())
    private let settings: AdmissionSettings
    private let queueCapacity: Int
    private let queueDepth: @Sendable () -> Int

    /// `queueDepth` reads the writer's backlog without waiting for the writer.
    public init(settings: AdmissionSettings, queueCapacity: Int, queueDepth: @escaping @Sendable () -> Int) {
        self.settings = settings
        self.queueCapacity = queueCapacity
        self.queueDepth = queueDepth
    }

    /// Admits a request that may bring up to `bytes` of body, or says why not.
    public func admit(bytes: Int) -> Result<Ticket, AdmissionRefusal> {
        if queueDepth() * 100 >= queueCapacity * settings.queueHighWaterPercent { return .failure(.queueBacklog) }
        return state.withLock { s in
            guard s.requests < settings.maxInFlightRequests else { return .failure(.tooManyRequests) }
            guard s.bytes + bytes <= settings.maxInFlightBytes || s.requests == 0 else { return .failure(.tooManyBytes) }
            s.requests += 1
            s.bytes += bytes
            s.peakRequests = max(s.peakRequests, s.requests)
            s.peakBytes = max(s.peakBytes, s.bytes)
            return .success(Ticket(bytes: bytes))
        }
    }

    public func release(_ ticket: Ticket) {
        state.withLock { s in
            s.requests -= 1
            s.bytes -= ticket.bytes
        }
    }

    /// Requests and bytes in flight now, and the most seen at once (for metrics and tests).
    public var inFlight: (requests: Int, bytes: Int, peakRequests: Int, peakBytes: Int) {
        state.withLock { ($0.requests, $0.bytes, $0.peakRequests, $0.peakBytes) }
    }
}
