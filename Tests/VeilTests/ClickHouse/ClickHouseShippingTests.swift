import Foundation
import Testing
import Privacy
@testable import Storage

/// The outbox and its shipper: acknowledged means committed locally, whatever ClickHouse
/// does; every acknowledged event arrives exactly once.
@Suite("ClickHouse outbox and shipping", .enabled(if: ClickHouseTestServer.available, "needs Debian's clickhouse-server (.ci/run installs it)"))
struct ClickHouseShippingTests {
    static func events(_ n: Int, from: Int) -> [CleanEvent] {
        (0..<n).map { i in TestData.clean(at: TestData.midnight + Int64(from + i) * 1000, path: "/p\(from + i)", visitor: UInt8((from + i) % 200)) }
    }

    static func count(_ client: ClickHouseClient, _ sql: String) async throws -> Int {
        Int(try await client.rows(sql).first?.first ?? "") ?? -1
    }

    @Test func literalsSurviveHostileText() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let client = try await server.client()
        // Migrating again applies nothing (append-only, recorded).
        #expect(try await ClickHouseSchema(settings: client.settings).migrate(client).isEmpty)
        for text in ["it's", "back\\slash\\", "\\'; DROP TABLE events; --", "line\nbreak\ttab\r", "nul\u{0}byte", "ünïcødé ✓ 🎉", "\u{1}\u{1F}\u{7F}", "%_*"] {
            let got = try await client.rows("SELECT \(ClickHouseSQL.string(text))").first?.first
            #expect(got == text, "\(text.debugDescription) came back as \(got?.debugDescription ?? "nothing")")
        }
        #expect(try await Self.count(client, "SELECT count() FROM events") == 0)
    }

    /// A client that retries sends the same event ID again, to this node or another: it is
    /// stored once, as SQLite drops it at ingest. Events without an ID are never folded,
    /// and an ID is a site's own.
    @Test func retriedClientIDsAreStoredOnceAcrossNodes() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        let a = try await server.client(node: "node-a")
        var settingsB = a.settings
        settingsB.node = "node-b"
        let b = try ClickHouseClient(settings: settingsB)
        func event(_ id: String?, at s: Int64, site: String = "example.com") -> CleanEvent {
            var e = TestData.clean(at: TestData.midnight + s * 1000, path: "/\(id ?? "none")", visitor: 1)
            e.site = site
            e.clientID = id
            return e
        }
        let dir = TempDir()
        let nodeA = try VeilDatabase.open(folder: dir.path + "/a"), nodeB = try VeilDatabase.open(folder: dir.path + "/b")
        let gaugeA = OutboxGauge(), gaugeB = OutboxGauge()
        let shipA = ShippingService(database: nodeA, client: a, gauge: gaugeA, logger: TestData.logger())
        let shipB = ShippingService(database: nodeB, client: b, gauge: gaugeB, logger: TestData.logger())
        // Node A: x1, x2, x2 again in the same request, two events without an ID.
        _ = try await nodeA.appendToOutbox([event("x1", at: 1), event("x2", at: 2), event("x2", at: 2), event(nil, at: 3), event(nil, at: 3)], now: 0)
        while try await shipA.shipOnce(verify: false) > 0 {}
        // Node B, later: x1 retried (a minute on), x3, and x1 on another site.
        _ = try await nodeB.appendToOutbox([event("x1", at: 61), event("x3", at: 62), event("x1", at: 63, site: "other.example")], now: 0)
        while try await shipB.shipOnce(verify: false) > 0 {}
        #expect(try await Self.count(a, "SELECT count() FROM events") == 6)
        #expect(try await a.rows("SELECT site, client_id, count() FROM events GROUP BY site, client_id ORDER BY site, client_id").map { $0.joined(separator: " ") }
                == ["example.com  2", "example.com x1 1", "example.com x2 1", "example.com x3 1", "other.example x1 1"])
        // The copy kept is the first one shipped.
        #expect(try await a.rows("SELECT node FROM events WHERE client_id = 'x1' AND site = 'example.com'").first?.first == "node-a")
        #expect(gaugeA.duplicates.load(ordering: .relaxed) == 1 && gaugeB.duplicates.load(ordering: .relaxed) == 1)
        #expect(try await nodeA.outboxState().depth == 0)
        #expect(try await nodeB.outboxState().depth == 0)
    }

    /// A full default-sized batch of the longest IDs (5,000 x 64 characters: more than
    /// ClickHouse's 256 KiB query limit as one list) is checked in parts, and its retry from
    /// another node is dropped whole.
    @Test func aFullBatchOfLongIDsIsCheckedInParts() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        var settings = try await server.client(node: "node-a").settings
        settings.shipBatchEvents = 5_000
        let a = try ClickHouseClient(settings: settings)
        settings.node = "node-b"
        let b = try ClickHouseClient(settings: settings)
        let events = (0..<5_000).map { i -> CleanEvent in
            var e = TestData.clean(at: TestData.midnight + Int64(i) * 1000, path: "/p", visitor: 1)
            e.clientID = String(format: "%064d", i)
            return e
        }
        #expect(ClickHouseSQL.lists(events.map { ClickHouseSQL.string($0.clientID ?? "") }).count == 6)
        let dir = TempDir()
        let nodeA = try VeilDatabase.open(folder: dir.path + "/a"), nodeB = try VeilDatabase.open(folder: dir.path + "/b")
        let gaugeB = OutboxGauge()
        _ = try await nodeA.appendToOutbox(events, now: 0)
        #expect(try await ShippingService(database: nodeA, client: a, gauge: OutboxGauge(), logger: TestData.logger()).shipOnce(verify: false) == 5_000)
        _ = try await nodeB.appendToOutbox(events, now: 0)
        #expect(try await ShippingService(database: nodeB, client: b, gauge: gaugeB, logger: TestData.logger()).shipOnce(verify: false) == 5_000)
        #expect(try await Self.count(a, "SELECT count() FROM events") == 5_000)
        #expect(gaugeB.duplicates.load(ordering: .relaxed) == 5_000)
        #expect(ClickHouseSQL.lists([]).isEmpty && ClickHouseSQL.lists(["'abcdefgh'"], maxBytes: 4) == ["'abcdefgh'"])
        #expect(ClickHouseSQL.lists(["'a'", "'b'", "'c'"], maxBytes: 10) == ["'a', 'b'", "'c'"])
    }

    /// ClickHouse stops during sustained ingest: every submit is still acknowledged (the
    /// outbox commits), shipping fails and backs off, and once ClickHouse is back every
    /// event is there exactly once. A batch that landed but whose answer was lost (the
    /// node died before deleting it) is not stored twice.
    @Test func clickHouseDownThenBackLosesAndDoublesNothing() async throws {
        let server = try ClickHouseTestServer()
        defer { server.stop() }
        // A short request deadline, so an attempt while ClickHouse is down fails (and is
        // counted) within the test instead of waiting for the server to return.
        let client = try ClickHouseClient(settings: try await server.client(node: "node-a").settings, timeout: .seconds(1))
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let gauge = OutboxGauge()
        let writer = EventWriter(database: db, settings: EventWriter.Settings(), sites: LiveSites(rules: [:]), logger: TestData.logger(),
                                 outbox: EventWriter.Outbox(gauge: gauge, maxEvents: 1_000_000, clock: .system))
        let writerTask = Task { await writer.run() }
        let shipper = ShippingService(database: db, client: client, gauge: gauge, logger: TestData.logger(),
                                      pollInterval: .milliseconds(20), maxBackoff: .milliseconds(200))
        let shipping = Task { try await shipper.run() }

        var acknowledged = 0
        var round = 0
        func ingest() async throws {
            let outcomes = try await writer.submit(Self.events(100, from: round * 100))
            acknowledged += outcomes.filter { $0 == .stored }.count
            round += 1
            try await Task.sleep(for: .milliseconds(30))
        }
        while round < 10 { try await ingest() }
        server.stop()
        // Ingest goes on while ClickHouse is down, until shipping has failed at least once
        // (bounded), then 10 more rounds; then ClickHouse comes back.
        for _ in 0..<200 where gauge.failures.load(ordering: .relaxed) == 0 { try await ingest() }
        for _ in 0..<10 { try await ingest() }
        let whileDown = round * 100
        #expect(try await db.outboxState().depth > 0)
        try server.start()
        for _ in 0..<10 { try await ingest() }
        let total = round * 100
        #expect(acknowledged == total && total > whileDown)
        // Everything arrives (bounded wait: the outbox empties).
        for _ in 0..<600 where try await db.outboxState().depth > 0 { try await Task.sleep(for: .milliseconds(100)) }
        shipping.cancel()
        _ = await shipping.result
        await writer.stop()
        await writerTask.value
        #expect(try await db.outboxState().depth == 0)
        #expect(gauge.failures.load(ordering: .relaxed) > 0, "shipping never failed: ClickHouse was not down while events were shipped")
        #expect(try await Self.count(client, "SELECT count() FROM events") == total)
        #expect(try await Self.count(client, "SELECT uniqExact(node, seq) FROM events") == total)

        // The node dies after ClickHouse stored a batch and before the outbox row was
        // deleted: on restart the shipper checks first and sends only what is missing.
        _ = try await db.appendToOutbox(Self.events(50, from: total + 1000), now: 0)
        let pending = try await db.outboxBatch(limit: 100)
        var body: [UInt8] = []
        for row in pending.prefix(30) { ClickHouseRow.line(node: "node-a", seq: row.seq, row: row.row, into: &body) }
        try await client.insert(table: "events", jsonLines: body)   // 30 of 50 landed
        let restarted = ShippingService(database: db, client: client, gauge: OutboxGauge(), logger: TestData.logger())
        #expect(try await restarted.shipOnce(verify: true) == 50)
        #expect(try await Self.count(client, "SELECT count() FROM events") == total + 50)
        #expect(try await Self.count(client, "SELECT uniqExact(node, seq) FROM events") == total + 50)
    }

    /// The outbox is bounded: past `outbox_max_events` unshipped events the writer refuses
    /// (ingest answers 503 outbox_full) instead of filling the disk.
    @Test func fullOutboxRefuses() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let gauge = OutboxGauge()
        let writer = EventWriter(database: db, settings: EventWriter.Settings(), sites: LiveSites(rules: [:]), logger: TestData.logger(),
                                 outbox: EventWriter.Outbox(gauge: gauge, maxEvents: 1000, clock: .system))
        let task = Task { await writer.run() }
        _ = try await writer.submit(Self.events(900, from: 0))
        #expect(gauge.depth.load(ordering: .relaxed) == 900)
        await #expect(throws: StorageError.self) { _ = try await writer.submit(Self.events(101, from: 900)) }
        _ = try await writer.submit(Self.events(100, from: 900))
        #expect(try await db.outboxState().depth == 1000)
        await writer.stop()
        await task.value
    }
}

/// Under CI the ClickHouse suites must run, not skip: `.ci/run` installs the server.
@Test func ciHasClickHouse() {
    if ProcessInfo.processInfo.environment["CI"] == "true" {
        #expect(ClickHouseTestServer.available, "CI=true but \(ClickHouseTestServer.binary) is missing: the ClickHouse suites would skip")
        #expect(ClickHouseTestCluster.available, "CI=true but zookeeper is missing: the cluster suite would skip")
    }
}
