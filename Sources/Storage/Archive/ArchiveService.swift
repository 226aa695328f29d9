import Crypto
import Foundation
import Logging
import Privacy
import ServiceLifecycle

/// The daily raw-event archive (`archive.enabled`): each closed day of each site as
/// `<dir>/<site>/YYYY/MM/DD.ndjson.gz` (the export format), with `DD.ndjson.gz.sha256`
/// (`sha256sum -c` reads it) and `DD.manifest.json` (events, bytes, checksum, schema).
///
/// Every pass compares each closed day's event count in the database with its manifest
/// and writes the days that differ: new days, days a late SDK event or an import added
/// to, and days an erasure removed events from (rewritten without them). Days before a
/// site's retention cutoff are left as they are: the archive is the operator's copy.
/// Files are written to a temporary name, synced and renamed, so a reader never sees half
/// a day, and a pass repeated writes nothing.
public struct ArchiveService: Service {
    let database: VeilDatabase
    /// The configured sites, read at each pass.
    let sites: LiveSites
    let directory: String
    let clock: TimeSource
    let logger: Logger
    let interval: Duration
    /// A day is archived once it ended this long ago (visits going on at midnight end).
    public static let closeDelayMillis: Int64 = 3_600_000

    public init(database: VeilDatabase, sites: [SiteRules], directory: String, clock: TimeSource, logger: Logger, interval: Duration = .seconds(3600)) {
        self.init(database: database, sites: LiveSites(sites), directory: directory, clock: clock, logger: logger, interval: interval)
    }

    public init(database: VeilDatabase, sites: LiveSites, directory: String, clock: TimeSource, logger: Logger, interval: Duration = .seconds(3600)) {
        self.database = database
        self.sites = sites
        self.directory = directory
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    /// What a pass did.
    public struct Pass: Sendable, Equatable {
        public var written = 0
        public var removed = 0
        public var unchanged = 0

        public init(written: Int = 0, removed: Int = 0, unchanged: Int = 0) {
            self.written = written
            self.removed = removed
            self.unchanged = unchanged
        }
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let pass = try await archive()
                if pass.written + pass.removed > 0 {
                    logger.notice("archived closed days", metadata: ["written": "\(pass.written)", "removed": "\(pass.removed)", "dir": "\(directory)"])
                }
            } catch {
                logger.error("archive pass failed", metadata: ["error": "\(error)", "dir": "\(directory)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over every site's closed days within retention.
    public func archive() async throws -> Pass {
        var pass = Pass()
        let now = clock.nowMillis()
        for site in sites.sites {
            let calendar = site.analytics.calendar
            let lastClosed = calendar.day(of: now - Self.closeDelayMillis) - 1
            let cutoffDay = calendar.day(of: now - Int64(site.eventsRetentionDays) * 86_400_000) + 1
            guard let first = try await database.firstEventTime(site: site.key) else { continue }
            var day = max(calendar.day(of: first), cutoffDay)
            while day <= lastClosed {
                if Task.isCancelled || Task.isShuttingDownGracefully { return pass }
                let from = calendar.start(ofDay: day), to = calendar.start(ofDay: day + 1)
                let count = try await database.eventCount(site: site.key, from: from, to: to)
                let paths = Paths(directory: directory, site: site.key, day: day)
                let archived = Self.manifestCount(paths.manifest)
                if count == archived ?? 0 && (archived != nil || count == 0) {
                    pass.unchanged += 1
                } else if count == 0 {
                    // Every event of an archived day was erased: the day's files go too.
                    for path in [paths.data, paths.checksum, paths.manifest] { try? FileManager.default.removeItem(atPath: path) }
                    pass.removed += 1
                } else {
                    try await write(site: site.key, day: day, from: from, to: to, paths: paths)
                    pass.written += 1
                }
                day += 1
            }
        }
        return pass
    }

    struct Paths {
        let folder: String, data: String, checksum: String, manifest: String, name: String

        init(directory: String, site: String, day: Int64) {
            let (y, m, d) = DayCalendar.civil(day)
            // Site keys are host names (no `/`); the folder names only what the config names.
            folder = "\(directory)/\(site)/\(String(format: "%04d", y))/\(String(format: "%02d", m))"
            name = String(format: "%02d", d) + ".ndjson.gz"
            data = "\(folder)/\(name)"
            checksum = data + ".sha256"
            manifest = "\(folder)/\(String(format: "%02d", d)).manifest.json"
        }
    }

    static func manifestCount(_ path: String) -> Int? {
        guard let bytes = FileManager.default.contents(atPath: path), let json = try? JSONParser.parse([UInt8](bytes)) else { return nil }
        return json["events"]?.intValue
    }

    private func write(site: String, day: Int64, from: Int64, to: Int64, paths: Paths) async throws {
        try FileManager.default.createDirectory(atPath: paths.folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let temporary = paths.data + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: nil, attributes: [.posixPermissions: 0o600]),
              let handle = FileHandle(forWritingAtPath: temporary) else { throw StorageError.database("cannot write \(temporary)") }
        let summary: EventExporter.Summary
        do {
            summary = try await EventExporter(database: database).write(site: site, from: from, to: to) { try handle.write(contentsOf: $0) }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(atPath: temporary)
            throw error
        }
        try Self.replace(paths.data, with: temporary)
        try Self.atomicWrite(paths.checksum, "\(summary.sha256)  \(paths.name)\n")
        let manifest = JSONWriter.value(.object([
            ("schema", .number(Double(EventLine.schema))), ("site", .string(site)), ("day", .string(DayCalendar.dateString(day))),
            ("events", .number(Double(summary.events))), ("bytes", .number(Double(summary.bytes))), ("sha256", .string(summary.sha256)),
            ("written_at", .string(EventLine.iso8601(clock.nowMillis()))),
        ]))
        // The manifest last: a day whose manifest is missing or stale is written again.
        try Self.atomicWrite(paths.manifest, manifest + "\n")
    }

    static func atomicWrite(_ path: String, _ text: String) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw StorageError.database("cannot write \(temporary)")
        }
        try replace(path, with: temporary)
    }

    static func replace(_ path: String, with temporary: String) throws {
        guard rename(temporary, path) == 0 else { throw StorageError.database("cannot rename \(temporary) to \(path): errno \(errno)") }
    }
}
