import Privacy

/// One dashboard filter: a dimension equal to a value ("" matches "none").
public struct StatsFilter: Sendable, Equatable, Hashable {
    public var dimension: StatsDimension
    public var value: String

    public init(_ dimension: StatsDimension, _ value: String) {
        self.dimension = dimension
        self.value = value
    }
}

/// What a query is about: a site, whole days `[fromDay, toDay)` on the site's clock,
/// filters, and the site's rules (goals and click definitions decide what an event counts
/// as; its calendar, where days begin).
public struct StatsScope: Sendable, Equatable {
    public var site: String
    public var fromDay: Int64
    public var toDay: Int64
    public var filters: [StatsFilter]
    public var rules: AnalyticsRules

    public init(site: String, fromDay: Int64, toDay: Int64, filters: [StatsFilter] = [], rules: AnalyticsRules = AnalyticsRules()) {
        self.site = site
        self.fromDay = fromDay
        self.toDay = toDay
        self.filters = filters
        self.rules = rules
    }

    var fromMillis: Int64 { rules.calendar.start(ofDay: fromDay) }
    var toMillis: Int64 { rules.calendar.start(ofDay: toDay) }
}

/// Headline numbers. Visitors are distinct per UTC day and summed over days: with a
/// daily salt a cookieless visitor cannot be recognised across days anyway, and one
/// definition for every site keeps numbers comparable and additive.
public struct Totals: Sendable, Equatable {
    public var visitors = 0
    public var pageviews = 0
    /// Every event, pageviews included.
    public var hits = 0
    public var sessions = 0
    public var bounces = 0
    public var durationMillis: Int64 = 0

    public init() {}

    public var customEvents: Int { hits - pageviews }
    public var bounceRate: Double { sessions == 0 ? 0 : Double(bounces) / Double(sessions) }
    public var averageDurationSeconds: Double { sessions == 0 ? 0 : Double(durationMillis) / Double(sessions) / 1000 }
    public var pagesPerSession: Double { sessions == 0 ? 0 : Double(pageviews) / Double(sessions) }
}

/// One ranked value of a dimension.
public struct BreakdownRow: Sendable, Equatable {
    public var value: String
    public var visitors: Int
    public var hits: Int
    public var pageviews: Int
    public var sessions: Int

    public init(value: String, visitors: Int, hits: Int, pageviews: Int, sessions: Int) {
        self.value = value
        self.visitors = visitors
        self.hits = hits
        self.pageviews = pageviews
        self.sessions = sessions
    }
}

/// A breakdown page: some rows and how many values exist in all.
public struct Breakdown: Sendable, Equatable {
    public var rows: [BreakdownRow]
    public var total: Int

    public init(rows: [BreakdownRow], total: Int) {
        self.rows = rows
        self.total = total
    }
}

public struct SeriesPoint: Sendable, Equatable {
    public var start: Int64
    public var visitors: Int
    public var pageviews: Int

    public init(start: Int64, visitors: Int, pageviews: Int) {
        self.start = start
        self.visitors = visitors
        self.pageviews = pageviews
    }
}

public enum Granularity: String, Sendable, CaseIterable {
    case hour, day, week, month

    /// Hours up to 2 days, days up to ~3 months, weeks up to ~6 months, months beyond.
    public static func automatic(days: Int64) -> Granularity {
        switch days {
        case ...2: .hour
        case ...92: .day
        case ...190: .week
        default: .month
        }
    }
}

public struct Realtime: Sendable, Equatable {
    public var visitors: Int
    public var pages: [BreakdownRow]
}

public struct FunnelStep: Sendable, Equatable {
    public var goal: String
    public var visitors: Int
    public var sessions: Int
}

public struct Journey: Sendable, Equatable {
    public var previous: [BreakdownRow]
    public var next: [BreakdownRow]

    public init(previous: [BreakdownRow], next: [BreakdownRow]) {
        self.previous = previous
        self.next = next
    }
}

/// Visitors first seen in a week, and how many of them were active N weeks later.
public struct Cohort: Sendable, Equatable {
    public var weekStartDay: Int64
    public var size: Int
    /// active[0] == size; active[k]: visitors of the cohort seen in week k after.
    public var active: [Int]
}

/// Rollup cells summed over a scope, from the rollup table or from a filtered scan.
struct CellSums {
    var cells: [RollupKey: RollupCounts]

    func totals(fromDay: Int64, toDay: Int64) -> Totals {
        var t = Totals()
        for (k, c) in cells where k.dim == "total" && k.bucket >= fromDay && k.bucket < toDay {
            t.visitors += c.visitors; t.pageviews += c.pageviews; t.hits += c.hits
            t.sessions += c.sessions; t.bounces += c.bounces; t.durationMillis += c.duration
        }
        return t
    }

    func breakdown(_ dim: StatsDimension, fromDay: Int64, toDay: Int64, limit: Int, offset: Int) -> Breakdown {
        var byValue: [String: BreakdownRow] = [:]
        for (k, c) in cells where k.dim == dim.rawValue && k.bucket >= fromDay && k.bucket < toDay {
            var row = byValue[k.value] ?? BreakdownRow(value: k.value, visitors: 0, hits: 0, pageviews: 0, sessions: 0)
            row.visitors += c.visitors; row.hits += c.hits; row.pageviews += c.pageviews; row.sessions += c.sessions
            byValue[k.value] = row
        }
        let rows = byValue.values.filter { dim == .exit ? $0.sessions > 0 : $0.hits > 0 }.sorted(by: { BreakdownOrder.before($0, $1, dim: dim) })
        return Breakdown(rows: Array(rows.dropFirst(offset).prefix(limit)), total: rows.count)
    }
}

/// The one ranking rule, shared by SQL and in-memory breakdowns.
enum BreakdownOrder {
    static func before(_ a: BreakdownRow, _ b: BreakdownRow, dim: StatsDimension) -> Bool {
        let (x, y) = dim == .exit ? (a.sessions, b.sessions) : (a.visitors, b.visitors)
        if x != y { return x > y }
        if a.hits != b.hits { return a.hits > b.hits }
        return a.value < b.value
    }
}
