import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Privacy
@testable import Storage
@testable import Web

/// A site on its own clock over HTTP: "today", the chart's hours, the API's dates and
/// the dashboard all follow the site's zone and say which.
@Suite("Per-site time zones over HTTP")
struct TimeZoneTests {
    @Test func aKathmanduSiteCountsALateUTCEveningAsItsNextDay() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.sites[0].analytics.calendar = try #require(DayCalendar(identifier: "Asia/Kathmandu"), "tzdata is missing")
        // 2026-12-03 18:20 UTC is 2026-12-04 00:05 in Kathmandu (UTC+5:45).
        let day = DayCalendar.day(year: 2026, month: 12, day: 4)
        let clock = ManualTime(DayCalendar.utc.start(ofDay: day - 1) + 18 * DayCalendar.millisPerHour + 20 * 60_000)
        try await withLiveVeil(config, clock: clock.source) { client in
            let r = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/late"}"#)
            #expect(r.status == .accepted, "\(r.text)")
            let bearer: HTTPFields = [.authorization: "Bearer \(TestData.apiToken)"]
            let overview = try await client.execute(uri: "/api/stats/overview?site=localhost&range=today", method: .get, headers: bearer)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(overview.text.utf8)) as? [String: Any], "\(overview.text)")
            #expect(json["timezone"] as? String == "Asia/Kathmandu" && json["from"] as? String == "2026-12-04" && json["pageviews"] as? Int == 1, "\(overview.text)")
            let series = try await client.execute(uri: "/api/stats/series?site=localhost&range=today&granularity=hour", method: .get, headers: bearer)
            let points = try #require((try JSONSerialization.jsonObject(with: Data(series.text.utf8)) as? [String: Any])?["series"] as? [[String: Any]], "\(series.text)")
            #expect(points.count == 24 && points.first?["start"] as? String == "2026-12-04 00:00")
            #expect(points.filter { ($0["pageviews"] as? Int ?? 0) > 0 }.map { $0["start"] as? String } == ["2026-12-04 00:00"], "\(series.text)")
            let yesterday = try await client.execute(uri: "/api/stats/overview?site=localhost&range=yesterday", method: .get, headers: bearer)
            #expect(yesterday.text.contains("\"from\":\"2026-12-03\"") && yesterday.text.contains("\"pageviews\":0"), "\(yesterday.text)")
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            let page = try await client.execute(uri: "/sites/localhost?range=today", method: .get, headers: jar.header)
            #expect(page.text.contains("2026-12-04 (Asia/Kathmandu)"), "the dashboard names the zone")
        }
    }
}
