import Foundation

/// The one calendar: how instants (milliseconds since 1970) map to days and hours, and
/// day-number arithmetic (civil dates, Monday weeks, months). Every bucket, range,
/// salt day, chart and date string goes through it.
///
/// Two halves, on purpose. Day numbers (days since 1970-01-01) and their civil dates
/// do not depend on a zone: the static functions. Mapping an instant to a day or an
/// hour, and a day back to its first instant, does: the instance functions, today in
/// UTC (`DayCalendar.utc`). Per-site time zones become other instances whose instance
/// functions apply the zone's offset; nothing that works on day numbers changes.
public struct DayCalendar: Sendable, Equatable {
    public static let utc = DayCalendar()
    public static let millisPerDay: Int64 = 86_400_000
    public static let millisPerHour: Int64 = 3_600_000

    public init() {}

    // MARK: Instants (zone-dependent)

    /// The day holding the instant.
    public func day(of ms: Int64) -> Int64 { Self.floorDiv(ms, Self.millisPerDay) }

    /// The hour holding the instant, counted from 1970-01-01 00:00.
    public func hour(of ms: Int64) -> Int64 { Self.floorDiv(ms, Self.millisPerHour) }

    /// The first instant of a day.
    public func start(ofDay day: Int64) -> Int64 { day * Self.millisPerDay }

    /// The hour numbers of a day (24 in UTC; 23 or 25 on a zone's clock-change days).
    public func hours(ofDay day: Int64) -> Range<Int64> { hour(of: start(ofDay: day))..<hour(of: start(ofDay: day + 1)) }

    /// The hour numbers of the days `[fromDay, toDay)`.
    public func hours(fromDay: Int64, toDay: Int64) -> Range<Int64> { hour(of: start(ofDay: fromDay))..<hour(of: start(ofDay: toDay)) }

    /// The first instant of an hour number.
    public func start(ofHour hour: Int64) -> Int64 { hour * Self.millisPerHour }

    /// "YYYY-MM-DD HH:MM".
    public func dateTime(_ ms: Int64) -> String {
        let day = day(of: ms)
        let rest = ms - start(ofDay: day)
        return Self.dateString(day) + String(format: " %02d:%02d", rest / Self.millisPerHour, rest % Self.millisPerHour / 60_000)
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

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}
