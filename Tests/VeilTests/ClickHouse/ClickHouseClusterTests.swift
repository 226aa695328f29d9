import Foundation
import Testing
@testable import Privacy
@testable import Storage

/// `clickhouse.cluster`: the schema as replicated tables with distributed tables over them
/// (one shard of two replicas and a ZooKeeper of the test's own), shipping, the known
/// dataset's answers from either replica, erasure and retention as mutations on every shard.
@Suite("ClickHouse cluster mode", .enabled(if: ClickHouseTestCluster.available, "needs Debian's clickhouse-server and zookeeper (.ci/run installs them)"))
struct ClickHouseClusterTests {
    typealias A = AnalyticsTests

    @Test func replicatedTablesAnswerLikeSQLiteFromEitherReplica() async throws {
        let cluster = try ClickHouseTestCluster()
        defer { cluster.stop() }
        let database = "veil_cluster_\(UInt32.random(in: 0...UInt32.max))"
        let first = try ClickHouseClient(settings: cluster.settings(replica: 0, database: database, node: "node-a"))
        let second = try ClickHouseClient(settings: cluster.settings(replica: 1, database: database, node: "node-b"))
        let applied = try await ClickHouseSchema(settings: first.settings).migrate(first)
        #expect(applied.count == 3, "\(applied)")
        // Another node migrating the same cluster applies nothing again.
        #expect(try await ClickHouseSchema(settings: second.settings).migrate(second).isEmpty)
        for (i, client) in [first, second].enumerated() {
            let engines = try await client.rows("SELECT name, engine FROM system.tables WHERE database = '\(database)' ORDER BY name").map { $0.joined(separator: " ") }
            #expect(engines.contains("events Distributed") && engines.contains("events_local ReplicatedReplacingMergeTree")
                    && engines.contains("feedback_local ReplicatedReplacingMergeTree") && engines.contains("salts_local ReplicatedMergeTree"),
                    "replica \(i + 1): \(engines)")
        }

        let (sqlite, ch, dir) = try await ClickHouseQueryTests.load(A.dataset.map { [$0] }, rules: A.rules, server: cluster.servers[0], client: first)
        defer { withExtendedLifetime(dir) {} }
        let total = try await sqlite.eventCount(site: A.site)
        // The distributed insert answered once its shard had the rows; the other replica
        // fetches them (bounded wait).
        for _ in 0..<300 where try await second.rows("SELECT count() FROM events_local").first?.first != String(total) {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try await second.rows("SELECT count() FROM events_local").first?.first == String(total))
        let other = ClickHouseStats(client: second, sessionTimeoutMillis: 30 * A.minute)
        for (label, stats) in [("replica 1", ch), ("replica 2", other)] {
            try await ClickHouseQueryTests.compare(sqlite, stats, A.scope(from: A.day - 1), "\(label), two days")
            try await ClickHouseQueryTests.compare(sqlite, stats, A.scope([StatsFilter(.page, "/pricing")]), "\(label), page filter")
            try await ClickHouseQueryTests.comparePaths(sqlite, stats, A.scope(from: A.day - 1), "\(label), two days")
        }

        // Salts agreed through the distributed table, forgotten by a mutation on every shard.
        let salts = SharedSalts(client: first)
        let salt = try await salts.agreedSalt(day: A.day, proposal: Array(repeating: 7, count: 16))
        #expect(try await SharedSalts(client: second).agreedSalt(day: A.day, proposal: Array(repeating: 9, count: 16)) == salt)
        try await salts.forget(before: A.day + 1)

        // Erasure: a mutation on every shard, confirmed through the distributed table.
        let visitor = Array(repeating: UInt8(2), count: 16)
        let subjects = ClickHouseSubjects(client: first)
        let before = try await subjects.events(site: A.site, subject: .visitor(visitor)).count
        #expect(before > 0)
        let erased = try await subjects.erase(site: A.site, subject: .visitor(visitor))
        #expect(erased["clickhouse_events"] == before, "\(erased)")
        for client in [first, second] {
            for _ in 0..<300 where try await client.rows("SELECT count() FROM events_local WHERE visitor = '\(visitor.hexString)'").first?.first != "0" {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await client.rows("SELECT count() FROM events_local WHERE visitor = '\(visitor.hexString)'").first?.first == "0")
        }
        // Retention: everything before day D goes on both replicas.
        let cutoff = TestData.midnight
        _ = try await subjects.purgeExpired(site: A.site, cutoff: cutoff)
        for client in [first, second] {
            for _ in 0..<300 where try await client.rows("SELECT count() FROM events_local WHERE ts < \(cutoff)").first?.first != "0" {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try await client.rows("SELECT count() FROM events_local WHERE ts < \(cutoff)").first?.first == "0")
        }
    }
}
