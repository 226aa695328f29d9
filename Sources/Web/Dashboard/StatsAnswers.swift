import Privacy
import Storage

// The JSON answers of `/api/stats/*`: small Encodable values, one per answer. Key names
// are the API's (snake_case), so each type spells them out.

/// One ranked value of a table.
struct RowAnswer: Encodable {
    var value: String
    var visitors: Int
    var events: Int
    var pageviews: Int
    var visits: Int

    init(_ r: BreakdownRow) {
        value = r.value
        visitors = r.visitors
        events = r.hits
        pageviews = r.pageviews
        visits = r.sessions
    }

    static func list(_ rows: [BreakdownRow]) -> [RowAnswer] { rows.map(RowAnswer.init) }
}

/// One bucket of a chart.
struct PointAnswer: Encodable {
    var start: String
    var visitors: Int
    var pageviews: Int

    /// `start` on the site's clock.
    init(_ p: SeriesPoint, calendar: DayCalendar) {
        start = calendar.dateTime(p.start)
        visitors = p.visitors
        pageviews = p.pageviews
    }
}

/// A ratio or average as the API shows it: four decimals, 0 when undefined.
func apiNumber(_ v: Double) -> Double { v.isFinite ? (v * 10_000).rounded() / 10_000 : 0 }

struct KPIAnswer: Encodable {
    var visitors: Int
    var pageviews: Int
    var events: Int
    var sessions: Int
    var bounceRate: Double
    var visitDuration: Double

    init(_ t: Totals) {
        visitors = t.visitors
        pageviews = t.pageviews
        events = t.customEvents
        sessions = t.sessions
        bounceRate = apiNumber(t.bounceRate)
        visitDuration = apiNumber(t.averageDurationSeconds)
    }

    enum CodingKeys: String, CodingKey {
        case visitors, pageviews, events, sessions
        case bounceRate = "bounce_rate", visitDuration = "visit_duration_s"
    }
}

struct OverviewAnswer: Encodable {
    struct Table: Encodable {
        var total: Int
        var rows: [RowAnswer]
    }

    struct Live: Encodable {
        var visitors: Int
        var pages: [RowAnswer]
    }

    var site: String
    var from: String
    var to: String
    /// The zone of every date and time in the answer.
    var timezone: String
    var granularity: String
    var filters: [String: String]
    var kpis: KPIAnswer
    var comparison: String
    var previous: KPIAnswer
    var series: [PointAnswer]
    var previousSeries: [PointAnswer]
    var realtime: Live?
    var breakdowns: [String: Table]

    init(_ data: DashboardData) {
        let r = data.request.range
        site = data.request.site
        from = r.fromDate
        to = r.toDate
        granularity = r.granularity.rawValue
        filters = Dictionary(data.request.filters.map { ($0.dimension.rawValue, $0.value) }, uniquingKeysWith: { a, _ in a })
        kpis = KPIAnswer(data.current.totals)
        comparison = data.comparison
        previous = KPIAnswer(data.previous)
        timezone = data.request.calendar.identifier
        series = data.current.series.map { PointAnswer($0, calendar: data.request.calendar) }
        previousSeries = data.previousSeries.map { PointAnswer($0, calendar: data.request.calendar) }
        realtime = data.realtime.map { Live(visitors: $0.visitors, pages: RowAnswer.list($0.pages)) }
        breakdowns = Dictionary(uniqueKeysWithValues: DashboardData.dimensions.map { d in
            let b = data.current.breakdowns[d] ?? Breakdown(rows: [], total: 0)
            return (d.rawValue, Table(total: b.total, rows: RowAnswer.list(b.rows)))
        })
    }

    enum CodingKeys: String, CodingKey {
        case site, from, to, timezone, granularity, filters, comparison, previous, series, realtime, breakdowns
        case previousSeries = "previous_series"
    }

    /// The headline numbers sit at the top level, next to the range.
    func encode(to encoder: Encoder) throws {
        try kpis.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(site, forKey: .site)
        try c.encode(from, forKey: .from)
        try c.encode(to, forKey: .to)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(granularity, forKey: .granularity)
        try c.encode(filters, forKey: .filters)
        try c.encode(comparison, forKey: .comparison)
        try c.encode(previous, forKey: .previous)
        try c.encode(series, forKey: .series)
        try c.encode(previousSeries, forKey: .previousSeries)
        try c.encodeIfPresent(realtime, forKey: .realtime)
        try c.encode(breakdowns, forKey: .breakdowns)
    }
}

struct BreakdownAnswer: Encodable {
    var dim: String
    var total: Int
    var rows: [RowAnswer]
}

struct SeriesAnswer: Encodable {
    var timezone: String
    var granularity: String
    var series: [PointAnswer]
}

struct RealtimeAnswer: Encodable {
    var visitors: Int
    var pages: [RowAnswer]
}

struct PropertyKeysAnswer: Encodable {
    var event: String
    var keys: [String]
}

struct PropertyAnswer: Encodable {
    var event: String
    var key: String
    var total: Int
    var rows: [RowAnswer]
}

struct FunnelAnswer: Encodable {
    struct Step: Encodable {
        var step: String
        var visitors: Int
        var sessions: Int
    }

    var steps: [Step]
}

struct JourneyAnswer: Encodable {
    var at: String
    var previous: [RowAnswer]
    var next: [RowAnswer]
}

struct CohortsAnswer: Encodable {
    struct Cohort: Encodable {
        var week: String
        var size: Int
        var active: [Int]
    }

    var identity: String
    var timezone: String
    var cohorts: [Cohort]
}
