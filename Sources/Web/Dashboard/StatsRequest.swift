import Foundation
import Privacy
import Storage

/// A resolved date range: whole UTC days `[fromDay, toDay)`.
struct DateRange: Sendable, Equatable {
    enum Kind: String, Sendable, CaseIterable {
        case today, yesterday, d7 = "7d", d30 = "30d", month, lastMonth = "lastmonth", m12 = "12mo", custom

        var label: String {
            switch self {
            case .today: "Today"
            case .yesterday: "Yesterday"
            case .d7: "7 days"
            case .d30: "30 days"
            case .month: "This month"
            case .lastMonth: "Last month"
            case .m12: "12 months"
            case .custom: "Custom"
            }
        }
    }

    var kind: Kind
    var fromDay: Int64
    var toDay: Int64

    static let maxDays: Int64 = 3660
    var days: Int64 { toDay - fromDay }
    var granularity: Granularity { Granularity.automatic(days: days) }
    var fromDate: String { DayCalendar.dateString(fromDay) }
    var toDate: String { DayCalendar.dateString(toDay - 1) }
    var label: String { days == 1 ? fromDate : "\(fromDate) to \(toDate)" }
    /// The same number of days just before (what comparisons compare with).
    var previous: DateRange { DateRange(kind: .custom, fromDay: fromDay - days, toDay: fromDay) }
    func contains(day: Int64) -> Bool { day >= fromDay && day < toDay }

    /// Parses `range` and, for custom, `from`/`to` (inclusive `YYYY-MM-DD`). Bad values
    /// are an error, never a silent default.
    /// "Today" is the day holding `now` on `calendar` (the site's clock).
    static func resolve(range: String?, from: String?, to: String?, now: Int64, calendar: DayCalendar = .utc) throws(APIError) -> DateRange {
        let today = calendar.day(of: now)
        let kind: Kind
        if let range, !range.isEmpty {
            guard let k = Kind(rawValue: range) else {
                throw APIError(.badRequest, "invalid_range", "range must be one of " + Kind.allCases.map(\.rawValue).joined(separator: ", "))
            }
            kind = k
        } else {
            kind = (from != nil || to != nil) ? .custom : .d30
        }
        let (y, m, _) = DayCalendar.civil(today)
        switch kind {
        case .today: return DateRange(kind: kind, fromDay: today, toDay: today + 1)
        case .yesterday: return DateRange(kind: kind, fromDay: today - 1, toDay: today)
        case .d7: return DateRange(kind: kind, fromDay: today - 6, toDay: today + 1)
        case .d30: return DateRange(kind: kind, fromDay: today - 29, toDay: today + 1)
        case .month: return DateRange(kind: kind, fromDay: DayCalendar.day(year: y, month: m, day: 1), toDay: today + 1)
        case .lastMonth:
            let (py, pm) = m == 1 ? (y - 1, 12) : (y, m - 1)
            return DateRange(kind: kind, fromDay: DayCalendar.day(year: py, month: pm, day: 1), toDay: DayCalendar.day(year: y, month: m, day: 1))
        case .m12:
            // The current month and the eleven before it.
            let (sy, sm) = m == 12 ? (y, 1) : (y - 1, m + 1)
            return DateRange(kind: kind, fromDay: DayCalendar.day(year: sy, month: sm, day: 1), toDay: today + 1)
        case .custom:
            guard let from, let f = parseDay(from) else { throw APIError(.badRequest, "invalid_from", "from must be a date like 2026-01-31") }
            guard let to, let t = parseDay(to) else { throw APIError(.badRequest, "invalid_to", "to must be a date like 2026-01-31") }
            guard f <= t else { throw APIError(.badRequest, "invalid_range", "from must not be after to") }
            guard t - f < maxDays else { throw APIError(.badRequest, "invalid_range", "a range may span at most \(maxDays) days") }
            return DateRange(kind: kind, fromDay: f, toDay: t + 1)
        }
    }

    static func parseDay(_ s: String) -> Int64? { DayCalendar.parseDate(s) }
}

/// Range and filters of a dashboard view, parsed from its query string, and the links
/// that change one of them (every view is a shareable URL).
struct StatsRequest: Sendable {
    var site: String
    var range: DateRange
    var filters: [StatsFilter]
    /// Raw range parameters, echoed in links.
    var rangeParams: [(String, String)]
    /// The site's goals and click definitions (what events count as).
    var rules = AnalyticsRules()
    /// The site's clock: days, hours and dates of this view.
    var calendar: DayCalendar { rules.calendar }

    static func parse(site: String, rules: AnalyticsRules = AnalyticsRules(), query: [String: String], now: Int64) throws(APIError) -> StatsRequest {
        let range = try DateRange.resolve(range: query["range"], from: query["from"], to: query["to"], now: now, calendar: rules.calendar)
        var filters: [StatsFilter] = []
        for d in StatsDimension.allCases {
            guard let value = query[d.rawValue] else { continue }
            guard value.count <= 2048 else { throw APIError(.badRequest, "invalid_filter", "the \(d.rawValue) filter is longer than 2048 characters") }
            filters.append(StatsFilter(d, value))
        }
        var params: [(String, String)] = [("range", range.kind.rawValue)]
        if range.kind == .custom { params += [("from", range.fromDate), ("to", range.toDate)] }
        return StatsRequest(site: site, range: range, filters: filters, rangeParams: params, rules: rules)
    }

    var scope: StatsScope { StatsScope(site: site, fromDay: range.fromDay, toDay: range.toDay, filters: filters, rules: rules) }
    var previousScope: StatsScope { StatsScope(site: site, fromDay: range.previous.fromDay, toDay: range.previous.toDay, filters: filters, rules: rules) }

    /// The query string for this view with `changes` applied (nil value removes a key).
    func query(_ changes: [(String, String?)] = []) -> String {
        var pairs: [(String, String)] = rangeParams
        for f in filters { pairs.append((f.dimension.rawValue, f.value)) }
        for (key, value) in changes {
            pairs.removeAll { $0.0 == key }
            if let value { pairs.append((key, value)) }
        }
        return pairs.isEmpty ? "" : "?" + pairs.map { Self.encode($0.0) + "=" + Self.encode($0.1) }.joined(separator: "&")
    }

    /// Filters only, each as `&key=value` (for range links, which bring their own range).
    func filterQuery() -> String {
        filters.map { "&" + Self.encode($0.dimension.rawValue) + "=" + Self.encode($0.value) }.joined()
    }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~/")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }
}
