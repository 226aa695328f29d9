import Foundation

/// The one calendar: how instants (milliseconds since 1970) map to days and hours, and
/// day-number arithmetic (civil dates, Monday weeks, months). Every bucket, range,
/// salt day, chart and date string goes through it.
///
/// Two halves, on purpose. Day numbers (days since 1970-01-01) and their civil dates
/// do not depend on a zone: the static functions. Mapping an instant to a day or an
/// hour, and a day back to its first instant, does: the instance functions, in UTC
/// (`DayCalendar.utc`) or on a zone's clock (`DayCalendar(identifier:)`, from the
/// system's zone database), so days of 23 and 25 hours and half-hour offsets work.
public struct DayCalendar: Sendable, Equatable {
    public static let utc = DayCalendar()
    public static let millisPerDay: Int64 = 86_400_000
    public static let millisPerHour: Int64 = 3_600_000

    /// The zone whose clock days and hours follow; nil is UTC (no lookups at all).
    public let zone: TimeZone?

    public init() { zone = nil }

    /// A calendar on `zone`'s clock (UTC itself gives the plain UTC calendar).
    public init(zone: TimeZone) {
        self.zone = zone.identifier == "UTC" || zone.identifier == "GMT" ? nil : zone
    }

    /// A calendar for an IANA zone name ("Europe/Berlin"); nil when the system's zone
    /// database does not know it.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.init(zone: zone)
    }

    /// The zone's name as people read it ("UTC", "Europe/Berlin").
    public var identifier: String { zone?.identifier ?? "UTC" }

    /// Milliseconds the zone's clock is ahead of UTC at an instant.
    public func offset(at ms: Int64) -> Int64 {
        guard let zone else { return 0 }
        return Int64(zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(Self.floorDiv(ms, 1000))))) * 1000
    }

    // MARK: Instants (zone-dependent)

    /// The day holding the instant, on the zone's clock.
    public func day(of ms: Int64) -> Int64 { Self.floorDiv(ms + offset(at: ms), Self.millisPerDay) }

    /// The hour holding the instant, counted on the zone's clock from 1970-01-01 00:00: a
    /// day's hours are `day * 24 ..< day * 24 + 24` (on a 23-hour day one stays empty; on a
    /// 25-hour day the repeated hour is one bucket).
    public func hour(of ms: Int64) -> Int64 { Self.floorDiv(ms + offset(at: ms), Self.millisPerHour) }

    /// The first instant of a day (local midnight; after a gap, the first instant that exists).
    public func start(ofDay day: Int64) -> Int64 { instant(localMillis: day * Self.millisPerDay) }

    /// The hour numbers of a day.
    public func hours(ofDay day: Int64) -> Range<Int64> { day * 24..<day * 24 + 24 }

    /// The hour numbers of the days `[fromDay, toDay)`.
    public func hours(fromDay: Int64, toDay: Int64) -> Range<Int64> { fromDay * 24..<toDay * 24 }

    /// The first instant of an hour number.
    public func start(ofHour hour: Int64) -> Int64 { instant(localMillis: hour * Self.millisPerHour) }

    /// "YYYY-MM-DD HH:MM" on the zone's clock.
    public func dateTime(_ ms: Int64) -> String {
        let local = ms + offset(at: ms)
        let day = Self.floorDiv(local, Self.millisPerDay)
        let rest = local - day * Self.millisPerDay
        return Self.dateString(day) + String(format: " %02d:%02d", rest / Self.millisPerHour, rest % Self.millisPerHour / 60_000)
    }

    /// The instant a local wall-clock time names: its earlier occurrence when the clock
    /// repeats it, the end of the gap when the clock skips it.
    func instant(localMillis local: Int64) -> Int64 {
        guard zone != nil else { return local }
        let first = local - offset(at: local)
        let second = local - offset(at: first)
        if second == first { return first }
        // The offset changes between the two guesses: a repeated time takes the earlier
        // instant that shows it; a skipped time has no instant showing it, so the later guess.
        let candidates = [first, second].filter { $0 + offset(at: $0) == local }
        return candidates.min() ?? max(first, second)
    }

    // MARK: Day numbers (zone-free)

    /// The day number of a proleptic Gregorian date.
    public static func day(year: Int, month: Int, day d: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return Int64(era * 146_097 + doe - 719_468)
    }

    /// The date of a day number.
    public static func civil(_ day: Int64) -> (year: Int, month: Int, day: Int) {
        let z = Int(day) + 719_468
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

    /// The Monday starting the week that holds `day` (1970-01-01 was a Thursday).
    public static func weekStart(_ day: Int64) -> Int64 { day - ((day + 3) % 7 + 7) % 7 }

    /// The first day of the month holding `day`.
    public static func monthStart(_ day: Int64) -> Int64 {
        let (y, m, _) = civil(day)
        return Self.day(year: y, month: m, day: 1)
    }

    /// "YYYY-MM-DD".
    /// The day a `YYYY-MM-DD` date names, or nil when it is not one.
    public static func parseDate(_ s: String) -> Int64? {
        let parts = s.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1970...9999).contains(y), (1...12).contains(m), (1...daysIn(month: m, year: y)).contains(d) else { return nil }
        return day(year: y, month: m, day: d)
    }

    public static func dateString(_ day: Int64) -> String {
        let (y, m, d) = civil(day)
        return String(format: "%04d-%02d-%02d", y, m, d)
    }

    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}
