import ArgumentParser
import Foundation
import Storage
import Web

/// `veil backup DEST`: an online, consistent copy of the data folder (README, "Backup and restore").
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the data folder (database snapshot and secret.key, with a checksummed manifest) into a new folder, while Veil runs."
    )

    @Argument(help: "The backup folder to create (it must not exist).") var destination: String
    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        guard FileManager.default.fileExists(atPath: config.dataDir + "/veil.sqlite") else { throw ValidationError("there is no Veil database in \(config.dataDir)") }
        let database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes)
        do {
            let summary = try await Backup.create(database: database, dataDir: config.dataDir, destination: destination, now: Int64(Date().timeIntervalSince1970 * 1000))
            let files = summary.files.map { "\($0.name) (\($0.bytes) bytes)" }.joined(separator: ", ")
            printError("backed up \(summary.events) events into \(destination): \(files)")
            if !config.secret.isEmpty { printError("note: the server secret is set in the config, not in secret.key: keep the config with the backup") }
        } catch let error as Backup.Failure {
            throw ValidationError(error.message)
        }
    }
}

/// `veil restore SRC`: a backup checked against its manifest and put in place.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into the data folder (default: the configured one); refuses a folder a running Veil holds."
    )

    @Argument(help: "A folder made by `veil backup`.") var source: String
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        do {
            let result = try Backup.restore(from: source, to: config.dataDir, now: Int64(Date().timeIntervalSince1970 * 1000))
            printError("restored \(result.events) events into \(config.dataDir)" + (result.replaced.map { "; the folder it replaced is kept as \($0)" } ?? ""))
        } catch let error as Backup.Failure {
            throw ValidationError(error.message)
        }
    }
}
