import Foundation
import Testing
import Storage

/// Tests that run the built `veil` executable as a separate process.
@Suite("Durability of the real binary")
struct DurabilityTests {
    static var binary: String? {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("veil").path,
            FileManager.default.currentDirectoryPath + "/.build/debug/veil",
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// A socket bound to an ephemeral loopback port; the caller closes it.
    static func boundSocket() -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }

    /// A port that was free a moment ago (bound, read back, released for the child).
    static func freePort() throws -> Int {
        let (fd, port) = boundSocket()
        close(fd)
        return port
    }

    static func post(_ url: String, _ body: String, timeout: TimeInterval = 60) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.httpBody = Data(body.utf8)
        request.setValue("text/plain", forHTTPHeaderField: "Content-Type")
        request.setValue(TestData.userAgent, forHTTPHeaderField: "User-Agent")
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Starts the binary on a free port and waits for `/healthz`.
    static func start(dataDir: String, extra: [String] = [], log: String? = nil) async throws -> (Process, Int) {
        let port = try freePort()
        let process = Process()
        let arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--data-dir", dataDir] + extra
        if let log {
            // The shell opens the log and execs the binary: the process is Veil itself.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "exec \"$0\" \"$@\" 2>>\"$SERVE_LOG_PATH\"", try #require(binary)] + arguments
            process.environment = ["PATH": "/usr/bin:/bin", "SERVE_LOG_PATH": log]
        } else {
            process.executableURL = URL(fileURLWithPath: try #require(binary))
            process.arguments = arguments
            process.environment = ["PATH": "/usr/bin:/bin"]
            process.standardError = FileHandle.nullDevice
        }
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<400 {
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/healthz")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { return (process, port) }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(process.processIdentifier, SIGKILL)
        throw CancellationError()
    }

    @Test(.enabled(if: binary != nil, "the veil binary is not built next to the tests"))
    func acknowledgedEventsSurviveKill9() async throws {
        let dir = TempDir()
        let (process, port) = try await Self.start(dataDir: dir.path)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var acknowledged = 0
        for i in 0..<50 {
            let (status, _) = try await Self.post("http://127.0.0.1:\(port)/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/p\#(i)"}"#)
            if status == 202 { acknowledged += 1 }
        }
        let (status, body) = try await Self.post("http://127.0.0.1:\(port)/api/batch", #"{"site":"localhost","events":[{"name":"a","url":"http://localhost/"},{"name":"b","url":"http://localhost/"}]}"#)
        #expect(status == 202 && body == #"{"accepted":2,"dropped":0}"#)
        acknowledged += 2
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let db = try VeilDatabase.open(folder: dir.path)
        #expect(try await db.eventCount(site: "localhost") == acknowledged)
        #expect(acknowledged == 52)
    }

    @Test(.enabled(if: binary != nil, "the veil binary is not built next to the tests"))
    func sigtermFlushesWaitingEventsBeforeExiting() async throws {
        let dir = TempDir()
        // A 60 s flush interval: the event below waits in the queue, and only the shutdown can
        // flush it before the client's 30 s timeout. Without the flush this test fails.
        let token = "durability-test-token-0123456789"
        let log = dir.path + "-serve.log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let (process, port) = try await Self.start(dataDir: dir.path, extra: ["--set", "writer.flush_interval_ms=60000", "--set", "writer.flush_events=1000",
                                                                              "--set", "api.token=\(token)"], log: log)
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let pending = Task {
            try await Self.post("http://127.0.0.1:\(port)/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/late"}"#, timeout: 30)
        }
        // Signal only once the event is waiting in the write queue (a state, not a delay).
        var queued = false
        for _ in 0..<400 where !queued {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            if let (data, _) = try? await URLSession.shared.data(for: request) {
                queued = String(decoding: data, as: UTF8.self).contains("veil_write_queue_events 1.0\n")
            }
            if !queued { try await Task.sleep(for: .milliseconds(25)) }
        }
        #expect(queued, "the event never reached the write queue")
        // One Veil per data folder: a second one on it exits at once and says why.
        let (second, secondOutput) = try Self.runToExit(["serve", "--listen", "127.0.0.1:0", "--data-dir", dir.path])
        #expect(second == 1 && secondOutput.contains("another Veil is running on"), "\(secondOutput)")
        kill(process.processIdentifier, SIGTERM)
        let (status, body) = try await pending.value
        #expect(status == 202 && body == #"{"accepted":1}"#)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let db = try VeilDatabase.open(folder: dir.path)
        #expect(try await db.eventCount(site: "localhost") == 1)
        // The log tells the shutdown: stopping, how many events the flush wrote, stopped.
        let lines = try String(contentsOfFile: log, encoding: .utf8)
        #expect(lines.contains("stopping: finishing requests in flight") && lines.contains("events flushed; the writer stopped events_flushed=1")
                && lines.contains(" stopped "), "\(lines)")
    }

    /// Runs the binary to completion (or kills it after 60 s) and returns its exit status and output.
    static func runToExit(_ arguments: [String], environment: [String: String] = [:]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(binary))
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin"].merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        return (process.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test(.enabled(if: binary != nil, "the veil binary is not built next to the tests"))
    func portInUseExitsWithAClearMessageAndCreatesNoAdmin() throws {
        let dir = TempDir()
        // Hold a listening socket on a port so veil cannot bind it.
        let (fd, port) = Self.boundSocket()
        defer { close(fd) }
        listen(fd, 1)
        let (status, output) = try Self.runToExit(["--listen", "127.0.0.1:\(port)", "--data-dir", dir.path + "/data"])
        #expect(status == 1)
        #expect(output.contains("the port is already in use"), "\(output)")
        #expect(!output.contains("password="), "a one-time password was printed by a start that failed")
    }

    @Test(.enabled(if: binary != nil, "the veil binary is not built next to the tests"))
    func configAndDataFolderErrorsNameTheProblem() throws {
        let dir = TempDir()
        let bad = dir.path + "/bad.yaml"
        _ = FileManager.default.createFile(atPath: bad, contents: Data("listen: 127.0.0.1:8080\nlimits:\n  batch_events: many\n".utf8))
        let (status, output) = try Self.runToExit(["check-config", bad])
        #expect(status == 2)
        #expect(output.contains("bad.yaml:3: limits.batch_events: expected a whole number"), "\(output)")
        let (envStatus, envOutput) = try Self.runToExit(["check-config"], environment: ["VEIL_LIMITS_BATCH_EVENTS": "lots"])
        #expect(envStatus == 2 && envOutput.contains("VEIL_LIMITS_BATCH_EVENTS"), "\(envOutput)")
        let (okStatus, okOutput) = try Self.runToExit(["check-config"], environment: ["VEIL_API_TOKEN": "tok-secret"])
        #expect(okStatus == 0 && okOutput.contains("api.token: \"<redacted>\"") && !okOutput.contains("tok-secret"))
        // A data folder that cannot be created (its parent is a file).
        let file = dir.path + "/file"
        _ = FileManager.default.createFile(atPath: file, contents: Data())
        let (dataStatus, dataOutput) = try Self.runToExit(["--listen", "127.0.0.1:0", "--data-dir", file + "/data"])
        #expect(dataStatus == 1)
        #expect(dataOutput.contains("data folder") && dataOutput.contains("writable"), "\(dataOutput)")
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
