import Foundation
import Testing
@testable import Storage

/// A ClickHouse server of the test's own (Debian's clickhouse-server, started by
/// `scripts/clickhouse-test-server.sh` with a temporary configuration and data folder on
/// a free loopback port). Tests that need one are enabled only when the binary exists;
/// CI installs it (`.ci/run`), and there a missing binary fails the `ciHasClickHouse` test.
final class ClickHouseTestServer: Sendable {
    static let binary = "/usr/sbin/clickhouse-server"
    static var available: Bool { FileManager.default.isExecutableFile(atPath: binary) }
    static let script = SharedFixtures.projectRoot.appendingPathComponent("scripts/clickhouse-test-server.sh").path

    let dir: TempDir
    let port: Int

    init() throws {
        dir = TempDir()
        port = try Self.freePort()
        try start()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func settings(database: String = "veil_\(UInt32.random(in: 0...UInt32.max))", node: String = "test-node") -> ClickHouseSettings {
        ClickHouseSettings(url: url, user: "veil", password: "veiltest", database: database, shipBatchEvents: 500, node: node)
    }

    func start() throws {
        let errors = dir.path + "/start-errors"
        let status = Self.run(["bash", Self.script, "start", dir.path + "/ch", String(port)], errors: errors)
        // The folder goes with the test, so what the script said goes into the failure itself.
        try #require(status == 0, "clickhouse-server did not start on port \(port): \((try? String(contentsOfFile: errors, encoding: .utf8)) ?? "")")
    }

    func stop() {
        _ = Self.run(["bash", Self.script, "stop", dir.path + "/ch"])
    }

    deinit { stop() }

    static func run(_ arguments: [String], errors: String? = nil) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        if let errors, FileManager.default.createFile(atPath: errors, contents: nil), let handle = FileHandle(forWritingAtPath: errors) {
            process.standardError = handle
        }
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(ok, "no free port")
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

extension ClickHouseTestServer {
    /// A client of a new, migrated database on this server.
    func client(node: String = "test-node") async throws -> ClickHouseClient {
        let client = try ClickHouseClient(settings: settings(node: node))
        _ = try await ClickHouseSchema(settings: client.settings).migrate(client)
        return client
    }
}
