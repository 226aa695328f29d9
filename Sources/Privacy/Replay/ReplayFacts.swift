/// Facts read from a chunk of rrweb events for the recordings list and filters.
public struct ReplayFacts: Sendable, Equatable {
    public var firstTimestamp: Int64?
    public var lastTimestamp: Int64?
    public var clicks = 0
    /// Bursts of at least `rageClicks` clicks within `rageWindowMillis` and `rageRadius` px.
    public var rageClicks = 0
    public var width = 0
    public var height = 0
    /// The page URL of the chunk's last Meta event.
    public var href: String?

    public static let rageClickCount = 3
    public static let rageWindowMillis: Int64 = 1000
    public static let rageRadius = 30.0

    public init(_ events: [JSONValue]) {
        var recent: [(Int64, Double, Double)] = []
        var inBurst = false
        for event in events {
            guard let ts = event["timestamp"]?.intValue.map(Int64.init) else { continue }
            firstTimestamp = min(firstTimestamp ?? ts, ts)
            lastTimestamp = max(lastTimestamp ?? ts, ts)
            let data = event["data"]
            switch event["type"]?.intValue {
            case 4:
                href = data?["href"]?.stringValue ?? href
                width = data?["width"]?.intValue ?? width
                height = data?["height"]?.intValue ?? height
            case 3:
                switch data?["source"]?.intValue {
                case 4:
                    width = data?["width"]?.intValue ?? width
                    height = data?["height"]?.intValue ?? height
                case 2 where data?["type"]?.intValue == 2:
                    clicks += 1
                    let x = data?["x"]?.number ?? 0, y = data?["y"]?.number ?? 0
                    recent = recent.filter { ts - $0.0 <= Self.rageWindowMillis && abs($0.1 - x) <= Self.rageRadius && abs($0.2 - y) <= Self.rageRadius }
                    recent.append((ts, x, y))
                    if recent.count >= Self.rageClickCount {
                        if !inBurst { rageClicks += 1 }
                        inBurst = true
                    } else {
                        inBurst = false
                    }
                default:
                    break
                }
            default:
                break
            }
        }
    }
}

/// Splits a page load's events the way the recorder sends them: a new chunk whenever
/// `windowMillis` have passed since the current one started. Used by the benchmark and
/// the tests to replay whole recordings through `POST /api/replay`.
public enum ReplayTimeline {
    public static func chunks(_ events: [JSONValue], windowMillis: Int = 5000) -> [[JSONValue]] {
        var out: [[JSONValue]] = []
        var current: [JSONValue] = []
        var started: Int?
        for event in events {
            let ts = event["timestamp"]?.intValue ?? 0
            if let s = started, ts - s >= windowMillis { out.append(current); current = []; started = nil }
            if started == nil { started = ts }
            current.append(event)
        }
        if !current.isEmpty { out.append(current) }
        return out
    }
}

extension JSONValue {
    public var number: Double? {
        if case .number(let d) = self { return d }
        return nil
    }
}
