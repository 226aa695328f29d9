import ArgumentParser
import Foundation
import Privacy
import Storage
import Web

/// `veil export events` and `veil import`: the raw-event archive format (README, "Raw-event
/// export") written and read back.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export stored data for warehouses and backups.",
        subcommands: [Events.self]
    )

    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write a site's events as gzip-compressed NDJSON, one event per line with its session.")
        @Option(help: "The site (its domain in the config).") var site: String
        @Option(help: "First day, YYYY-MM-DD on the site's clock (default: the first event).") var from: String?
        @Option(help: "Last day, YYYY-MM-DD, included (default: today).") var to: String?
        @Option(help: "Write to this file (default: standard output).") var out: String?
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let loader = try options.loader()
            let config = try loader.load(file: loader.resolveFile(explicit: options.config))
            guard let rules = config.site(site) else { throw ValidationError("there is no site \"\(site)\" in the config") }
            let range = try ExportCommand.range(from: from, to: to, calendar: rules.analytics.calendar)
            let database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes)
            let total = try await database.eventCount(site: rules.key, from: range.lowerBound, to: range.upperBound)
            let handle: FileHandle
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let h = FileHandle(forWritingAtPath: out) else { throw ValidationError("cannot write \(out)") }
                handle = h
            } else {
                guard isatty(STDOUT_FILENO) == 0 else { throw ValidationError("the export is gzip-compressed: add --out FILE.ndjson.gz or redirect the output") }
                handle = FileHandle.standardOutput
            }
            defer { if out != nil { try? handle.close() } }
            var bar = ProgressBar(total: total, unit: "events")
            let summary = try await EventExporter(database: database).write(site: rules.key, from: range.lowerBound, to: range.upperBound,
                                                                          progress: { bar.update($0) }) { try handle.write(contentsOf: $0) }
            bar.finish()
            printError("exported \(summary.events) events of \(rules.key) (\(summary.bytes) bytes gzip, sha256 \(summary.sha256))" + (out.map { " to \($0)" } ?? ""))
        }
    }

    /// `[from, to]` days as milliseconds `[start of from, start of the day after to)`.
    static func range(from: String?, to: String?, calendar: DayCalendar) throws -> Range<Int64> {
        do { return try EventExporter.range(from: from, to: to, calendar: calendar) } catch { throw ValidationError(error.message) }
    }
}

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read events exported by `veil export events` (or the daily archive) back in; a re-import stores nothing twice."
    )

    @Argument(help: "Export files (.ndjson.gz or .ndjson).") var files: [String]
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        let database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes)
        let importer = EventImporter(database: database, sites: Set(config.sites.map(\.key)), sessionTimeoutMillis: config.writer.sessionTimeoutMillis,
                                     rules: config.analyticsRules)
        for file in files {
            let r: EventImporter.Summary
            do { r = try await importer.importFile(file) } catch let error as EventImporter.Failure { throw ValidationError("\(file): \(error.message)") }
            let problems = r.refused.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
            printError("\(file): \(r.stored) events stored, \(r.skipped) already held" + (problems.isEmpty ? "" : "; not imported: \(problems)"))
        }
    }
}

/// A progress bar on standard error when it is a terminal, a line per tenth otherwise.
struct ProgressBar {
    let total: Int
    let unit: String
    private let terminal = isatty(STDERR_FILENO) != 0
    private var lastTenth = -1

    init(total: Int, unit: String) {
        self.total = total
        self.unit = unit
    }

    mutating func update(_ done: Int) {
        let share = total > 0 ? min(1, Double(done) / Double(total)) : 1
        if terminal {
            let filled = Int(share * 30)
            FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: 30 - filled))] \(Int(share * 100)) %  \(done) / \(total) \(unit)".utf8))
        } else if Int(share * 10) > lastTenth {
            lastTenth = Int(share * 10)
            printError("\(Int(share * 100)) %: \(done) / \(total) \(unit)")
        }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
