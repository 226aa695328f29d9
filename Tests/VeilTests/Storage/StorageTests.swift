import Foundation
import Testing
import Privacy
@testable import Storage

@Suite("Storage: writer, sessions, salts")
struct StorageTests {
    @Test func writerAcknowledgesOnlyCommittedEvents() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let writer = EventWriter(database: db, settings: .init(), logger: TestData.logger())
        let loop = Task { await writer.run() }
        let outcomes = try await writer.submit([TestData.clean(at: 1000), TestData.clean(at: 2000, name: "Signup")])
        #expect(outcomes == [.stored, .stored])
        // A second, independent connection sees them: the ack came after the commit.
        let other = try VeilDatabase.open(folder: dir.path)
        #expect(try await other.eventCount(site: "example.com") == 2)
        await writer.stop()
        await loop.value
    }

    @Test func duplicateIDsAreStoredOnce() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let writer = EventWriter(database: db, settings: .init(), logger: TestData.logger())
        let loop = Task { await writer.run() }
        #expect(try await writer.submit([TestData.clean(at: 1, clientID: "id-1"), TestData.clean(at: 2, clientID: "id-1")]) == [.stored, .duplicate])
        #expect(try await writer.submit([TestData.clean(at: 3, clientID: "id-1")]) == [.duplicate])
        // The same ID on another site is a different event.
        #expect(try await writer.submit([TestData.clean(site: "other.com", at: 4, clientID: "id-1")]) == [.stored])
        #expect(try await db.eventCount(site: "example.com") == 1)
        await writer.stop()
        await loop.value
    }

    @Test func boundedQueueRefusesInsteadOfGrowing() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        var settings = EventWriter.Settings()
        settings.capacity = 3
        settings.flushEvents = 1000
        settings.flushInterval = .seconds(30)
        let writer = EventWriter(database: db, settings: settings, logger: TestData.logger())
        // No run loop yet: nothing drains, so the queue fills.
        let first = Task { try await writer.submit([TestData.clean(at: 1), TestData.clean(at: 2)]) }
        while await writer.queuedEvents < 2 { await Task.yield() }
        await #expect(throws: StorageError.self) { try await writer.submit([TestData.clean(at: 3), TestData.clean(at: 4)]) }
        do { _ = try await writer.submit([TestData.clean(at: 3), TestData.clean(at: 4)]) } catch {
            guard case .queueFull = error else { Issue.record("expected queueFull, got \(error)"); return }
        }
        // Stopping drains what was accepted.
        let loop = Task { await writer.run() }
        await writer.stop()
        await loop.value
        #expect(try await first.value == [.stored, .stored])
        #expect(try await db.eventCount(site: "example.com") == 2)
        await #expect(throws: StorageError.self) { try await writer.submit([TestData.clean(at: 5)]) }
    }

    @Test func flushesAtBatchSizeWithoutWaitingForTheInterval() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        var settings = EventWriter.Settings()
        settings.flushEvents = 2
        settings.flushInterval = .seconds(3600)
        let writer = EventWriter(database: db, settings: settings, logger: TestData.logger())
        let loop = Task { await writer.run() }
        // If the writer waited for the interval this would hang for an hour; it commits at 2 events.
        #expect(try await writer.submit([TestData.clean(at: 1), TestData.clean(at: 2)]) == [.stored, .stored])
        await writer.stop()
        await loop.value
    }

    @Test func sessionsSplitAfterThirtyMinutesOfInactivity() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let t0 = TestData.midnight + 10 * 3_600_000
        let minute: Int64 = 60_000
        _ = try await db.insert([
            TestData.clean(at: t0, path: "/"),
            TestData.clean(at: t0 + 5 * minute, path: "/pricing"),
            TestData.clean(at: t0 + 6 * minute, name: "Signup", path: "/pricing"),
            TestData.clean(at: t0 + 40 * minute, path: "/docs"),        // 34 min gap: new session
            TestData.clean(at: t0 + 41 * minute, path: "/", visitor: 2),  // another visitor
        ], sessionTimeoutMillis: 30 * minute)
        let sessions = try await db.sessions(site: "example.com")
        #expect(sessions.count == 3)
        #expect(sessions[0].entryPath == "/" && sessions[0].exitPath == "/pricing")
        #expect(sessions[0].pageviews == 2 && sessions[0].events == 3)
        #expect(sessions[0].lastSeen - sessions[0].startedAt == 6 * minute)
        #expect(sessions[1].entryPath == "/docs" && sessions[1].pageviews == 1)
        let day = TestData.midnight / TestData.day
        let totals = try await db.totals(StatsScope(site: "example.com", fromDay: day, toDay: day + 1))
        #expect(totals.sessions == 3)
        #expect(totals.bounces == 2)
        #expect(totals.pageviews == 4)
        #expect(totals.visitors == 2)
        #expect(totals.durationMillis == 6 * minute)
    }

    @Test func saltsRotateAtMidnightAndAreDeletedAfter48Hours() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let time = ManualTime(TestData.midnight + 3_600_000)
        let random = CountingRandom()
        let keeper = SaltKeeper(database: db, clock: time.source, random: { random.source(32) })
        let day0 = try await keeper.current()
        #expect(day0.previous == nil)
        time.advance(TestData.day)
        let day1 = try await keeper.current()
        #expect(day1.previous == day0.current)
        #expect(day1.current != day0.current)
        time.advance(TestData.day)
        let day2 = try await keeper.current()
        #expect(day2.previous == day1.current)
        let base = SaltSchedule.day(ofMillis: TestData.midnight)
        #expect(try await db.saltDays() == [base + 1, base + 2])
        // The first salt's bytes are gone from the file after a checkpoint (secure_delete).
        try await db.checkpoint()
        let bytes = dir.allBytes().map(\.1)
        #expect(!bytes.contains { $0.contains(bytes: day0.current) })
        // And the same IP and UA now hash to something unrelated to the old value.
        let old = VisitorHasher.hash(salt: day0.current, site: "example.com", clientIP: "203.0.113.1", userAgent: "UA")
        let new = VisitorHasher.hash(salt: day2.current, site: "example.com", clientIP: "203.0.113.1", userAgent: "UA")
        #expect(old != new)
    }

    @Test func sessionContinuesAcrossMidnight() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let saltA = Array(repeating: UInt8(1), count: 32), saltB = Array(repeating: UInt8(2), count: 32)
        func hash(_ salt: [UInt8]) -> [UInt8] { VisitorHasher.hash(salt: salt, site: "example.com", clientIP: "203.0.113.5", userAgent: "UA") }
        let beforeMidnight = TestData.midnight - 10 * 60_000
        let afterMidnight = TestData.midnight + 10 * 60_000
        _ = try await db.insert([TestData.clean(at: beforeMidnight, path: "/a", candidates: [hash(saltA)])], sessionTimeoutMillis: 1_800_000)
        // After midnight today's salt is B; the previous salt A is still offered.
        _ = try await db.insert([TestData.clean(at: afterMidnight, path: "/b", candidates: [hash(saltB), hash(saltA)])], sessionTimeoutMillis: 1_800_000)
        let sessions = try await db.sessions(site: "example.com")
        #expect(sessions.count == 1)
        #expect(sessions[0].entryPath == "/a" && sessions[0].exitPath == "/b" && sessions[0].pageviews == 2)
        let events = try await db.events(site: "example.com")
        #expect(events.map(\.visitor) == [hash(saltA), hash(saltA)])
        // A new visit the next morning, after the session ended, uses today's salt.
        _ = try await db.insert([TestData.clean(at: afterMidnight + 3_600_000, path: "/c", candidates: [hash(saltB), hash(saltA)])], sessionTimeoutMillis: 1_800_000)
        #expect(try await db.sessions(site: "example.com").count == 2)
        #expect(try await db.events(site: "example.com").last?.visitor == hash(saltB))
    }

    @Test func timeSeriesFillsEmptyBuckets() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let hour: Int64 = 3_600_000
        _ = try await db.insert([TestData.clean(at: TestData.midnight + hour + 5), TestData.clean(at: TestData.midnight + 3 * hour, visitor: 2)], sessionTimeoutMillis: 1_800_000)
        let day = TestData.midnight / TestData.day
        let series = try await db.series(StatsScope(site: "example.com", fromDay: day, toDay: day + 1), granularity: .hour)
        #expect(series.count == 24)
        #expect(series.map(\.pageviews).reduce(0, +) == 2)
        #expect(series[1].pageviews == 1 && series[3].visitors == 1 && series[2].pageviews == 0)
    }
}
