import ArgumentParser
import Foundation
import Privacy
import Storage

/// `veil bench heatmap`: stores N recordings of one page (20 clicks over 8 elements and a
/// scroll each) through the same path as `POST /api/replay`, then times the page's heatmap
/// against opening one of those replays (reading its events), measured in the same run.
struct BenchHeatmap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "heatmap", abstract: "Time a heatmap over many recordings against opening one replay.")

    @Option(help: "Recordings of the page.") var recordings: Int = 10_000
    @Option(help: "Timed runs (after one warm-up); the median is shown.") var runs: Int = 5

    func run() async throws {
        let folder = NSTemporaryDirectory() + "veil-bench-heatmap-\(ProcessInfo.processInfo.processIdentifier)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let database = try VeilDatabase.open(folder: folder)
        var site = SiteRules(domain: "bench.example")
        site.replay = ReplayRules(enabled: true)
        let clock = ContinuousClock()
        let t0 = Int64(Date().timeIntervalSince1970 * 1000) - Int64(recordings) * 1000
        var storing = Duration.zero
        for i in 0..<recordings {
            let t = t0 + Int64(i) * 1000
            var lines = [#"{"type":4,"timestamp":\#(t),"data":{"href":"https://bench.example/pricing","width":1280,"height":800}}"#,
                         #"{"type":2,"timestamp":\#(t),"data":{"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"left":0,"top":0}}}"#,
                         #"{"type":3,"timestamp":\#(t + 5),"data":{"source":3,"id":1,"x":0,"y":\#(i % 3200),"dh":4000,"vh":800}}"#]
            for k in 0..<20 {
                let ts = t + 100 + Int64(k) * 1200, element = "body>main:nth-of-type(1)>div:nth-of-type(\(k % 8 + 1))>a:nth-of-type(1)"
                lines.append(#"{"type":3,"timestamp":\#(ts),"data":{"source":2,"type":2,"id":9,"x":\#(k * 37 % 1200),"y":\#(k * 53 % 700),"p":"\#(element)","rx":\#((i + k * 131) % 1000),"ry":\#((i * 7 + k) % 1000)}}"#)
                if k % 3 == 0 { lines.append(#"{"type":3,"timestamp":\#(ts + 200),"data":{"source":0,"texts":[{"id":9,"value":"ok"}],"attributes":[],"removes":[],"adds":[]}}"#) }
            }
            lines.append(#"{"type":3,"timestamp":\#(t + 30_000),"data":{"source":1,"positions":[{"x":1,"y":1,"id":9,"timeOffset":0}]}}"#)
            guard case .array(let events) = try JSONParser.parse(Array(("[" + lines.joined(separator: ",") + "]").utf8), maxDepth: 64) else { continue }
            let visitor = withUnsafeBytes(of: UInt64(i).littleEndian) { Array($0) } + [UInt8](repeating: 7, count: 8)
            let (chunk, _) = ReplayChunk.prepared(events, site: site, page: "bench-page-\(i)", seq: 0, picked: [], visitors: [visitor], receivedAt: t + 30_000, rawBytes: 0)
            let start = clock.now
            _ = try await database.appendReplayChunk(chunk, sessionTimeoutMillis: 1_800_000)
            storing += clock.now - start
        }
        func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
        func median(_ body: () async throws -> Void) async throws -> Double {
            try await body()
            var times: [Double] = []
            for _ in 0..<max(1, runs) {
                let start = clock.now
                try await body()
                times.append(ms(clock.now - start))
            }
            return times.sorted()[times.count / 2]
        }
        var report = HeatmapReport()
        let heat = try await median { report = try await database.heatmap(site: "bench.example", path: "/pricing", device: "desktop", from: 0, to: .max) }
        var all = RecordingFilter(from: 0, to: .max)
        all.limit = 1
        guard let one = try await database.recordings(site: "bench.example", filter: all).first?.id else { throw ValidationError("no recording was stored") }
        let replay = try await median { _ = try await database.recordingEventLines(id: one) }
        print("recordings: \(recordings)  page views: \(report.pageViews)  clicks: \(report.elements.reduce(0) { $0 + $1.clicks })  dead: \(report.deadClicks)  elements: \(report.elements.count)")
        print(String(format: "storing a chunk (with its heatmap rows): %.2f ms on average", ms(storing) / Double(max(1, recordings))))
        print(String(format: "yardstick: open one replay (read its events)   %8.2f ms   1.000", replay))
        print(String(format: "heatmap of the page over every recording      %8.2f ms   %.1f×", heat, heat / max(replay, 0.001)))
        try database.close()
    }
}
