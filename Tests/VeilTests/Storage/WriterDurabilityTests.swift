import CSyncCounter
import Foundation
import Testing
import Storage
@testable import Web

/// A 202 must mean durable on power loss too: the writer connection itself runs with
/// `synchronous=FULL`, and every acknowledged commit syncs the WAL.
@Suite("Writer durability", .serialized)
struct WriterDurabilityTests {
    @Test func writerConnectionReportsTheConfiguredLevel() async throws {
        let dir = TempDir()
        let full = try VeilDatabase.open(folder: dir.path + "/full")
        #expect(try await full.writerSynchronousLevel() == 2)
        let normal = try VeilDatabase.open(folder: dir.path + "/normal", synchronous: .normal)
        #expect(try await normal.writerSynchronousLevel() == 1)
    }

    /// Counts `xSync` calls through a VFS shim, like `strace -e fdatasync` would, for 20
    /// sequential events each answered 202.
    @Test func everyAcknowledgedCommitIsSynced() async throws {
        #expect(veil_sync_counter_install() == 0)
        for mode in [VeilDatabase.Synchronous.full, .normal] {
            let dir = TempDir()
            let folder = dir.path + "/data"
            veil_sync_counter_watch(folder)
            var config = TestData.config(dataDir: folder)
            config.synchronous = mode
            let acked = try await withLiveVeilResult(config) { client in
                // Syncs from opening and migrating do not count.
                veil_sync_counter_watch(folder)
                var acked = 0
                for i in 0..<20 {
                    let r = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/p\#(i)"}"#)
                    if r.status == .accepted { acked += 1 }
                }
                return acked
            }
            let syncs = veil_sync_counter_count()
            veil_sync_counter_watch(nil)
            #expect(acked == 20)
            switch mode {
            case .full: #expect(syncs >= 20, "each of 20 acknowledged commits must sync the WAL; saw \(syncs)")
            case .normal: #expect(syncs < 20, "normal syncs only at checkpoints; saw \(syncs)")
            }
        }
    }

    @Test func dataFolderAndFilesArePrivate() async throws {
        let dir = TempDir()
        let folder = dir.path + "/data"
        // An existing folder and database with loose modes are tightened.
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        do { _ = try VeilDatabase.open(folder: folder) }
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder + "/veil.sqlite")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: folder)
        try await withLiveVeil(TestData.config(dataDir: folder)) { client in
            _ = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#)
            func mode(_ path: String) throws -> Int { (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1 }
            #expect(try mode(folder) == 0o700)
            let files = try FileManager.default.contentsOfDirectory(atPath: folder)
            #expect(files.contains("veil.sqlite") && files.contains("veil.sqlite-wal") && files.contains("secret.key"))
            for file in files {
                #expect(try mode(folder + "/" + file) == 0o600, "\(file)")
            }
        }
    }

    /// A full database (here the `storage.max_database_bytes` cap, as a full disk would):
    /// nothing more is acknowledged, /healthz says why, /metrics counts the failures, and
    /// every event answered 202 is stored.
    @Test func failingCommitsAreRefusedAndReportedByHealth() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        // Room for some events beyond the empty, migrated database.
        let empty = try VeilDatabase.open(folder: dir.path)
        try await empty.checkpoint()
        try empty.close()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: dir.path + "/veil.sqlite")[.size] as? Int)
        config.maxDatabaseBytes = size + 300_000
        config.rateLimits.clientPerSecond = 0
        let acked = try await withLiveVeilResult(config) { client -> Int in
            var acked = 0, refused = 0
            let path = String(repeating: "p", count: 900)
            for round in 0..<300 where refused == 0 {
                let events = (0..<50).map { #"{"name":"pageview","url":"http://localhost/\#(path)/\#(round)/\#($0)"}"# }
                let r = try await client.post("/api/batch", #"{"site":"localhost","events":[\#(events.joined(separator: ","))]}"#)
                if r.status == .accepted { acked += r.json["accepted"] as? Int ?? 0 }
                if r.status == .serviceUnavailable {
                    refused += 1
                    #expect(r.headers[.retryAfter] != nil && r.json["error"] != nil, "\(r.text)")
                }
            }
            #expect(refused == 1, "the cap was reached")
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .serviceUnavailable && health.json["database"] as? String == "commits_failing"
                    && (health.json["reason"] as? String ?? "").contains("full"), "\(health.text)")
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer \(TestData.apiToken)"])
            let failed = metrics.text.split(separator: "\n").first { $0.hasPrefix("veil_commits_failed_total ") }.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
            #expect(failed >= 1, "\(metrics.text)")
            return acked
        }
        let stored = try await VeilDatabase.open(folder: dir.path).events(site: "localhost").count
        #expect(acked > 0 && stored == acked, "acked \(acked), stored \(stored)")
    }
}
