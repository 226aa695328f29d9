import ArgumentParser
import Foundation
import Logging
import Privacy
import Storage
import Web

/// `veil privacy export|erase`: data-subject requests from the command line.
struct PrivacyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "privacy",
        abstract: "Export or erase everything Veil holds about one data subject.",
        subcommands: [Export.self, Erase.self]
    )

    struct Selector: ParsableArguments {
        @Option(help: "The site (its domain in the config).") var site: String
        @Option(help: "A session number. On cookieless sites every session with the same daily visitor hash is included.")
        var session: String?
        @Option(help: "Persistent identity: the visitor ID the browser shows (veil.visitorId()).") var visitor: String?
        @Option(help: "Persistent identity: the site's own user ID (as passed to veil.identify).") var user: String?
    }

    static func open(_ options: ConfigOptions, selector: Selector) throws -> (PrivacyRequests, String, Subject) {
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        guard let rules = config.site(selector.site) else { throw ValidationError("there is no site \"\(selector.site)\" in the config") }
        let database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes)
        let secret = try loadSecret(config: config, random: systemRandomBytes, logger: Logger(label: "veil", factory: EscapingLogHandler.standardError))
        // With the ClickHouse backend the subject's events are there (the node holds only its outbox).
        var clickhouse: ClickHouseSubjects?
        if config.backend == .clickhouse {
            do { clickhouse = ClickHouseSubjects(client: try ClickHouseClient(settings: config.clickhouse)) } catch { throw ValidationError("\(error)") }
        }
        let requests = PrivacyRequests(database: database, clock: .system, secret: secret, rules: config.analyticsRules, clickhouse: clickhouse)
        let site = rules.key
        do {
            return (requests, site, try requests.subject(site: site, session: selector.session, visitor: selector.visitor, user: selector.user))
        } catch {
            throw ValidationError(error.detail)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write one JSON document with every row held about the subject.")
        @OptionGroup var selector: Selector
        @Option(help: "Write to this file instead of standard output.") var out: String?
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (requests, site, subject) = try PrivacyCommand.open(options, selector: selector)
            let file = try await requests.export(site: site, subject: subject, actor: "cli")
            if file.format == .zip, out == nil {
                throw ValidationError("this subject has many events, so the export is a zip of NDJSON files: add --out FILE.zip")
            }
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: nil, attributes: [.posixPermissions: 0o600]),
                      let handle = FileHandle(forWritingAtPath: out) else {
                    throw ValidationError("cannot write \(out)")
                }
                defer { try? handle.close() }
                try await file.write { try handle.write(contentsOf: $0) }
                printError("wrote \(out) (\(file.fileExtension))")
            } else {
                try await file.write { FileHandle.standardOutput.write(Data($0)) }
                print()
            }
        }
    }

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every row held about the subject (needs --yes).")
        @OptionGroup var selector: Selector
        @Flag(help: "Confirm the erasure; it cannot be undone.") var yes = false
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            guard yes else { throw ValidationError("erasure cannot be undone; add --yes to confirm") }
            let (requests, site, subject) = try PrivacyCommand.open(options, selector: selector)
            let counts = try await requests.erase(site: site, subject: subject, actor: "cli")
            let clickhouse = counts["clickhouse_events"].map { " (ClickHouse: \($0) events, \(counts["clickhouse_feedback"] ?? 0) survey rows)" } ?? ""
            print("erased \(counts["events"] ?? 0) events and \(counts["sessions"] ?? 0) sessions\(clickhouse)")
        }
    }
}
