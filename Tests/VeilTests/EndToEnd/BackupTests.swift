import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Privacy
import Storage
import Synchronization
import Testing
@testable import Web

/// `veil backup` and `veil restore` (issue 14): an online copy under ingest load holds every
/// event acknowledged before it began, restores into a new folder with the same numbers,
/// and keeps sign-in sessions working (the secret comes along).
@Suite("Backup and restore")
struct BackupTests {
    static func batch(_ ids: [String]) -> String {
        #"{"site":"localhost","events":["# + ids.enumerated().map { i, id in
            #"{"name":"pageview","url":"http://localhost/p\#(i % 5)","id":"\#(id)"}"#
        }.joined(separator: ",") + "]}"
    }

    @Test func aBackupUnderLoadRestoresEveryAcknowledgedEventAndSignIn() async throws {
        let dir = TempDir(), out = TempDir()
        let config = TestData.config(dataDir: dir.path)
        let underLoad = out.path + "/under-load", quiet = out.path + "/quiet"
        let acknowledged = Mutex<[String]>([])
        let (cookie, overview) = try await withLiveVeilResult(config) { client in
            var jar = Jar()
            let signedIn = try await DashboardTests().signIn(client, jar: &jar)
            #expect(signedIn.status == .seeOther)
            let db = try VeilDatabase.open(folder: dir.path)
            // Some acknowledged events, then a backup while more keep arriving.
            for round in 0..<5 {
                let ids = (0..<20).map { "before-\(round)-\($0)" }
                #expect(try await client.post("/api/batch", Self.batch(ids)).status == .accepted)
                acknowledged.withLock { $0 += ids }
            }
            let stop = Atomic<Bool>(false)
            async let load: Int = {
                var sent = 0
                while !stop.load(ordering: .relaxed) && sent < 5_000 {
                    let ids = (0..<20).map { "during-\(sent + $0)" }
                    if try await client.post("/api/batch", Self.batch(ids)).status == .accepted { sent += 20 }
                }
                return sent
            }()
            let summary = try await Backup.create(database: db, dataDir: dir.path, destination: underLoad, now: 0)
            stop.store(true, ordering: .relaxed)
            let during = try await load
            #expect(summary.events >= 100 && summary.files.map(\.name) == ["veil.sqlite", "secret.key"])
            #expect(during > 0, "no ingest ran during the backup")
            // Quiet now: a second backup equals the folder exactly.
            _ = try await Backup.create(database: db, dataDir: dir.path, destination: quiet, now: 0)
            let overview = try await client.execute(uri: "/api/stats/overview?site=localhost&range=today", method: .get, headers: bearer).text
            return (jar, overview)
        }
        // Under load: every event acknowledged before the backup began, rollups that agree with the raw rows.
        let restored = out.path + "/restored"
        var target = config
        target.dataDir = restored
        _ = try Backup.restore(from: underLoad, to: restored, now: 0)
        let copy = try VeilDatabase.open(folder: restored)
        let held = Set(try await copy.events(site: "localhost").compactMap(\.clientID))
        let missing = acknowledged.withLock { $0.filter { !held.contains($0) } }
        #expect(missing.isEmpty, "\(missing.count) acknowledged events are missing from the backup")
        let today = DayCalendar.utc.day(of: Int64(Date().timeIntervalSince1970 * 1000))
        try await AnalyticsTests.assertConsistent(copy, site: "localhost", rules: AnalyticsRules(), days: (today - 1)...today)
        // Quiet: the same dashboard numbers, and the sign-in made before still works.
        let restoredQuiet = out.path + "/restored-quiet"
        let result = try Backup.restore(from: quiet, to: restoredQuiet, now: 0)
        #expect(result.replaced == nil)
        target.dataDir = restoredQuiet
        try await withLiveVeil(target) { client in
            let again = try await client.execute(uri: "/api/stats/overview?site=localhost&range=today", method: .get, headers: bearer).text
            #expect(Self.withoutRealtime(again) == Self.withoutRealtime(overview))
            let page = try await client.execute(uri: "/sites/localhost?range=today", method: .get, headers: cookie.header)
            #expect(page.status == .ok, "the sign-in session did not survive the restore: \(page.status)")
        }
    }

    /// The overview minus what moves with the clock: realtime visitors, and the comparison caption
    /// ("until 18:14 UTC"), whose minute may tick between the two reads.
    static func withoutRealtime(_ json: String) -> String {
        guard var object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return json }
        object["realtime"] = nil
        object["comparison"] = nil
        return String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: .sortedKeys)) ?? Data(), as: UTF8.self)
    }

    @Test func restoreChecksTheManifestAndRefusesAFolderInUse() async throws {
        let dir = TempDir(), out = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        _ = try await db.insert([TestData.clean(site: "localhost", at: TestData.midnight)], sessionTimeoutMillis: 1_800_000)
        try Data("ab".utf8).write(to: URL(fileURLWithPath: dir.path + "/secret.key"))
        let backup = out.path + "/b"
        _ = try await Backup.create(database: db, dataDir: dir.path, destination: backup, now: 0)
        await #expect(throws: Backup.Failure.self) { try await Backup.create(database: db, dataDir: dir.path, destination: backup, now: 0) }
        #expect(try Backup.verify(backup) == 1)
        // A running Veil holds its folder: no restore over it.
        let running = out.path + "/running"
        try FileManager.default.createDirectory(atPath: running, withIntermediateDirectories: true)
        let lock = try #require(DataFolderLock(folder: running))
        #expect(throws: Backup.Failure.self) { try Backup.restore(from: backup, to: running, now: 0) }
        lock.release()
        // Stopped, it is replaced and the old folder kept aside.
        let replaced = try Backup.restore(from: backup, to: running, now: 0).replaced
        #expect(replaced.map { FileManager.default.fileExists(atPath: $0) } == true)
        #expect(try String(contentsOfFile: running + "/secret.key", encoding: .utf8) == "ab")
        let mode = try FileManager.default.attributesOfItem(atPath: running + "/veil.sqlite")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // One changed byte: refused, nothing restored.
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: backup + "/secret.key")))
        bytes[0] ^= 1
        try Data(bytes).write(to: URL(fileURLWithPath: backup + "/secret.key"))
        #expect(throws: Backup.Failure.self) { try Backup.restore(from: backup, to: out.path + "/other", now: 0) }
        #expect(!FileManager.default.fileExists(atPath: out.path + "/other"))
    }
}
