import ArgumentParser
import Foundation
import Privacy
import Storage
import Web

/// `veil bench replay`: stores rrweb recordings (the shared fixtures by default) through
/// the same sanitise → encode → store path as `POST /api/replay`, and prints the storage
/// ratio against the raw JSON and against gzip -9 of each file, and the time per stage.
struct BenchReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "replay", abstract: "Store rrweb recordings and report compression and speed.")

    @Option(help: "Folder of rrweb recordings (JSON arrays of events).") var fixtures: String = "../shared/fixtures/rrweb"
    @Option(help: "Times each file is stored (as different visitors), for steadier timings.") var rounds: Int = 3

    func run() async throws {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: fixtures)) ?? []).filter { $0.hasSuffix(".json") && $0 != "manifest.json" }.sorted()
        guard !files.isEmpty else { throw ValidationError("no recordings in \(fixtures); pass --fixtures <folder of rrweb JSON files>") }
        let folder = NSTemporaryDirectory() + "veil-bench-replay-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = try VeilDatabase.open(folder: folder)
        var site = SiteRules(domain: "bench.example")
        site.replay = ReplayRules(enabled: true)
        var raw = 0, gzipped = 0, events = 0
        var parseTime = Duration.zero, prepareTime = Duration.zero, storeTime = Duration.zero
        let clock = ContinuousClock()
        for round in 0..<max(1, rounds) {
            for (index, name) in files.enumerated() {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixtures).appendingPathComponent(name)))
                var list: [JSONValue] = []
                parseTime += try clock.measure {
                    guard case .array(let parsed) = try JSONParser.parse(bytes, maxDepth: 400) else { throw ValidationError("\(name) is not a JSON array") }
                    list = parsed
                }
                if round == 0 {
                    raw += bytes.count
                    gzipped += Zlib.compress(bytes, wrapper: .gzip)?.count ?? 0
                    events += list.count
                }
                let chunks = ReplayTimeline.chunks(list)
                let visitor = [UInt8](repeating: UInt8(truncatingIfNeeded: round * 64 + index), count: 16)
                for (seq, chunk) in chunks.enumerated() {
                    var prepared: ReplayChunk?
                    prepareTime += clock.measure {
                        prepared = ReplayChunk.prepared(chunk, site: site, page: "bench-\(round)-\(index)", seq: seq, picked: [],
                                                        visitors: [visitor], receivedAt: Int64(Date().timeIntervalSince1970 * 1000), rawBytes: 0).0
                    }
                    let start = clock.now
                    _ = try await database.appendReplayChunk(prepared!, sessionTimeoutMillis: 1_800_000)
                    storeTime += clock.now - start
                }
            }
            if round == 0 {
                let totals = try await database.replayStorageTotals()
                let stored = totals.chunks + totals.styles
                print("files: \(files.count)  events: \(events)  raw JSON: \(raw) B")
                print(String(format: "gzip -9 of each file: %d B (%.2f %%)", gzipped, Double(gzipped) / Double(raw) * 100))
                print(String(format: "Veil stored: %d B = %d B chunks + %d B stylesheets (%.2f %% of raw)", stored, totals.chunks, totals.styles, Double(stored) / Double(raw) * 100))
            }
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        let mb = Double(raw * max(1, rounds)) / 1_048_576
        print(String(format: "per MB of raw JSON (%d rounds): parse %.1f ms, sanitise+encode+compress %.1f ms, store %.1f ms", rounds,
                     ms(parseTime) / mb, ms(prepareTime) / mb, ms(storeTime) / mb))
        var all = RecordingFilter(from: 0, to: .max)
        all.limit = 1_000_000
        let ids = try await database.recordings(site: "bench.example", filter: all).map(\.id)
        let start = clock.now
        var lines = 0
        for id in ids { lines += try await database.recordingEventLines(id: id).count }
        print(String(format: "read back %d recordings (%d events) in %.1f ms", ids.count, lines, ms(clock.now - start)))
        try database.close()
    }
}
