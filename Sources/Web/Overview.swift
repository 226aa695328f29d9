import Foundation
import Privacy
import Storage

/// A resolved date range for the overview, in UTC.
struct OverviewRange: Sendable, Equatable {
    enum Kind: String, Sendable, CaseIterable { case today, d7 = "7d", d30 = "30d", custom }
    var kind: Kind
    var range: TimeRange
    var bucketMillis: Int64
    /// Inclusive first and last day, `YYYY-MM-DD`.
    var fromDate: String
    var toDate: String

    static let day: Int64 = 86_400_000
    static let maxDays: Int64 = 3660

    /// Parses `range` (today, 7d, 30d, custom) and, for custom, `from`/`to` dates
    /// (inclusive, `YYYY-MM-DD`). Bad values are an error, never a silent default.
    static func resolve(range: String?, from: String?, to: String?, now: Int64) throws(APIError) -> OverviewRange {
        let today = SaltSchedule.day(ofMillis: now)
        let kind: Kind
        if let range, !range.isEmpty {
            guard let k = Kind(rawValue: range) else { throw APIError(.badRequest, "invalid_range", "range must be today, 7d, 30d or custom") }
            kind = k
        } else {
            kind = (from != nil || to != nil) ? .custom : .d7
        }
        var first = today, last = today
        switch kind {
        case .today: break
        case .d7: first = today - 6
        case .d30: first = today - 29
        case .custom:
            guard let from, let f = parseDay(from) else { throw APIError(.badRequest, "invalid_from", "from must be a date like 2026-01-31") }
            guard let to, let t = parseDay(to) else { throw APIError(.badRequest, "invalid_to", "to must be a date like 2026-01-31") }
            guard f <= t else { throw APIError(.badRequest, "invalid_range", "from must not be after to") }
            guard t - f < maxDays else { throw APIError(.badRequest, "invalid_range", "a range may span at most \(maxDays) days") }
            first = f; last = t
        }
        let days = last - first + 1
        let bucket = days <= 2 ? 3_600_000 : day
        return OverviewRange(kind: kind, range: TimeRange(from: first * day, to: (last + 1) * day), bucketMillis: bucket,
                             fromDate: dateString(day: first), toDate: dateString(day: last))
    }

    static func parseDay(_ s: String) -> Int64? {
        let parts = s.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1970...9999).contains(y), (1...12).contains(m), (1...daysIn(month: m, year: y)).contains(d) else { return nil }
        return daysFromCivil(y: y, m: m, d: d)
    }

    static func dateString(day: Int64) -> String {
        let (y, m, d) = civilFromDays(day)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    // Howard Hinnant's civil-date algorithms (public domain arithmetic).
    static func daysFromCivil(y: Int, m: Int, d: Int) -> Int64 {
        let y = m <= 2 ? y - 1 : y
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468)
    }

    static func civilFromDays(_ z: Int64) -> (Int, Int, Int) {
        let z = Int(z) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp + (mp < 10 ? 3 : -9)
        return (m <= 2 ? y + 1 : y, m, d)
    }
}

/// The numbers behind both the overview page and `/api/stats/overview`, so the two
/// can never disagree.
struct OverviewData: Sendable {
    var site: String
    var range: OverviewRange
    var totals: OverviewTotals
    var series: [SeriesPoint]
    var pages: [RankedRow]
    var referrers: [RankedRow]
    var events: [RankedRow]

    static func load(database: VeilDatabase, site: String, range: OverviewRange, limit: Int = 10) async throws(StorageError) -> OverviewData {
        async let totals = database.overviewTotals(site: site, range: range.range)
        async let series = database.timeSeries(site: site, range: range.range, bucketMillis: range.bucketMillis)
        async let pages = database.topPages(site: site, range: range.range, limit: limit)
        async let referrers = database.topReferrers(site: site, range: range.range, limit: limit)
        async let events = database.topEvents(site: site, range: range.range, limit: limit)
        do {
            return try await OverviewData(site: site, range: range, totals: totals, series: series, pages: pages, referrers: referrers, events: events)
        } catch let error as StorageError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }

    var json: String {
        func rows(_ r: [RankedRow]) -> String {
            "[" + r.map { "{\"label\":\(JSONWriter.string($0.label)),\"visitors\":\($0.visitors),\"count\":\($0.count)}" }.joined(separator: ",") + "]"
        }
        let t = totals
        let seriesJSON = "[" + series.map { "{\"start\":\($0.start),\"visitors\":\($0.visitors),\"pageviews\":\($0.pageviews)}" }.joined(separator: ",") + "]"
        return """
        {"site":\(JSONWriter.string(site)),"from":\(JSONWriter.string(range.fromDate)),"to":\(JSONWriter.string(range.toDate)),\
        "range":{"start":\(range.range.from),"end":\(range.range.to),"bucket_ms":\(range.bucketMillis)},\
        "visitors":\(t.visitors),"pageviews":\(t.pageviews),"sessions":\(t.sessions),\
        "bounce_rate":\(String(format: "%.4f", t.bounceRate)),"visit_duration_s":\(String(format: "%.1f", t.averageDurationSeconds)),\
        "series":\(seriesJSON),"top_pages":\(rows(pages)),"top_referrers":\(rows(referrers)),"top_events":\(rows(events))}
        """
    }
}
