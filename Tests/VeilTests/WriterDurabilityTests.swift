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
        let full = try VeilDatabase(folder: dir.path + "/full")
        #expect(try await full.writerSynchronousLevel() == 2)
        let normal = try VeilDatabase(folder: dir.path + "/normal", synchronous: .normal)
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
        do { _ = try VeilDatabase(folder: folder) }
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
}
