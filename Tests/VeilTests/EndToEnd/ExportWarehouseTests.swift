import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Privacy
import Storage
import Testing
@testable import Web

/// The raw-event export loaded into a warehouse engine: DuckDB from PyPI reads the file
/// `GET /api/export/events` serves, and its counts per day and per page equal Veil's own.
@Suite("Raw-event export in DuckDB")
struct ExportWarehouseTests {
    /// The SDK test's virtualenv with `duckdb` added (pip, once per run); nil when PyPI is unreachable.
    static let python: String? = {
        guard let python = SDKClientTests.python else { return nil }
        if SDKClientTests.run([python, "-c", "import duckdb"]) == 0 { return python }
        _ = SDKClientTests.run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "duckdb"])
        return SDKClientTests.run([python, "-c", "import duckdb"]) == 0 ? python : nil
    }()

    @Test(.enabled(if: python != nil || ProcessInfo.processInfo.environment["CI"] != nil, "duckdb could not be installed from PyPI; CI requires it"))
    func duckDBCountsEqualVeilsOwn() async throws {
        let python = try #require(Self.python, "could not install duckdb from PyPI")
        let dir = TempDir()
        let out = TempDir()
        let file = out.path + "/events.ndjson.gz"
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        try await withLiveVeil(SDKClientTests.config(dataDir: dir.path)) { client in
            // Pageviews on three days (an SDK's own times, within the window) and today.
            var batch: [String] = []
            for (i, daysAgo) in [0, 0, 1, 1, 1, 3, 3, 3, 3].enumerated() {
                let time = EventLine.iso8601(now - Int64(daysAgo) * 86_400_000 - Int64(i) * 60_000)
                batch.append(#"{"event":"$pageview","distinct_id":"p\#(i % 4)","uuid":"00000000-0000-4000-8000-00000000000\#(i)","timestamp":"\#(time)","properties":{"$current_url":"https://shop.example/p\#(i % 3)"}}"#)
            }
            batch.append(#"{"event":"signup","distinct_id":"p1","properties":{"$current_url":"https://shop.example/p1","plan":"pro"}}"#)
            let r = try await client.post("/batch/", #"{"api_key":"\#(SDKClientTests.posthogKey)","batch":[\#(batch.joined(separator: ","))]}"#,
                                          headers: [.contentType: "application/json", .userAgent: "posthog-python/7.91.1"])
            #expect(r.status == .ok)
            #expect(try await client.execute(uri: "/api/export/events?site=shop.example", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/export/events?site=nope", method: .get, headers: bearer).status == .badRequest)
            #expect(try await client.execute(uri: "/api/export/events?site=shop.example&from=2026-02-30", method: .get, headers: bearer).status == .badRequest)
            let export = try await client.execute(uri: "/api/export/events?site=shop.example", method: .get, headers: bearer)
            #expect(export.status == .ok && export.headers[.contentType] == "application/gzip")
            try Data(buffer: export.body).write(to: URL(fileURLWithPath: file))
            let counts = try Self.duckdb(python: python, file: file)
            // Veil's answers for the same questions.
            let series = try await client.execute(uri: "/api/stats/series?site=shop.example&range=7d&granularity=day", method: .get, headers: bearer).json
            var perDay: [String: Int] = [:]
            for point in series["series"] as? [[String: Any]] ?? [] {
                if let day = point["start"] as? String, let n = point["pageviews"] as? Int, n > 0 { perDay[String(day.prefix(10))] = n }
            }
            #expect(counts["days"] as? [String: Int] == perDay, "\(counts) vs \(series)")
            #expect(perDay.values.reduce(0, +) == 9)
            let pages = try await client.execute(uri: "/api/stats/breakdown?site=shop.example&range=7d&dim=page", method: .get, headers: bearer).json
            let perPage = Dictionary(((pages["rows"] as? [[String: Any]]) ?? []).map { ($0["value"] as? String ?? "", $0["hits"] as? Int ?? $0["pageviews"] as? Int ?? -1) },
                                     uniquingKeysWith: +)
            #expect(counts["pages"] as? [String: Int] == perPage, "\(counts) vs \(pages)")
            #expect(counts["events"] as? Int == 10 && counts["visitors"] as? Int == 4)
        }
    }

    static func duckdb(python: String, file: String) throws -> [String: Any] {
        let process = Process()
        let pipe = Pipe()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [SharedFixtures.projectRoot.appendingPathComponent("scripts/duckdb-check.py").path, file]
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "duckdb-check.py printed: \(String(decoding: data, as: UTF8.self))")
    }
}
