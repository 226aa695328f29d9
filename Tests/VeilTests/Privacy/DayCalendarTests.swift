import Privacy
import Testing

@Suite("One calendar: days, hours, weeks, months and date strings")
struct DayCalendarTests {
    let utc = DayCalendar.utc

    @Test func instantsMapToDaysAndHoursAroundTheEpoch() {
        #expect(utc.day(of: 0) == 0 && utc.day(of: -1) == -1 && utc.day(of: DayCalendar.millisPerDay - 1) == 0)
        #expect(utc.hour(of: -1) == -1 && utc.hour(of: DayCalendar.millisPerHour) == 1)
        let day = DayCalendar.day(year: 2026, month: 12, day: 4)
        #expect(utc.day(of: utc.start(ofDay: day)) == day && utc.day(of: utc.start(ofDay: day) - 1) == day - 1)
        #expect(utc.hours(ofDay: day).count == 24 && utc.hours(fromDay: day, toDay: day + 7).count == 168)
        #expect(utc.hour(of: utc.start(ofHour: utc.hours(ofDay: day).lowerBound)) == utc.hours(ofDay: day).lowerBound)
    }

    @Test func civilDatesWeeksAndMonths() {
        #expect(DayCalendar.day(year: 1970, month: 1, day: 1) == 0)
        #expect(DayCalendar.dateString(DayCalendar.day(year: 2024, month: 2, day: 29)) == "2024-02-29")
        // Every day of four years (a leap year among them) round-trips through its date.
        for day in Int64(19_000)..<Int64(19_000 + 4 * 366) {
            let (y, m, d) = DayCalendar.civil(day)
            #expect(DayCalendar.day(year: y, month: m, day: d) == day)
            #expect((1...DayCalendar.daysIn(month: m, year: y)).contains(d))
        }
        // 2026-12-04 is a Friday: its week starts on Monday 2026-11-30; its month on the 1st.
        let friday = DayCalendar.day(year: 2026, month: 12, day: 4)
        #expect(DayCalendar.dateString(DayCalendar.weekStart(friday)) == "2026-11-30")
        #expect(DayCalendar.weekStart(DayCalendar.weekStart(friday)) == DayCalendar.weekStart(friday))
        #expect(DayCalendar.dateString(DayCalendar.monthStart(friday)) == "2026-12-01")
        #expect(DayCalendar.daysIn(month: 2, year: 1900) == 28 && DayCalendar.daysIn(month: 2, year: 2000) == 29)
        #expect(utc.dateTime(utc.start(ofDay: friday) + 13 * DayCalendar.millisPerHour + 5 * 60_000) == "2026-12-04 13:05")
    }
}

@Suite("Zoned calendar: clock changes, half- and three-quarter-hour offsets")
struct ZonedCalendarTests {
    func zone(_ name: String) throws -> DayCalendar { try #require(DayCalendar(identifier: name), "\(name) is missing from the zone database (tzdata)") }
    func hoursLong(_ c: DayCalendar, _ y: Int, _ m: Int, _ d: Int) -> Int64 {
        let day = DayCalendar.day(year: y, month: m, day: d)
        return (c.start(ofDay: day + 1) - c.start(ofDay: day)) / DayCalendar.millisPerHour
    }

    @Test func daysOf23And25Hours() throws {
        let berlin = try zone("Europe/Berlin"), newYork = try zone("America/New_York")
        #expect(hoursLong(berlin, 2026, 3, 29) == 23 && hoursLong(berlin, 2026, 10, 25) == 25 && hoursLong(berlin, 2026, 6, 1) == 24)
        #expect(hoursLong(newYork, 2026, 3, 8) == 23 && hoursLong(newYork, 2026, 11, 1) == 25)
        // Every instant of those days maps back to its day, and local midnight is the start.
        for (c, y, m, d) in [(berlin, 2026, 3, 29), (berlin, 2026, 10, 25), (newYork, 2026, 3, 8), (newYork, 2026, 11, 1)] {
            let day = DayCalendar.day(year: y, month: m, day: d)
            let start = c.start(ofDay: day), end = c.start(ofDay: day + 1)
            #expect(c.day(of: start) == day && c.day(of: end - 1) == day && c.day(of: end) == day + 1)
            #expect(c.dateTime(start) == DayCalendar.dateString(day) + " 00:00")
            var ms = start
            while ms < end { #expect(c.hours(ofDay: day).contains(c.hour(of: ms))); ms += 15 * 60_000 }
        }
        // Berlin is UTC+1 in winter: its day starts at 23:00 UTC the evening before.
        let winter = DayCalendar.day(year: 2026, month: 1, day: 15)
        #expect(DayCalendar.utc.dateTime(berlin.start(ofDay: winter)) == "2026-01-14 23:00")
        #expect(berlin.identifier == "Europe/Berlin" && DayCalendar(identifier: "UTC") == .utc && DayCalendar(identifier: "Not/AZone") == nil)
    }

    @Test func halfAndThreeQuarterHourZones() throws {
        let kolkata = try zone("Asia/Kolkata"), kathmandu = try zone("Asia/Kathmandu")
        let day = DayCalendar.day(year: 2026, month: 12, day: 4)
        #expect(DayCalendar.utc.dateTime(kolkata.start(ofDay: day)) == "2026-12-03 18:30")
        #expect(DayCalendar.utc.dateTime(kathmandu.start(ofDay: day)) == "2026-12-03 18:15")
        #expect(hoursLong(kolkata, 2026, 12, 4) == 24 && hoursLong(kathmandu, 2026, 12, 4) == 24)
        // 18:20 UTC is still the 3rd in Kolkata (23:50) and already the 4th in Kathmandu (00:05).
        let t = DayCalendar.utc.start(ofDay: day - 1) + 18 * DayCalendar.millisPerHour + 20 * 60_000
        #expect(kolkata.day(of: t) == day - 1 && kathmandu.day(of: t) == day)
        #expect(kathmandu.dateTime(t) == "2026-12-04 00:05" && kathmandu.hour(of: t) == day * 24)
        #expect(kolkata.start(ofHour: kolkata.hour(of: t)) == t - 50 * 60_000)
    }
}
