/// What one chunk of a recording adds to heatmaps: clicks by element path and position
/// inside the element, whether each click was dead, rage, or is not yet decided, and how
/// far down each page the visitor scrolled. No text: only tag paths, offsets, counts.
public struct HeatmapFacts: Sendable, Equatable {
    /// A click the recorder placed on an element.
    public struct Click: Sendable, Equatable {
        public var timestamp: Int64
        /// The page URL in force when the click happened (the last Meta event's href).
        public var href: String
        /// Tag path such as `body>main:nth-of-type(1)>button:nth-of-type(2)`.
        public var element: String
        /// Where in the element's box, 0…19 across and down (5 % cells).
        public var cellX: Int
        public var cellY: Int
        /// The viewport width then (the device class comes from it).
        public var width: Int
        public var rage: Bool
        public var state: State
    }

    public enum State: Int, Sendable, Equatable {
        /// Something happened within `deadWindowMillis`: a DOM change, an input or a navigation.
        case live = 1
        /// Nothing happened within the window although the recording went on past it.
        case dead = 2
        /// The chunk ends inside the window: the next chunk of the page decides.
        case pending = 0
    }

    public var clicks: [Click] = []
    /// Timestamps of DOM changes, inputs and navigations (what makes a click live).
    public var activity: [Int64] = []
    /// The chunk's last timestamp.
    public var lastTimestamp: Int64 = 0
    /// Deepest share of each page (by href) the viewport's bottom edge reached, 0…1000.
    public var depths: [String: Int] = [:]
    /// The viewport width in force per page href (for the device class of its depth).
    public var widths: [String: Int] = [:]
    /// The page and viewport in force at the chunk's end (where the next chunk starts).
    public var endHref = ""
    public var endWidth = 0

    public static let deadWindowMillis: Int64 = 1000
    public static let cells = 20
    public static let maxElementLength = 512

    /// `href`/`width`: the page and viewport in force before the chunk's first event.
    public init(_ events: [JSONValue], href startHref: String, width startWidth: Int) {
        var href = startHref, width = startWidth
        var recent: [(Int64, Double, Double, Int)] = []
        for event in events {
            guard let ts = event["timestamp"]?.intValue.map(Int64.init) else { continue }
            lastTimestamp = max(lastTimestamp, ts)
            let data = event["data"]
            switch event["type"]?.intValue {
            case 4:
                href = data?["href"]?.stringValue ?? href
                width = data?["width"]?.intValue ?? width
                widths[href] = width
                activity.append(ts)
            case 2:
                activity.append(ts)
            case 3:
                switch data?["source"]?.intValue {
                case 0:
                    let changed = ["adds", "removes", "texts", "attributes"].contains { key in
                        if case .array(let list) = data?[key] ?? .null { return !list.isEmpty }
                        return false
                    }
                    if changed { activity.append(ts) }
                case 5:
                    activity.append(ts)
                case 4:
                    width = data?["width"]?.intValue ?? width
                    widths[href] = width
                case 3:
                    if let dh = data?["dh"]?.number, dh > 0, let vh = data?["vh"]?.number, let y = data?["y"]?.number {
                        let reached = Int(min(1000, max(0, (y + vh) / dh * 1000)).rounded())
                        depths[href] = max(depths[href] ?? 0, reached)
                        widths[href] = width
                    }
                case 2 where data?["type"]?.intValue == 2:
                    let x = data?["x"]?.number ?? 0, y = data?["y"]?.number ?? 0
                    // Rage: three clicks within a second and 30 px, as the replay list counts them.
                    recent = recent.filter { ts - $0.0 <= ReplayFacts.rageWindowMillis && abs($0.1 - x) <= ReplayFacts.rageRadius && abs($0.2 - y) <= ReplayFacts.rageRadius }
                    guard let element = data?["p"]?.stringValue, Self.isElementPath(element) else {
                        recent.append((ts, x, y, -1))
                        continue
                    }
                    func cell(_ v: Double?) -> Int { min(Self.cells - 1, max(0, Int((v ?? 500) / 1000 * Double(Self.cells)))) }
                    recent.append((ts, x, y, clicks.count))
                    clicks.append(Click(timestamp: ts, href: href, element: element, cellX: cell(data?["rx"]?.number), cellY: cell(data?["ry"]?.number),
                                        width: width, rage: false, state: .pending))
                    // Every click of the burst counts as a rage click, the earlier ones included.
                    if recent.count >= ReplayFacts.rageClickCount {
                        for r in recent where r.3 >= 0 && r.3 < clicks.count { clicks[r.3].rage = true }
                    }
                default:
                    break
                }
            default:
                break
            }
        }
        endHref = href
        endWidth = width
        activity.sort()
        for i in clicks.indices {
            clicks[i].state = Self.decide(click: clicks[i].timestamp, activity: activity, lastTimestamp: lastTimestamp)
        }
    }

    /// Live when something happened within the window after the click (binary search over
    /// the sorted activity), dead when nothing did and the events go on past it.
    public static func decide(click ts: Int64, activity: [Int64], lastTimestamp: Int64) -> State {
        var lo = 0, hi = activity.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if activity[mid] <= ts { lo = mid + 1 } else { hi = mid }
        }
        if lo < activity.count, activity[lo] <= ts + deadWindowMillis { return .live }
        return lastTimestamp >= ts + deadWindowMillis ? .dead : .pending
    }

    /// `tag:nth-of-type(n)` steps joined by `>`, starting at `body`: nothing else is kept.
    public static func isElementPath(_ text: String) -> Bool {
        let u = Array(text.utf8)
        guard !u.isEmpty, u.count <= maxElementLength, text.hasPrefix("body") else { return false }
        return u.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 58 || $0 == 40 || $0 == 41 || $0 == 62 }
    }

    /// mobile under 768 px of viewport, tablet under 1024, desktop otherwise.
    public static func device(width: Int) -> String {
        width <= 0 ? "desktop" : width < 768 ? "mobile" : width < 1024 ? "tablet" : "desktop"
    }
}
