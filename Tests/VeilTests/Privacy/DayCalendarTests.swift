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
