import ArgumentParser
import Foundation
import Storage
import Web

/// `veil migrate --to clickhouse`: the data folder's events copied into the configured
/// ClickHouse (README "Scaling out"). Resumable; checks counts per site and day after.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy this data folder's events into ClickHouse (clickhouse.* in the config), resumably, then compare counts per site and day."
    )

    @Option(name: .long, help: "The backend to copy to (only clickhouse).") var to: String
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        guard to == StorageBackend.clickhouse.rawValue else { throw ValidationError("--to takes clickhouse") }
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        guard FileManager.default.fileExists(atPath: config.dataDir + "/veil.sqlite") else { throw ValidationError("there is no Veil database in \(config.dataDir)") }
        let database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous)
        let client = try ClickHouseClient(settings: config.clickhouse)
        // One node name per source folder: a second run resumes the same rows.
        let folder = URL(fileURLWithPath: config.dataDir).standardizedFileURL.path
        let node = "migrate-" + Array(folder.utf8).reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }.description
        let migration = ClickHouseMigration(database: database, client: client, node: node)
        printError("copying the events of \(config.dataDir) into \(config.clickhouse.url) database \(config.clickhouse.database) as \(node)")
        var lastPrinted = Date.distantPast
        let done = try await migration.run { p in
            if Date().timeIntervalSince(lastPrinted) >= 1 || p.copied == p.total {
                lastPrinted = Date()
                printError("copied \(p.copied) of \(p.total) events (\(p.total == 0 ? 100 : p.copied * 100 / p.total) %)")
            }
        }
        let check = try await migration.check()
        guard check.mismatches.isEmpty else {
            for m in check.mismatches.prefix(20) { printError("count differs: \(m)") }
            throw ValidationError("\(check.mismatches.count) of \(check.days) site-days differ; run the command again to resume, then check again")
        }
        printError("done: \(done.copied) events copied; counts agree for all \(check.days) site-days. Set storage.backend: clickhouse and restart.")
    }
}
