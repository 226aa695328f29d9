import ArgumentParser
import Foundation
import Storage
import Web

/// `veil user add|passwd|remove|list`: dashboard users in the database (README, "Users").
/// Works while Veil runs: the database takes writes from more than one process.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user",
        abstract: "Manage dashboard users: admins see everything, viewers only the sites they are given.",
        subcommands: [Add.self, Passwd.self, Remove.self, List.self]
    )

    /// The configured database, which must exist (a user is added to a Veil that has run once).
    static func database(_ options: ConfigOptions) throws -> (VeilDatabase, VeilConfig) {
        let loader = try options.loader()
        let config = try loader.load(file: loader.resolveFile(explicit: options.config))
        return (try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes), config)
    }

    /// A password from standard input (`--password-stdin`), or a new one that is printed once.
    static func password(fromStdin: Bool) throws -> (password: String, generated: Bool) {
        if fromStdin {
            guard let line = readLine(strippingNewline: true), line.count >= AccountsRules.minimumPasswordLength else {
                throw ValidationError("type a password of at least 10 characters on standard input")
            }
            return (line, false)
        }
        return (AccountsRules.newPassword(random: systemRandomBytes), true)
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; prints a new password once unless --password-stdin.")
        @Argument(help: "Letters, digits, dots, dashes, underscores or @; at most 64.") var name: String
        @Option(help: "admin or viewer.") var role: String = "viewer"
        @Option(help: "The sites a viewer may see, comma-separated (configured domains).") var sites: String = ""
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            guard AccountsRules.validUsername(name) else { throw ValidationError("a username is 1 to 64 letters, digits, dots, dashes, underscores or @") }
            guard let role = UserRole(rawValue: role) else { throw ValidationError("--role is admin or viewer") }
            let (database, config) = try UserCommand.database(options)
            let keys = try UserCommand.siteKeys(sites, config: config)
            let (password, generated) = try UserCommand.password(fromStdin: passwordStdin)
            do {
                try await database.addUser(username: name, passwordHash: try PasswordHasher().hash(password, salt: systemRandomBytes(16)), role: role,
                                           sites: role == .admin ? [] : keys, nowMillis: UserCommand.now())
            } catch StorageError.conflict(let message) { throw ValidationError(message) }
            try await database.auditUserChange(actor: "cli", action: "user.add", username: name, detail: ["role": role.rawValue, "sites": keys.joined(separator: ",")],
                                               nowMillis: UserCommand.now())
            print("added \(name) (\(role.rawValue)\(role == .viewer ? " of " + (keys.isEmpty ? "no site yet" : keys.joined(separator: ", ")) : ""))")
            if generated { print("password (shown only this once): \(password)") }
        }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password and end their sessions; prints a new one unless --password-stdin.")
        @Argument var name: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from standard input.") var passwordStdin = false
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (database, _) = try UserCommand.database(options)
            let (password, generated) = try UserCommand.password(fromStdin: passwordStdin)
            guard try await database.setPassword(username: name, passwordHash: try PasswordHasher().hash(password, salt: systemRandomBytes(16))) else {
                throw ValidationError("there is no user \(name)")
            }
            try await database.auditUserChange(actor: "cli", action: "user.reset_password", username: name, detail: [:], nowMillis: UserCommand.now())
            print("password of \(name) changed; their sessions have ended")
            if generated { print("password (shown only this once): \(password)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user and end their sessions (not the last admin).")
        @Argument var name: String
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (database, _) = try UserCommand.database(options)
            do {
                guard try await database.removeUser(username: name) else { throw ValidationError("there is no user \(name)") }
            } catch StorageError.conflict(let message) { throw ValidationError(message) }
            try await database.auditUserChange(actor: "cli", action: "user.remove", username: name, detail: [:], nowMillis: UserCommand.now())
            print("removed \(name)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their role and sites.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let (database, _) = try UserCommand.database(options)
            for user in try await database.users() {
                print("\(user.username)\t\(user.role.rawValue)\t\(user.isAdmin ? "*" : user.sites.joined(separator: ","))")
            }
        }
    }

    /// `--sites` as site keys; every name must be a configured site.
    static func siteKeys(_ list: String, config: VeilConfig) throws -> [String] {
        try list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { name in
            guard let site = config.site(name) else { throw ValidationError("\(name) is not a site in the config") }
            return site.key
        }
    }
}
