import Foundation
import Logging
import Privacy
import Storage
import Synchronization
import Web

/// A temporary folder removed when the test ends.
final class TempDir: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "veil-test-" + UUID().uuidString
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Every byte of every file in the folder (database, -wal, -shm, secret).
    func allBytes() -> [(String, Data)] {
        let files = (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? []
        return files.compactMap { name in
            let full = (path as NSString).appendingPathComponent(name)
            return FileManager.default.contents(atPath: full).map { (name, $0) }
        }
    }
}

/// A clock tests move by hand.
final class ManualTime: Sendable {
    private let now: Mutex<Int64>

    init(_ start: Int64) { now = Mutex(start) }

    var source: TimeSource { TimeSource { [self] in now.withLock { $0 } } }
    func set(_ value: Int64) { now.withLock { $0 = value } }
    func advance(_ ms: Int64) { now.withLock { $0 += ms } }
    var millis: Int64 { now.withLock { $0 } }
}

/// Deterministic "random" bytes: a counter, so every call differs but runs repeat.
final class CountingRandom: Sendable {
    private let counter = Mutex<UInt8>(1)

    var source: @Sendable (Int) -> [UInt8] {
        { [self] n in counter.withLock { c in c &+= 1; return (0..<n).map { UInt8(truncatingIfNeeded: Int($0) &* 31 &+ Int(c)) } } }
    }
}

enum TestData {
    static let day: Int64 = 86_400_000
    /// 2026-11-20 00:00:00 UTC.
    static let midnight: Int64 = 1_795_132_800_000
    static let userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 VeilCanaryUA/7.7"
    static let apiToken = "test-token-0123456789"
    static let password = "correct horse battery staple"
    static let fastHasher = PasswordHasher(iterations: 1000)

    static func logger() -> Logger {
        var logger = Logger(label: "veil-test")
        logger.logLevel = .warning
        return logger
    }

    static func config(dataDir: String) -> VeilConfig {
        var config = VeilConfig()
        config.listenHost = "127.0.0.1"
        config.listenPort = 0
        config.dataDir = dataDir
        config.apiToken = apiToken
        config.adminPasswordHash = (try? fastHasher.hash(password, salt: Array(repeating: 7, count: 16))) ?? ""
        config.writer.flushInterval = .milliseconds(2)
        config.sites = [
            SiteRules(domain: "localhost", origins: ["127.0.0.1", "[::1]"]),
            SiteRules(domain: "example.com"),
            SiteRules(domain: "nodnt.example", honorDNT: false, honorGPC: false),
        ]
        return config
    }

    static func environment(clock: TimeSource = .system) -> VeilEnvironment {
        VeilEnvironment(clock: clock, random: CountingRandom().source, logger: logger(), passwordHasher: fastHasher)
    }

    static func clean(site: String = "example.com", at ts: Int64, name: String = "pageview", path: String = "/", visitor: UInt8 = 1,
                      candidates: [[UInt8]]? = nil, clientID: String? = nil) -> CleanEvent {
        CleanEvent(site: site, timestamp: ts, name: name, host: site, path: path, clientID: clientID,
                   visitorCandidates: candidates ?? [Array(repeating: visitor, count: 16)], browser: "Chrome", os: "Linux", device: "desktop")
    }
}

extension Data {
    func contains(bytes needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return range(of: Data(needle)) != nil
    }
}
