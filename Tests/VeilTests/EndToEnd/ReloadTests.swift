import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import Storage
import Synchronization

/// SIGHUP on the real binary: the config file is read again and applied without a restart
/// and without dropping a request; a broken file changes nothing.
@Suite("Config reload on SIGHUP")
struct ReloadTests {
    static let token = "reload-test-token-0123456789abcdef"

    /// Rate limits out of the way: the load below is one client.
    static func config(dataDir: String, sites: String, maxConnections: Int = 4096) -> String {
        "data_dir: \(dataDir)\napi:\n  token: \(token)\nrate_limits:\n  client_per_second: 100000\n  client_burst: 100000\n  site_per_second: 100000\n"
            + "  site_burst: 100000\nserver:\n  max_connections: \(maxConnections)\nsites:\n\(sites)"
    }

    static func get(_ url: String) async throws -> String {
        var request = URLRequest(url: URL(string: url)!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        return String(decoding: data, as: UTF8.self)
    }

    static func waitForLog(_ path: String, count needle: String, atLeast n: Int) async throws -> String {
        for _ in 0..<400 {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if text.components(separatedBy: needle).count - 1 >= n { return text }
            try await Task.sleep(for: .milliseconds(25))
        }
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    @Test(.enabled(if: DurabilityTests.binary != nil, "the veil binary is not built next to the tests"))
    func sighupAppliesAValidFileKeepsTheOldOnAnErrorAndDropsNoRequest() async throws {
        let dir = TempDir()
        let file = dir.path + "-veil.yaml", log = dir.path + "-serve.log"
        defer { for f in [file, log] { try? FileManager.default.removeItem(atPath: f) } }
        let siteA = "  - domain: a.test\n"
        let siteB = "  - domain: b.test\n    goals:\n      - {name: Signup, event: signup}\n    replay:\n      enabled: true\n      mask_text: all\n"
        try Self.config(dataDir: dir.path, sites: siteA).write(toFile: file, atomically: true, encoding: .utf8)
        let (process, port) = try await DurabilityTests.start(dataDir: dir.path, extra: ["--config", file], log: log)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(port)"
        func event(_ site: String, _ name: String = "pageview") async throws -> (Int, String) {
            try await DurabilityTests.post("\(base)/api/event", #"{"site":"\#(site)","name":"\#(name)","url":"https://\#(site)/p"}"#)
        }
        // b.test is not configured yet: dropped (and said so), nothing stored.
        #expect(try await event("b.test") == (202, #"{"accepted":0,"dropped":1,"reason":"unknown_site"}"#))

        // Load on a.test from four clients until every reload below is done; each answer is counted.
        let stop = StopFlag()
        let load = Task {
            try await withThrowingTaskGroup(of: (ok: Int, other: [Int]).self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var ok = 0, other: [Int] = []
                        for _ in 0..<5000 where !stop.isSet {
                            let (status, _) = try await event("a.test")
                            if status == 202 { ok += 1 } else { other.append(status) }
                        }
                        return (ok, other)
                    }
                }
                return try await group.reduce(into: (ok: 0, other: [Int]())) { $0.ok += $1.ok; $0.other += $1.other }
            }
        }

        // 1. A valid file adds b.test with a goal.
        try Self.config(dataDir: dir.path, sites: siteA + siteB).write(toFile: file, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        var text = try await Self.waitForLog(log, count: "configuration reloaded", atLeast: 1)
        #expect(text.contains("configuration reloaded") && text.contains("sites=a.test,b.test"), "\(text)")
        #expect(try await event("b.test", "signup") == (202, #"{"accepted":1}"#))
        let goals = try await Self.get("\(base)/api/stats/breakdown?site=b.test&range=today&dim=goal")
        #expect(goals.contains(#""Signup""#), "\(goals)")
        // Replay settings came with the site.
        let replay = try await Self.get("\(base)/api/replay/settings?site=b.test")
        #expect(replay.contains(#""mask_text":"all""#), "\(replay)")

        // 2. A broken file: logged with its line, and the running configuration stays.
        try (Self.config(dataDir: dir.path, sites: siteA + siteB) + "limits:\n  batch_events: many\n").write(toFile: file, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        text = try await Self.waitForLog(log, count: "config reload failed", atLeast: 1)
        #expect(text.contains("config reload failed; the running configuration stays") && text.contains("veil.yaml:20: limits.batch_events"), "\(text)")
        #expect(try await event("b.test") == (202, #"{"accepted":1}"#))

        // 3. A setting only a restart can change is named; the rest applies (b.test removed).
        try (Self.config(dataDir: dir.path, sites: siteA, maxConnections: 500) + "limits:\n  event_body_bytes: 1024\n").write(toFile: file, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        text = try await Self.waitForLog(log, count: "configuration reloaded", atLeast: 2)
        #expect(text.contains("restart_needed=server"), "\(text)")
        #expect(try await event("b.test") == (202, #"{"accepted":0,"dropped":1,"reason":"unknown_site"}"#))
        // The lower body limit applies at once.
        let big = try await DurabilityTests.post("\(base)/api/event", #"{"site":"a.test","name":"pageview","url":"https://a.test/\#(String(repeating: "x", count: 2000))"}"#)
        #expect(big.0 == 413, "\(big)")

        stop.set()
        let (ok, other) = try await load.value
        #expect(other.isEmpty && ok > 0, "answers other than 202 during the reloads: \(other)")
        #expect(process.isRunning)
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let db = try VeilDatabase.open(folder: dir.path)
        #expect(try await db.eventCount(site: "a.test") == ok)
        #expect(try await db.eventCount(site: "b.test") == 2)
    }
}

/// Set once by the test, read by its load tasks.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isSet: Bool { flag.load(ordering: .relaxed) }
    func set() { flag.store(true, ordering: .relaxed) }
}
