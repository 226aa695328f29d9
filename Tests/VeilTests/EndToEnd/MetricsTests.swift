import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `/metrics` of the real binary: Prometheus's own checker accepts it, every family has
/// HELP and TYPE, the token and the separate listener work, and labels stay bounded.
@Suite("Prometheus metrics")
struct MetricsTests {
    static var promtool: String? {
        ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func get(_ url: String, token: String? = nil) async throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: DurabilityTests.binary != nil, "the veil binary is not built next to the tests"))
    func metricsPassPromtoolWithHelpOnEveryFamilyTokensAndASeparateListener() async throws {
        // CI installs Debian's prometheus package; elsewhere the promtool step says it was skipped.
        if ProcessInfo.processInfo.environment["CI"] != nil { #expect(Self.promtool != nil, "promtool is missing in CI (install Debian's prometheus)") }
        let dir = TempDir()
        let metricsPort = try DurabilityTests.freePort()
        let metricsToken = "metrics-token-0123456789abcdef", apiToken = "api-token-0123456789abcdef"
        let (process, port) = try await DurabilityTests.start(dataDir: dir.path, extra: [
            "--set", "metrics.token=\(metricsToken)", "--set", "api.token=\(apiToken)", "--set", "metrics.listen=127.0.0.1:\(metricsPort)"])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let base = "http://127.0.0.1:\(port)"
        // Traffic of each kind: accepted, dropped for random unknown sites, rejected, a 404.
        for i in 0..<5 {
            _ = try await DurabilityTests.post("\(base)/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/p\#(i)"}"#)
            _ = try await DurabilityTests.post("\(base)/api/event", #"{"site":"random-\#(i).example","name":"pageview","url":"https://random-\#(i).example/"}"#)
        }
        _ = try await DurabilityTests.post("\(base)/api/event", "{not json")
        _ = try await Self.get("\(base)/no/such/page/\(UUID().uuidString)")

        // The main listener wants metrics.token; api.token and no token are refused.
        #expect(try await Self.get("\(base)/metrics").0 == 401)
        #expect(try await Self.get("\(base)/metrics", token: apiToken).0 == 401)
        let (status, text) = try await Self.get("\(base)/metrics", token: metricsToken)
        #expect(status == 200)
        // The separate listener answers without a token, and only /metrics.
        let (openStatus, openText) = try await Self.get("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(openStatus == 200 && openText.contains("veil_events_accepted_total"))
        #expect(try await Self.get("http://127.0.0.1:\(metricsPort)/api/stats/overview?site=localhost").0 == 404)

        // Every family has HELP and TYPE.
        let lines = text.split(separator: "\n")
        let typed = Set(lines.filter { $0.hasPrefix("# TYPE ") }.map { $0.split(separator: " ")[2] })
        let helped = Set(lines.filter { $0.hasPrefix("# HELP ") }.map { $0.split(separator: " ")[2] })
        #expect(!typed.isEmpty && typed == helped, "families without HELP: \(typed.subtracting(helped))")
        for needle in [
            #"veil_events_accepted_total 5"#,
            #"veil_events_dropped_total{reason="unknown_site",site="_other"} 5"#,
            #"veil_ingest_rejected_total{error="invalid_json"} 1"#,
            #"veil_http_requests_total{route="/api/event",method="POST",status="2xx"} 10"#,
            #"veil_http_requests_total{route="NotFound",method="GET",status="4xx"} 1"#,
            #"veil_http_request_duration_seconds_bucket{route="/api/event",le="+Inf"} 11"#,
            "veil_writer_commit_duration_seconds_count ", "veil_writer_committed_events_total 5", "veil_write_queue_events 0.0",
            "veil_database_bytes ", "process_resident_memory_bytes ", "process_cpu_seconds_total ", "process_open_fds ", "process_max_fds ",
            "process_start_time_seconds ", #"veil_build_info{version=""#,
        ] {
            #expect(text.contains(needle), "missing \(needle)")
        }
        // Sites nobody configured never become labels.
        #expect(!text.contains("random-"))

        if let promtool = Self.promtool {
            let check = Process()
            check.executableURL = URL(fileURLWithPath: promtool)
            check.arguments = ["check", "metrics"]
            let input = Pipe(), output = Pipe()
            check.standardInput = input
            check.standardOutput = output
            check.standardError = output
            try check.run()
            input.fileHandleForWriting.write(Data(text.utf8))
            try input.fileHandleForWriting.close()
            check.waitUntilExit()
            let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(check.terminationStatus == 0, "promtool check metrics: \(said)")
        } else {
            print("note: promtool is not installed; `promtool check metrics` was not run (Debian: apt-get install prometheus)")
        }
    }
}
