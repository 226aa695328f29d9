import ArgumentParser
import Foundation
import Logging
import Privacy
import Storage
import Web

/// `veil bench dashboard`: seeds fresh databases of several sizes and prints dashboard
/// timings next to a raw full-table aggregate on the same data (see BENCHMARKS.md).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks.", subcommands: [Dashboard.self, BenchReplay.self, BenchHeatmap.self])

    struct Dashboard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seed 1M and 10M events (by default) and time dashboards against a raw scan.")

        @Option(help: "Comma-separated dataset sizes in events.") var events: String = "1000000,10000000"
        @Option(help: "Days the events are spread over.") var days: Int = 30
        @Option(help: "Folder for the databases (default: a temporary folder, deleted afterwards).") var dir: String?
        @Flag(help: "Reuse databases already seeded in --dir instead of seeding again.") var reuse = false
        @Option(help: "Timed runs per view (after one warm-up); the median is shown.") var runs: Int = 3
        @Option(help: "Time only the views whose names contain one of these |-separated words (all by default).") var only: String = ""
        @Option(help: "sqlite, or clickhouse: also copy each dataset into the configured ClickHouse (clickhouse.* from --config/--set) and time the same views there, side by side.")
        var backend: String = "sqlite"
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let sizes = events.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty else { throw ValidationError("--events expects numbers like 1000000,10000000") }
            var site = SiteRules(domain: "bench.example")
            site.analytics = AnalyticsRules(goals: [Goal(name: "Signup", event: "signup"), Goal(name: "Pricing", page: "/pricing*"),
                                                    Goal(name: "Pro signup", event: "signup", props: [("plan", "pro")])],
                                            clickEvents: [ClickDefinition(name: "CTA click", selector: "a.btn.primary")])
            let root = dir ?? NSTemporaryDirectory() + "veil-bench-\(ProcessInfo.processInfo.processIdentifier)"
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
            var results: [(Int, DashboardBenchmark.Figures)] = []
            for n in sizes {
                let folder = root + "/\(n)"
                let reusing = reuse && FileManager.default.fileExists(atPath: folder + "/veil.sqlite")
                if !reusing { try? FileManager.default.removeItem(atPath: folder) }
                let database = try VeilDatabase.open(folder: folder)
                let seconds = reusing ? 0 : try await SeedCommand.seed(database: database, site: "bench.example", rules: site.analytics, events: n, days: days, persistent: false, quiet: false)
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                // What a running Veil builds in the background for the closed days (a reused
                // folder keeps what it built, less the days written to since).
                let crossStart = Date()
                DashboardBenchmark.Memory.resetPeak()
                var crossDays = 0
                for day in try await database.crossDaysToBuild(site: "bench.example", rules: site.analytics, closedBefore: now - CrossRollupService.closeDelayMillis) {
                    if try await database.buildCrossDay(site: "bench.example", day: day, rules: site.analytics) != nil { crossDays += 1 }
                }
                try await database.checkpoint()
                let counts = try await database.tableSizes()
                let bytes = Self.folderBytes(folder)
                print(String(format: "cross rollups: %d days built in %.1f s (peak RSS %d MB); %d blobs", crossDays, Date().timeIntervalSince(crossStart),
                             DashboardBenchmark.Memory.peak() >> 20, counts.crossRollups))
                print("\n== \(n) events asked, \(counts.events) stored (sessions \(counts.sessions), rollup rows \(counts.rollups))\(reusing ? ", reused" : String(format: ", seeded in %.1f s", seconds))")
                let f = try await DashboardBenchmark.measure(database: database, site: site, now: now, runs: runs,
                                                               only: only.split(separator: "|").map(String.init)) { FileHandle.standardError.write(Data("  measured \($0)\n".utf8)) }
                results.append((n, f))
                if backend == StorageBackend.clickhouse.rawValue {
                    try await Self.clickhouseSideBySide(database: database, sqlite: f, site: site, now: now, runs: runs, only: only, options: options, events: n)
                    try database.close()
                    continue
                }
                print(Self.pad("view", 52) + Self.pad("ms", 12, left: true) + Self.pad("÷ yardstick", 13, left: true))
                print(Self.pad("yardstick: count(DISTINCT visitor) FROM events", 52) + Self.pad(String(format: "%.1f", f.yardstickMillis), 12, left: true) + Self.pad("1.000", 13, left: true))
                for r in f.rows { print(Self.pad(r.name, 52) + Self.pad(String(format: "%.1f", r.millis), 12, left: true) + Self.pad(String(format: "%.3f", r.ratio), 13, left: true)) }
                print("targets at this size:")
                func line(_ what: String, _ value: Double, _ target: Double, _ format: String = "%.3f") {
                    print("  " + Self.pad(what, 60) + String(format: format + "  (target ≤ " + format + ") ", value, target) + (value <= target ? "met" : "NOT met"))
                }
                // Groups left out by --only print nothing rather than a vacuous "met".
                if let r = f.worst("overview") { line("unfiltered overview", r.ratio, 0.05) }
                if let r = f.worst("filtered") {
                    line("overview, one filter (worst of \(f.rows.filter { $0.group == "filtered" }.count) kinds)", r.ratio, 0.5)
                    line("overview, one filter (median)", f.median("filtered"), 0.5)
                }
                if let r = f.worst("table") { line("one table with one filter (worst)", r.ratio, 0.25) }
                if let r = f.worst("two") { line("two filters combined (worst)", r.ratio, 0.5) }
                for r in f.rows where r.group == "scan" { line(r.name, r.ratio, 1) }
                line("bytes per stored event", Double(bytes) / Double(max(1, counts.events)), 120, "%.0f")
                line("peak RSS answering, MB (before: \(f.residentBeforeBytes >> 20) MB)", Double(f.peakRSSBytes) / 1_048_576, 150, "%.0f")
                try database.close()
            }
            if results.count >= 2 {
                let (a, fa) = results[0], (b, fb) = results[results.count - 1]
                print("\ngrowth \(a) -> \(b) events (time at \(b) ÷ time at \(a)):")
                var worst = 0.0
                for r in fb.rows {
                    guard let old = fa.rows.first(where: { $0.name == r.name }) else { continue }
                    let g = r.millis / old.millis
                    if r.group == "filtered" { worst = max(worst, g) }
                    print("  " + Self.pad(r.name, 52) + String(format: "%6.2fx", g))
                }
                print(String(format: "  filtered overview, worst kind: %.2fx (target ≤ 3x) ", worst) + (worst <= 3 ? "met" : "NOT met"))
            }
        }

        /// Copies the dataset into ClickHouse (a fresh database per size), measures ingest
        /// through an outbox, and prints every view's time on both backends against the one
        /// SQLite yardstick of this run.
        static func clickhouseSideBySide(database: VeilDatabase, sqlite: DashboardBenchmark.Figures, site: SiteRules, now: Int64, runs: Int, only: String,
                                         options: ConfigOptions, events: Int) async throws {
            let loader = try options.loader()
            var settings = try loader.load(file: loader.resolveFile(explicit: options.config)).clickhouse
            settings.database = settings.database + "_bench_\(events)"
            settings.node = "bench"
            let client = try ClickHouseClient(settings: settings, timeout: .seconds(600))
            try await client.execute("DROP DATABASE IF EXISTS \(settings.database)", database: false)
            let copyStart = Date()
            let copied = try await ClickHouseMigration(database: database, client: client, node: "bench-copy", batch: 50_000).run { _ in }
            let copySeconds = Date().timeIntervalSince(copyStart)
            // Ingest through an outbox: 200,000 events committed to a local outbox in
            // batches of 500 and shipped, until ClickHouse confirmed them all.
            let outboxDir = NSTemporaryDirectory() + "veil-bench-outbox-\(ProcessInfo.processInfo.processIdentifier)"
            defer { try? FileManager.default.removeItem(atPath: outboxDir) }
            let outbox = try VeilDatabase.open(folder: outboxDir)
            let sample = (0..<200_000).map { i in
                CleanEvent(site: "outbox.example", timestamp: now - Int64(i) * 1000, name: "pageview", host: "outbox.example", path: "/p\(i % 500)",
                           visitorCandidates: [[UInt8](repeating: UInt8(i % 251), count: 16)], browser: "Chrome", os: "Linux", device: "desktop")
            }
            let shipper = ShippingService(database: outbox, client: client, gauge: OutboxGauge(), logger: Logger(label: "bench"))
            let ingestStart = Date()
            for chunk in stride(from: 0, to: sample.count, by: 500) { _ = try await outbox.appendToOutbox(Array(sample[chunk..<min(chunk + 500, sample.count)]), now: now) }
            let committed = Date().timeIntervalSince(ingestStart)
            while try await shipper.shipOnce(verify: false) > 0 {}
            let shipped = Date().timeIntervalSince(ingestStart)
            try await client.execute("ALTER TABLE events DELETE WHERE site = 'outbox.example'")
            let ch = try await DashboardBenchmark.measure(database: database, stats: ClickHouseStats(client: client, sessionTimeoutMillis: 30 * 60_000), site: site,
                                                          now: now, runs: runs, only: only.split(separator: "|").map(String.init)) {
                FileHandle.standardError.write(Data("  measured on ClickHouse \($0)\n".utf8))
            }
            print(String(format: "ClickHouse %@: copied %d events in %.1f s (%.0f events/s); outbox ingest: 200000 events committed in %.1f s, shipped and confirmed after %.1f s (%.0f events/s end to end)",
                         try await client.version(), copied.copied, copySeconds, Double(copied.copied) / copySeconds, committed, shipped, 200_000 / shipped))
            print(pad("view", 52) + pad("SQLite ms", 12, left: true) + pad("÷ yard", 9, left: true) + pad("ClickHouse ms", 15, left: true) + pad("÷ yard", 9, left: true))
            print(pad("yardstick: SQLite count(DISTINCT visitor)", 52) + pad(String(format: "%.1f", sqlite.yardstickMillis), 12, left: true) + pad("1.000", 9, left: true))
            for r in sqlite.rows {
                let other = ch.rows.first { $0.name == r.name }
                print(pad(r.name, 52) + pad(String(format: "%.1f", r.millis), 12, left: true) + pad(String(format: "%.3f", r.ratio), 9, left: true)
                      + pad(other.map { String(format: "%.1f", $0.millis) } ?? "n/a", 15, left: true) + pad(other.map { String(format: "%.3f", $0.millis / sqlite.yardstickMillis) } ?? "n/a", 9, left: true))
            }
        }

        /// A column of a text table (String(format:) does not pad %@ on Linux).
        static func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(1, width - s.count))
            return left ? fill + s : s + fill
        }

        /// Bytes of the data folder's files (after a checkpoint: the database file itself).
        static func folderBytes(_ folder: String) -> Int {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            return names.reduce(0) { sum, name in
                sum + ((try? FileManager.default.attributesOfItem(atPath: folder + "/" + name)[.size] as? Int) ?? 0)
            }
        }
    }
}
