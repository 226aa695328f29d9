import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import Privacy
import Storage
@testable import Web

/// `../shared` beside the project (fixtures from real rrweb recordings); nil when absent.
enum SharedFixtures {
    /// The folder holding Package.swift, found from this file whichever test folder it is in.
    static let projectRoot: URL = {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while dir.path != "/" && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { dir.deleteLastPathComponent() }
        return dir
    }()
    static var rrweb: URL? {
        let dir = projectRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/rrweb")
        return FileManager.default.fileExists(atPath: dir.appendingPathComponent("manifest.json").path) ? dir : nil
    }
    static var available: Bool { rrweb != nil }

    struct File: Sendable {
        var name: String
        var title: String
        var session: String
        var pageIndex: Int
        var masked: Bool
        var firstTimestamp: Int64
        var lastTimestamp: Int64
        var typed: [String]
        var burst: Bool
        var events: [JSONValue]
        var rawBytes: Int
    }

    static func files() throws -> [File] {
        let dir = try #require(rrweb, "../shared/fixtures/rrweb is absent")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("manifest.json"))) as? [String: Any])
        let entries = try #require(manifest["files"] as? [[String: Any]])
        return try entries.map { entry in
            let name = entry["file"] as! String
            let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
            guard case .array(let events) = try JSONParser.parse(bytes, maxDepth: 400) else { throw FixtureError.notAnArray(name) }
            let actions = (entry["actions"] as? [[String: Any]] ?? []).compactMap { $0["action"] as? String }
            // "type 'jane.doe@example.com' into email"
            let typed = actions.compactMap { a -> String? in
                guard a.hasPrefix("type '"), let end = a.range(of: "' into ") else { return nil }
                return String(a[a.index(a.startIndex, offsetBy: 6)..<end.lowerBound])
            }
            return File(name: name, title: entry["title"] as! String, session: entry["session_id"] as! String, pageIndex: entry["page_index"] as! Int,
                        masked: ((entry["masking"] as? [String: Any])?["maskAllInputs"] as? Bool) ?? false,
                        firstTimestamp: (entry["first_timestamp"] as! NSNumber).int64Value, lastTimestamp: (entry["last_timestamp"] as! NSNumber).int64Value,
                        typed: typed, burst: actions.contains { $0.contains("remove every other item") }, events: events, rawBytes: bytes.count)
        }
    }

    enum FixtureError: Error { case notAnArray(String) }

    /// The text of the first heading (h1 to h6) in a recording's full snapshot, whitespace collapsed:
    /// what the live page showed, read from the recording independently of any player.
    static func firstHeading(_ events: [JSONValue]) -> String? {
        func text(_ node: JSONValue) -> String {
            if node["type"]?.intValue == 3 { return node["textContent"]?.stringValue ?? "" }
            guard case .array(let children) = node["childNodes"] ?? .null else { return "" }
            return children.map(text).joined()
        }
        func find(_ node: JSONValue) -> JSONValue? {
            if let tag = node["tagName"]?.stringValue?.lowercased(), ["h1", "h2", "h3", "h4", "h5", "h6"].contains(tag) { return node }
            guard case .array(let children) = node["childNodes"] ?? .null else { return nil }
            for child in children { if let hit = find(child) { return hit } }
            return nil
        }
        for event in events where event["type"]?.intValue == 2 {
            if let node = event["data"]?["node"], let heading = find(node) { return collapse(text(heading)) }
        }
        return nil
    }

    static func collapse(_ s: String) -> String { s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") }

    static func body(site: String, page: String, seq: Int, events: [JSONValue]) -> [UInt8] {
        Array(("{\"site\":\(JSONWriter.string(site)),\"page\":\"\(page)\",\"seq\":\(seq),\"events\":" + JSONWriter.value(.array(events)) + "}").utf8)
    }
}

/// Serves `router` on an ephemeral loopback port (another origin than Veil's, as a
/// customer's site or a test harness would be) for the duration of `body`.
func withPageServer(_ router: Router<BasicRequestContext>, _ body: @Sendable (Int) async throws -> Void) async throws {
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestData.logger())
    try await app.test(.live) { client in try await body(try #require(client.port)) }
}

/// Headless Chromium driven over the DevTools protocol by `scripts/cdp.py`.
enum CDP {
    static let script = SharedFixtures.projectRoot.appendingPathComponent("scripts/cdp.py").path

    struct Outcome: @unchecked Sendable {
        var results: [String: Any]
        var exceptions: [String]
        var consoleErrors: [String]
        var error: String?
    }

    /// Runs a plan (see the script's header); waits without blocking a thread. With
    /// `until`, the browser stays open after the last step until `until` holds (polled,
    /// at most `untilSeconds`): a page's last requests, such as the recorder's flush on
    /// leaving, are waited for as a condition, never a fixed pause.
    static func run(_ steps: [[String: Any]], cookies: [[String: Any]] = [], width: Int = 1280, height: Int = 800, userAgent: String = TestData.userAgent,
                    untilSeconds: Double = 30, until: (@Sendable () async throws -> Bool)? = nil) async throws -> Outcome {
        let signal = FileManager.default.temporaryDirectory.appendingPathComponent("veil-cdp-\(UUID().uuidString).done")
        defer { try? FileManager.default.removeItem(at: signal) }
        let steps = until == nil ? steps : steps + [["wait_file": signal.path, "timeout": untilSeconds + 5]]
        let plan: [String: Any] = ["chromium": try #require(Chromium.path, "chromium is not installed: apt-get install chromium"),
                                   "user_agent": userAgent, "cookies": cookies, "steps": steps, "width": width, "height": height]
        let input = try JSONSerialization.data(withJSONObject: plan)
        let dir = FileManager.default.temporaryDirectory
        let inURL = dir.appendingPathComponent("veil-cdp-\(UUID().uuidString).json"), outURL = dir.appendingPathComponent("veil-cdp-\(UUID().uuidString).out")
        try input.write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: inURL); try? FileManager.default.removeItem(at: outURL) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script]
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(240)
        var signalled = until == nil
        // The plan's wait_file step bounds how long the condition is polled.
        while process.isRunning && Date() < deadline {
            if !signalled, let until, try await until() {
                _ = FileManager.default.createFile(atPath: signal.path, contents: nil)
                signalled = true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        if process.isRunning { process.terminate() }
        let data = try Data(contentsOf: outURL)
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "cdp.py printed: \(String(decoding: data, as: UTF8.self))")
        return Outcome(results: json["results"] as? [String: Any] ?? [:], exceptions: json["exceptions"] as? [String] ?? [],
                       consoleErrors: json["console_errors"] as? [String] ?? [], error: json["error"] as? String)
    }

    static func js(_ s: String) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: [s]), as: UTF8.self).dropFirst().dropLast().description
    }
}
