import ArgumentParser
import Foundation
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
        @Option(help: "A session number (from the dashboard). On cookieless sites every session with the same daily visitor hash is included.")
        var session: Int64
    }

    static func open(_ options: ConfigOptions, site: String) throws -> (PrivacyRequests, String) {
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        guard let rules = config.site(site) else { throw ValidationError("there is no site \"\(site)\" in the config") }
        let database = try VeilDatabase(folder: config.dataDir)
        return (PrivacyRequests(database: database, clock: .system), rules.domain.lowercased())
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write one JSON document with every row held about the subject.")
        @OptionGroup var selector: Selector
        @Option(help: "Write to this file instead of standard output.") var out: String?
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (requests, site) = try PrivacyCommand.open(options, site: selector.site)
            let document = try await requests.export(site: site, subject: .session(selector.session), actor: "cli")
            if let out {
                guard FileManager.default.createFile(atPath: out, contents: Data(document.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ValidationError("cannot write \(out)")
                }
                printError("wrote \(out)")
            } else {
                print(document)
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
            let (requests, site) = try PrivacyCommand.open(options, site: selector.site)
            let counts = try await requests.erase(site: site, subject: .session(selector.session), actor: "cli")
            print("erased \(counts["events"] ?? 0) events and \(counts["sessions"] ?? 0) sessions")
        }
    }
}
