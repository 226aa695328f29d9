import ArgumentParser
import Foundation
import Privacy
import Storage
import Web

/// `veil bench dashboard`: seeds fresh databases of several sizes and prints dashboard
/// timings next to a raw full-table aggregate on the same data (see BENCHMARKS.md).
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Benchmarks.", subcommands: [Dashboard.self, BenchReplay.self])

    struct Dashboard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Seed 1M and 10M events (by default) and time dashboards against a raw scan.")

        @Option(help: "Comma-separated dataset sizes in events.") var events: String = "1000000,10000000"
        @Option(help: "Days the events are spread over.") var days: Int = 30
        @Option(help: "Folder for the databases (default: a temporary folder, deleted afterwards).") var dir: String?
        @Flag(help: "Reuse databases already seeded in --dir instead of seeding again.") var reuse = false

        func run() async throws {
            let sizes = events.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !sizes.isEmpty else { throw ValidationError("--events expects numbers like 1000000,10000000") }
            var site = SiteRules(domain: "bench.example")
            site.analytics = AnalyticsRules(goals: [Goal(name: "Signup", event: "signup"), Goal(name: "Pricing", page: "/pricing*"),
                                                    Goal(name: "Pro signup", event: "signup", props: [("plan", "pro")])],
                                            clickEvents: [ClickDefinition(name: "CTA click", selector: "a.btn.primary")])
            let root = dir ?? NSTemporaryDirectory() + "veil-bench-\(ProcessInfo.processInfo.processIdentifier)"
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: root) } }
            print("events      seed_s  rows(events/sessions/rollups)  overview_ms  filtered_breakdown_ms  filtered_overview_ms  raw_scan_ms  overview/raw")
            var results: [(Int, DashboardBenchmark.Figures)] = []
            for n in sizes {
                let folder = root + "/\(n)"
                let reusing = reuse && FileManager.default.fileExists(atPath: folder + "/veil.sqlite")
                if !reusing { try? FileManager.default.removeItem(atPath: folder) }
                let database = try VeilDatabase.open(folder: folder)
                let seconds = reusing ? 0 : try await SeedCommand.seed(database: database, site: "bench.example", rules: site.analytics, events: n, days: days, persistent: false, quiet: false)
                let sizes = try await database.tableSizes()
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let f = try await DashboardBenchmark.measure(database: database, site: site, now: now)
                results.append((n, f))
                print(String(format: "%-10d  %6.1f  %-29@  %11.1f  %21.1f  %20.1f  %11.1f  %12.4f", n, seconds, "\(sizes.events)/\(sizes.sessions)/\(sizes.rollups)" as NSString,
                             f.overviewMillis, f.filteredBreakdownMillis, f.filteredOverviewMillis, f.rawScanMillis, f.overviewMillis / f.rawScanMillis))
                try database.close()
            }
            if results.count >= 2 {
                let (a, fa) = results[0], (b, fb) = results[results.count - 1]
                print(String(format: "overview at %d events takes %.2fx its time at %d events", b, fb.overviewMillis / fa.overviewMillis, a))
            }
        }
    }
}
