import ArgumentParser
import Foundation
import UnixSignals
import Storage
import Hummingbird
import Logging
import NIOCore
import VeilAssets
import Web

@main
struct VeilCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "veil",
        abstract: "Privacy-first, self-hosted product analytics in one binary.",
        subcommands: [Serve.self, Init.self, CheckConfig.self, PrivacyCommand.self, ExportCommand.self, ImportCommand.self, BackupCommand.self, RestoreCommand.self, MigrateCommand.self, UserCommand.self, SeedCommand.self, BenchCommand.self, HashPassword.self, Version.self],
        defaultSubcommand: Serve.self
    )
}

/// Options shared by commands that read the configuration.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "Config file (default: $VEIL_CONFIG, else ./veil.yaml when present, else built-in defaults).")
    var config: String?

    @Option(name: .long, help: "Override `listen` (host:port).")
    var listen: String?

    @Option(name: .customLong("data-dir"), help: "Override `data_dir`.")
    var dataDir: String?

    @Option(name: .customLong("set"), help: ArgumentHelp("Override any key, e.g. --set api.token=abc (repeatable).", valueName: "key=value"))
    var overrides: [String] = []

    func loader() throws -> ConfigLoader {
        var cli: [String: String] = [:]
        for item in overrides {
            guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--set expects key=value, got \"\(item)\"") }
            cli[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        if let listen { cli["listen"] = listen }
        if let dataDir { cli["data_dir"] = dataDir }
        return ConfigLoader(environment: ProcessInfo.processInfo.environment, commandLine: cli)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the Veil server (the default command).")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let loader = try options.loader()
        let file = loader.resolveFile(explicit: options.config)
        let config: VeilConfig
        do { config = try loader.load(file: file) } catch {
            printError("veil: configuration error: \(error)")
            throw ExitCode(2)
        }
        var logger = Logger(label: "veil", factory: VeilLogHandler.factory(VeilLogHandler.Format(rawValue: config.logFormat) ?? .text))
        logger.logLevel = Logger.Level(rawValue: config.logLevel) ?? .info
        logger.info("starting Veil \(VeilVersion.string)", metadata: ["config": "\(file ?? "built-in defaults")", "data_dir": "\(config.dataDir)"])
        // One Veil per data folder; `veil restore` checks the same lock.
        // A folder that cannot hold the lock file fails below with the data folder's own error.
        try? FileManager.default.createDirectory(atPath: config.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let lock = DataFolderLock.take(folder: config.dataDir)
        if case .failure(.inUse) = lock {
            printError("veil: another Veil is running on \(config.dataDir) (it holds \(DataFolderLock.name)); stop it, or use another data_dir")
            throw ExitCode(1)
        }
        defer { if case .success(let held) = lock { held.release() } }
        do {
            var environment = VeilEnvironment(logger: logger)
            // SIGHUP reads the same file again, with the same environment and command line on top.
            environment.reloadConfig = { try loader.load(file: file) }
            let app = try await buildApplication(config: config, environment: environment)
            // The services stop in turn after this; the writer logs what it flushed, then "stopped".
            let announce = Task {
                for await signal in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                    logger.notice("stopping: finishing requests in flight and flushing events waiting to be written", metadata: ["signal": "\(signal)"])
                    break
                }
            }
            defer { announce.cancel() }
            try await app.runService()
            logger.notice("stopped")
        } catch let error as StartupError {
            printError("veil: \(error)")
            throw ExitCode(1)
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            printError("veil: cannot listen on \(config.listenHost):\(config.listenPort): the port is already in use. Stop the other program or pick another port with --listen 127.0.0.1:8081.")
            throw ExitCode(1)
        }
    }
}

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a fully commented config file listing every key with its default.")

    @Argument(help: "Where to write it.") var path: String = "veil.yaml"
    @Flag(help: "Replace an existing file.") var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: path) && !force {
            printError("veil: \(path) already exists; use --force to replace it")
            throw ExitCode(1)
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(EmbeddedAssets.defaultConfig), attributes: [.posixPermissions: 0o600]) else {
            printError("veil: cannot write \(path)")
            throw ExitCode(1)
        }
        print("Wrote \(path). Edit it, check it with `veil check-config \(path)`, then start Veil with `veil serve --config \(path)`.")
    }
}

struct CheckConfig: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "check-config", abstract: "Validate a config file and print the effective configuration (secrets redacted).")

    @Argument(help: "The file to check (default: as for serve).") var path: String?
    @OptionGroup var options: ConfigOptions

    func run() throws {
        let loader = try options.loader()
        let file = loader.resolveFile(explicit: path ?? options.config)
        do {
            let config = try loader.load(file: file)
            print("# effective configuration (\(file ?? "built-in defaults") + environment + command line)")
            print(ConfigLoader.describe(config))
        } catch {
            printError("veil: \(error)")
            throw ExitCode(2)
        }
    }
}

struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hash-password", abstract: "Read a password on standard input and print a hash for admin.password_hash.")

    func run() throws {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            printError("veil: type the password on standard input, e.g. `echo -n 'secret' | veil hash-password`")
            throw ExitCode(1)
        }
        print(try PasswordHasher().hash(line, salt: systemRandomBytes(16)))
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print Veil's version.")
    func run() { print("veil \(VeilVersion.string)") }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
