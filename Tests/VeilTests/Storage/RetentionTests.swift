import Foundation
import Testing
import Privacy
@testable import Storage
@testable import App

@Suite("Retention")
struct RetentionTests {
    @Test func purgeDeletesOnlyExpiredDataInSmallTransactions() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let now = TestData.midnight
        let day = TestData.day
        var old: [CleanEvent] = []
        for i in 0..<7 { old.append(TestData.clean(at: now - 400 * day + Int64(i) * 60_000, visitor: UInt8(i + 1))) }
        _ = try await db.insert(old + [
            TestData.clean(at: now - 10 * day, visitor: 50),
            TestData.clean(site: "other.com", at: now - 400 * day, visitor: 60),
        ], sessionTimeoutMillis: 1_800_000)
        // Batches of 3: the seven old events take three transactions.
        let (events, sessions) = try await db.purgeExpired(site: "example.com", cutoff: now - 395 * day, rules: AnalyticsRules(), batchSize: 3)
        #expect(events == 7 && sessions == 7)
        #expect(try await db.eventCount(site: "example.com") == 1)
        #expect(try await db.sessions(site: "example.com").count == 1)
        // Other sites follow their own policy.
        #expect(try await db.eventCount(site: "other.com") == 1)
    }

    @Test func serviceAppliesEachSitesPolicy() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let time = ManualTime(TestData.midnight)
        _ = try await db.insert([
            TestData.clean(at: TestData.midnight - 40 * TestData.day),
            TestData.clean(site: "other.com", at: TestData.midnight - 40 * TestData.day),
        ], sessionTimeoutMillis: 1_800_000)
        let service = RetentionService(database: db, policies: [.init(site: "example.com", eventsDays: 30), .init(site: "other.com", eventsDays: 395)],
                                       clock: time.source, logger: TestData.logger())
        let deleted = await service.purgeOnce()
        #expect(deleted == ["example.com": 1, "other.com": 0])
        #expect(try await db.eventCount(site: "other.com") == 1)
    }

    @Test func retentionIsConfiguredPerSite() throws {
        let dir = TempDir()
        let path = dir.path + "/veil.yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data("""
            sites:
              - domain: a.example
                retention:
                  events_days: 30
              - domain: b.example
            """.utf8))
        let config = try ConfigLoader(environment: [:]).load(file: path)
        #expect(config.sites.map(\.eventsRetentionDays) == [30, 395])
        #expect(config.sites.map(\.replaysRetentionDays) == [30, 30])
        _ = FileManager.default.createFile(atPath: path, contents: Data("sites:\n  - domain: a.example\n    retention:\n      events_days: 0\n".utf8))
        #expect { try ConfigLoader(environment: [:]).load(file: path) } throws: { ($0 as? App.ConfigError)?.line == 4 }
    }
}
