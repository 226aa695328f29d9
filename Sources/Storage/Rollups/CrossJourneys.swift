/// The journeys part of a day's cross rollups: for every page, the pages viewed just before
/// and just after it within a visit, counted as `VeilDatabase.journey` counts them over a
/// range (a step between two pageviews of a visit, on the day of the second, the visitor
/// once per day, page and neighbour), split by day.
///
/// A step from a page viewed on an earlier day counts only in ranges holding that day (the
/// range's stream has not seen it otherwise): such steps go to cells that say how many days
/// back it was (`needsBack`). A visitor is counted once per day and key, in the cell of its
/// step that the most ranges include (an unconditional one if any), so every range counts
/// each visitor once.
struct CrossJourneys {
    /// Direction slots of a cell's key.
    static let previousSlot: UInt8 = 0, nextSlot: UInt8 = 1
    static let previousDim = "previous", nextDim = "next"

    /// Only this page (a view counting a day without a blob).
    let only: Int32?
    /// Whether journeys are counted at all (not when a day is counted for one filter).
    let counts: Bool
    private(set) var cells = FlatMap64<RollupCounts>()
    /// Steps from an earlier day, by days back.
    private(set) var conditional: [Int64: FlatMap64<RollupCounts>] = [:]
    /// The current visitor's steps: per key, hits by days back.
    private var steps: [UInt64: [Int64: Int]] = [:]
    private let prefix: (Int32) -> UInt64
    private let key: (UInt64, UInt8, Int32) -> UInt64

    init(only: Int32?, counts: Bool, prefix: @escaping (Int32) -> UInt64, key: @escaping (UInt64, UInt8, Int32) -> UInt64) {
        self.only = only
        self.counts = counts
        self.prefix = prefix
        self.key = key
    }

    /// A visit's pageviews of the day in order, and its last pageview before the day (page
    /// and how many days back).
    mutating func visit(pages: [Int32], before: (page: Int32, back: Int64)?) {
        var last = before?.page
        var back = before?.back ?? 0
        for page in pages {
            if let l = last, l != page {
                if only == nil || only == page { steps[key(prefix(page), Self.previousSlot, l), default: [:]][back, default: 0] += 1 }
                if only == nil || only == l { steps[key(prefix(l), Self.nextSlot, page), default: [:]][back, default: 0] += 1 }
            }
            last = page
            back = 0
        }
    }

    /// The current visitor is done: hits by days back, the visitor where the fewest days back.
    mutating func endVisitor() {
        for (k, byBack) in steps {
            let nearest = byBack.keys.min()!
            for (back, hits) in byBack {
                if back == 0 {
                    let i = cells.slot(for: k, default: RollupCounts())
                    cells.values[i].hits += hits
                    cells.values[i].pageviews += hits
                    if back == nearest { cells.values[i].visitors += 1 }
                } else {
                    var map = conditional.removeValue(forKey: back) ?? FlatMap64<RollupCounts>()
                    let i = map.slot(for: k, default: RollupCounts())
                    map.values[i].hits += hits
                    map.values[i].pageviews += hits
                    if back == nearest { map.values[i].visitors += 1 }
                    conditional[back] = map
                }
            }
        }
        steps.removeAll(keepingCapacity: true)
    }
}
