import Foundation
import GRDB
import Testing
@testable import Privacy
@testable import Storage

/// A filtered report's memory must follow the traffic in progress, not the length of the
/// range (issue 10: "bound their memory"). Counted, never timed: the visits a stream holds
/// at once and the (visitor, key) pairs its day counters hold at once, for ranges of 1, 6
/// and 24 days of identical traffic.
@Suite("Filtered reports hold a day's traffic, not the range's")
struct StreamMemoryTests {
    static let site = AnalyticsTests.site
    static let minute: Int64 = 60_000
    static let visitsPerDay = 48
    static let pageviewsPerVisit = 4

    /// `days` days, each with 48 visits of 4 pageviews 2 minutes apart, one every 30 minutes,
    /// every visit by a visitor never seen before.
    static func seed(days: Int) async throws -> (TempDir, VeilDatabase, StatsScope) {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let rules = AnalyticsTests.rules
        let first = rules.calendar.day(of: TestData.midnight)
        for d in 0..<days {
            var batch: [CleanEvent] = []
            for k in 0..<visitsPerDay {
                let start = rules.calendar.start(ofDay: first + Int64(d)) + Int64(k) * 30 * minute
                var visitor = [UInt8](repeating: 7, count: 16)
                visitor[0] = UInt8(d); visitor[1] = UInt8(k)
                for p in 0..<pageviewsPerVisit {
                    var e = AnalyticsTests.ev(start + Int64(p) * 2 * minute, 1, ["/", "/pricing", "/docs", "/blog"][p], referrer: "news.example", channel: .referral)
                    e.visitorCandidates = [visitor]
                    batch.append(e)
                }
            }
            _ = try await db.insert(batch, sessionTimeoutMillis: 30 * minute, rules: [site: rules])
        }
        return (dir, db, StatsScope(site: site, fromDay: first, toDay: first + Int64(days), filters: [StatsFilter(.country, "DE")], rules: rules))
    }

    @Test func heldVisitsAndVisitorKeysDoNotGrowWithTheRange() async throws {
        var peaks: [(sessions: Int, seen: Int)] = []
        for days in [1, 6, 24] {
            let (dir, db, scope) = try await Self.seed(days: days)
            let run = try await db.read { d in try VeilDatabase.streamedCellsMeasured(d, scope, sweepEvery: 8) }
            // Everything was read and counted...
            #expect(run.stream.events == days * Self.visitsPerDay * Self.pageviewsPerVisit)
            #expect(run.stream.sessionsRead == days * Self.visitsPerDay)
            #expect(run.cells.totals(fromDay: scope.fromDay, toDay: scope.toDay).sessions == days * Self.visitsPerDay)
            // ...while at most one sweep's worth of visits was held (visits do not overlap),
            // never the range's.
            #expect(run.stream.peakSessions <= 8, "held \(run.stream.peakSessions) visits of \(days * Self.visitsPerDay)")
            peaks.append((run.stream.peakSessions, run.peakSeen))
            _ = dir
        }
        // Four times the days, the same peaks: the day counters keep one day, and the day
        // before only for the first three hours of the next (6 of its 48 visits here).
        #expect(peaks[2].sessions == peaks[1].sessions)
        #expect(peaks[2].seen == peaks[1].seen, "seen pairs at peak: \(peaks)")
        #expect(peaks[2].seen <= peaks[0].seen * 5 / 4, "one day holds \(peaks[0].seen) pairs; at peak: \(peaks)")
    }
}
