import Crypto
import Foundation
import Privacy

/// `veil backup` and `veil restore`: a data folder's database (an online, consistent
/// snapshot) and its `secret.key`, in a folder with a manifest of their sizes and SHA-256
/// checksums. A backup is written under a temporary name and renamed when complete; a
/// restore checks every checksum, refuses a folder a running Veil holds, and swaps the
/// folder in by rename (the folder it replaces is kept beside it).
public enum Backup {
    public static let manifestName = "manifest.json"
    public static let schema = 1
    /// Files a data folder holds besides the database (the salts are in the database).
    static let extraFiles = ["secret.key"]

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    public struct Summary: Sendable {
        public var events: Int
        public var files: [(name: String, bytes: Int, sha256: String)]
    }

    /// Backs `database` (in `dataDir`) up into the new folder `destination`.
    public static func create(database: VeilDatabase, dataDir: String, destination: String, now: Int64) async throws -> Summary {
        let files = FileManager.default
        guard !files.fileExists(atPath: destination) else { throw Failure("\(destination) exists already; name a new folder") }
        let staging = destination + ".partial-\(ProcessInfo.processInfo.processIdentifier)"
        try? files.removeItem(atPath: staging)
        try files.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            try await database.snapshot(to: staging + "/veil.sqlite")
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: staging + "/veil.sqlite")
            for name in extraFiles where files.fileExists(atPath: dataDir + "/" + name) {
                try files.copyItem(atPath: dataDir + "/" + name, toPath: staging + "/" + name)
                try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: staging + "/" + name)
            }
            let copy = try VeilDatabase.open(folder: staging)
            let events = try await copy.totalEventCount()
            var listed: [(name: String, bytes: Int, sha256: String)] = []
            for name in ["veil.sqlite"] + extraFiles where files.fileExists(atPath: staging + "/" + name) {
                let (bytes, sha) = try digest(staging + "/" + name)
                listed.append((name, bytes, sha))
            }
            let manifest: JSONValue = .object([
                ("schema", .number(Double(schema))), ("created_at", .string(EventLine.iso8601(now))), ("events", .number(Double(events))),
                ("files", .array(listed.map { .object([("name", .string($0.name)), ("bytes", .number(Double($0.bytes))), ("sha256", .string($0.sha256))]) })),
            ])
            guard files.createFile(atPath: staging + "/" + manifestName, contents: Data((JSONWriter.value(manifest) + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                throw Failure("cannot write the manifest in \(staging)")
            }
            // Opening the copy to count may have left WAL files: the backup is the database file alone.
            for suffix in ["-wal", "-shm"] { try? files.removeItem(atPath: staging + "/veil.sqlite" + suffix) }
            guard rename(staging, destination) == 0 else { throw Failure("cannot rename \(staging) to \(destination): errno \(errno)") }
            return Summary(events: events, files: listed)
        } catch {
            try? files.removeItem(atPath: staging)
            throw error
        }
    }

    /// Checks a backup folder against its manifest; returns the events it holds.
    @discardableResult
    public static func verify(_ source: String) throws -> Int {
        guard let bytes = FileManager.default.contents(atPath: source + "/" + manifestName),
              let manifest = try? JSONParser.parse([UInt8](bytes)) else { throw Failure("\(source) has no readable \(manifestName): not a Veil backup") }
        guard manifest["schema"]?.intValue == schema else { throw Failure("\(source): unknown backup format") }
        guard case .array(let listed)? = manifest["files"], listed.contains(where: { $0["name"]?.stringValue == "veil.sqlite" }) else {
            throw Failure("\(source): the manifest lists no database")
        }
        for file in listed {
            guard let name = file["name"]?.stringValue, !name.contains("/"), let sha = file["sha256"]?.stringValue else { throw Failure("\(source): damaged manifest") }
            guard FileManager.default.fileExists(atPath: source + "/" + name) else { throw Failure("\(source): \(name) is missing") }
            let (size, actual) = try digest(source + "/" + name)
            guard actual == sha, size == file["bytes"]?.intValue else { throw Failure("\(source): \(name) does not match its checksum; the backup is damaged") }
        }
        return manifest["events"]?.intValue ?? 0
    }

    /// Restores a verified backup into `dataDir`, which no running Veil may hold.
    public static func restore(from source: String, to dataDir: String, now: Int64) throws -> (events: Int, replaced: String?) {
        let events = try verify(source)
        let files = FileManager.default
        let target = (dataDir as NSString).standardizingPath
        if files.fileExists(atPath: target) {
            switch DataFolderLock.take(folder: target) {
            case .success(let lock): lock.release()
            case .failure(.inUse):
                throw Failure("Veil is running on \(target) (it holds \(DataFolderLock.name)); stop it first, or restore into another folder with --data-dir")
            case .failure(.unavailable): break  // the copy below says what is wrong with the folder
            }
        }
        let staging = target + ".restoring-\(ProcessInfo.processInfo.processIdentifier)"
        try? files.removeItem(atPath: staging)
        try files.createDirectory(atPath: staging, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            for name in try files.contentsOfDirectory(atPath: source) where name != manifestName {
                try files.copyItem(atPath: source + "/" + name, toPath: staging + "/" + name)
                try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: staging + "/" + name)
            }
        } catch {
            try? files.removeItem(atPath: staging)
            throw error
        }
        var replaced: String?
        if files.fileExists(atPath: target) {
            let aside = target + ".before-restore-" + EventLine.iso8601(now).replacingOccurrences(of: ":", with: "")
            guard rename(target, aside) == 0 else { throw Failure("cannot move \(target) aside: errno \(errno)") }
            replaced = aside
        }
        guard rename(staging, target) == 0 else { throw Failure("cannot rename \(staging) to \(target): errno \(errno)") }
        return (events, replaced)
    }

    static func digest(_ path: String) throws -> (Int, String) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size = 0
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
            size += chunk.count
        }
        return (size, Array(hasher.finalize()).hexString)
    }
}

/// The data folder's lock: `veil serve` holds an exclusive `flock` on `<data_dir>/veil.lock`
/// while it runs, so `veil restore` can tell a folder in use. One per process: another
/// open of the same file in the same process conflicts with it.
public final class DataFolderLock: Sendable {
    public static let name = "veil.lock"
    private let descriptor: Int32

    /// Takes the lock, or nil when another holder has it or the lock file cannot be opened.
    public convenience init?(folder: String) {
        guard case .success(let fd) = Self.acquire(folder: folder) else { return nil }
        self.init(descriptor: fd)
    }

    private init(descriptor: Int32) { self.descriptor = descriptor }

    public enum Failure: Error, Sendable, Equatable {
        /// Another process holds it: a Veil runs on the folder.
        case inUse
        /// The lock file cannot be opened (no folder, no permission): not a sign of a running Veil.
        case unavailable
    }

    /// Takes the lock, saying why not.
    public static func take(folder: String) -> Result<DataFolderLock, Failure> {
        acquire(folder: folder).map { DataFolderLock(descriptor: $0) }
    }

    private static func acquire(folder: String) -> Result<Int32, Failure> {
        let fd = open(folder + "/" + name, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(.unavailable) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            return .failure(.inUse)
        }
        return .success(fd)
    }

    public func release() {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
