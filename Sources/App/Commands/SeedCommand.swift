import ArgumentParser
import Foundation
import Privacy
import Storage
import Web

/// `veil seed`: fills a site with a realistic generated dataset (demos, benchmarks).
struct SeedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed",
        abstract: "Generate realistic traffic for a site (Zipf pages and referrers, diurnal cycle, sessions, events, goals)."
    )

    @Option(help: "The site (its domain in the config).") var site: String = "localhost"
    @Option(help: "How many events to generate.") var events: Int = 100_000
    @Option(help: "Spread over this many days, ending today (UTC).") var days: Int = 30
    @Option(help: "Random seed (the same seed gives the same data).") var seed: UInt64 = 42
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        guard events > 0, events <= 1_000_000_000 else { throw ValidationError("--events must be 1 to 1,000,000,000") }
        guard days > 0, days <= 3650 else { throw ValidationError("--days must be 1 to 3650") }
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        guard let rules = config.site(site) else { throw ValidationError("there is no site \"\(site)\" in the config") }
        let database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes)
        try await Self.seed(database: database, site: rules.key, rules: rules.analytics, events: events, days: days, seed: seed,
                            persistent: rules.identity == .persistent, quiet: false)
        printError("seeded \(events) events over \(days) days into \(database.path)")
    }

    /// Seeds with a progress bar on standard error; returns the seconds taken.
    @discardableResult
    static func seed(database: VeilDatabase, site: String, rules: AnalyticsRules, events: Int, days: Int, seed: UInt64 = 42, persistent: Bool, quiet: Bool) async throws -> Double {
        var options = Seeder.Options(site: site, events: events, days: days, endDay: DayCalendar.utc.day(of: Int64(Date().timeIntervalSince1970 * 1000)))
        options.seed = seed
        options.persistent = persistent
        options.nowMillis = Int64(Date().timeIntervalSince1970 * 1000)
        let start = Date()
        try await Seeder(database: database, rules: rules).run(options) { done in
            guard !quiet else { return }
            let width = 30
            let filled = Int(Double(done) / Double(events) * Double(width))
            let rate = Double(done) / max(0.001, Date().timeIntervalSince(start))
            FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(done)/\(events) events, \(Int(rate))/s   ".utf8))
        }
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        return Date().timeIntervalSince(start)
    }
}
