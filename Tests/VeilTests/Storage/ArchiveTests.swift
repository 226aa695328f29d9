import Crypto
import Foundation
import Logging
import Privacy
import Storage
import Testing
@testable import App

/// Issue 13's raw-event archive: the export format read back, the daily archive.
@Suite("Raw-event export, import and the daily archive")
struct ArchiveTests {
    typealias A = AnalyticsTests
    static let rules = [A.site: A.rules]

    static func seeded() async throws -> (TempDir, VeilDatabase) {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        var events = A.dataset
        events[0].userHash = Array(repeating: 0xAB, count: 16)
        events[2].props = [("plan", "pro"), ("big", "12345678901234567890")]
        _ = try await db.insert(events, sessionTimeoutMillis: 30 * A.minute, rules: rules)
        return (dir, db)
    }

    static func export(_ db: VeilDatabase, from: Int64 = Int64.min / 2, to: Int64 = Int64.max / 2, pageSize: Int? = nil) async throws -> ([UInt8], EventExporter.Summary) {
        let sink = Collected()
        let summary = try await EventExporter(database: db).write(site: A.site, from: from, to: to) { sink.append($0) }
        return (sink.bytes, summary)
    }

    static func lines(_ gzip: [UInt8]) throws -> [String] {
        let reader = try #require(GzipReader())
        let text = try reader.read(gzip)
        #expect(reader.ended)
        return String(decoding: text, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test func exportReadsBackIntoAnEqualFolderAndReimportStoresNothing() async throws {
        let (folder, db) = try await Self.seeded()
        defer { withExtendedLifetime(folder) {} }
        let (gzip, summary) = try await Self.export(db)
        #expect(summary.events == A.dataset.count && summary.bytes == gzip.count)
        #expect(summary.sha256 == Array(SHA256.hash(data: gzip)).hexString)
        let lines = try Self.lines(gzip)
        #expect(lines.count == A.dataset.count)
        let first = try JSONParser.parse(Array(lines[0].utf8))
        #expect(first["schema"]?.intValue == 1 && first["site"]?.stringValue == A.site && first["time"]?.stringValue?.hasSuffix("Z") == true)
        #expect(first["session"]?["entry_path"]?.stringValue == "/" && first["user"]?.stringValue == String(repeating: "ab", count: 16))
        #expect(lines.contains { $0.contains(#""big":"12345678901234567890""#) })
        // Into a new folder: the same events, visits and numbers.
        let file = TempDir()
        let path = file.path + "/events.ndjson.gz"
        try Data(gzip).write(to: URL(fileURLWithPath: path))
        let copyDir = TempDir()
        let copy = try VeilDatabase.open(folder: copyDir.path)
        let importer = EventImporter(database: copy, sites: [A.site], sessionTimeoutMillis: 30 * A.minute, rules: Self.rules)
        let imported = try await importer.importFile(path)
        #expect(imported == EventImporter.Summary(stored: A.dataset.count, skipped: 0, refused: [:]))
        func shape(_ db: VeilDatabase) async throws -> [String] {
            try await db.events(site: A.site).map { "\($0.timestamp) \($0.name) \($0.path) \($0.visitor.hexString) \($0.props ?? "") \($0.userHash?.hexString ?? "")" }
        }
        #expect(try await shape(copy) == shape(db))
        func visits(_ db: VeilDatabase) async throws -> [String] {
            try await db.sessions(site: A.site).map { "\($0.startedAt) \($0.lastSeen) \($0.entryPath) \($0.exitPath) \($0.pageviews) \($0.events)" }.sorted()
        }
        #expect(try await visits(copy) == visits(db))
        for day in (A.day - 1)...(A.day + 1) {
            let scope = StatsScope(site: A.site, fromDay: day, toDay: day + 1, filters: [], rules: A.rules)
                let copied = try await copy.totals(scope), held = try await db.totals(scope)
            #expect(copied == held)
        }
        try await AnalyticsTests.assertConsistent(copy, site: A.site, days: (A.day - 1)...(A.day + 1))
        // Again, into the copy and into the folder it came from: nothing stored twice.
        #expect(try await importer.importFile(path) == EventImporter.Summary(stored: 0, skipped: A.dataset.count, refused: [:]))
        let original = EventImporter(database: db, sites: [A.site], sessionTimeoutMillis: 30 * A.minute, rules: Self.rules)
        #expect(try await original.importFile(path).stored == 0)
        #expect(try await db.eventCount(site: A.site) == A.dataset.count)
        // A re-export of the copy names the same events.
        let again = try Self.lines(try await Self.export(copy).0).map { try JSONParser.parse(Array($0.utf8))["event_id"] }
        #expect(try again == lines.map { try JSONParser.parse(Array($0.utf8))["event_id"] })
    }

    @Test func importRefusesWhatItCannotReadAndPagesDoNotChangeTheExport() async throws {
        let (folder, db) = try await Self.seeded()
        defer { withExtendedLifetime(folder) {} }
        let file = TempDir()
        let path = file.path + "/mixed.ndjson"
        let good = try Self.lines(try await Self.export(db).0)
        let text = ["not json", #"{"schema":2}"#, good[0].replacingOccurrences(of: A.site, with: "other.example"), String(repeating: "x", count: EventImporter.maxLine + 10), good[1]]
            .joined(separator: "\n")
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let copyDir = TempDir()
        let importer = EventImporter(database: try VeilDatabase.open(folder: copyDir.path), sites: [A.site], sessionTimeoutMillis: 30 * A.minute, rules: Self.rules)
        let r = try await importer.importFile(path)
        #expect(r.stored == 1 && r.refused == ["not_json": 1, "unknown_schema": 1, "unknown_site": 1, "line_too_long": 1], "\(r)")
        // A truncated gzip file is refused as such.
        let gz = try await Self.export(db).0
        let cut = file.path + "/cut.ndjson.gz"
        try Data(gz.prefix(gz.count / 2)).write(to: URL(fileURLWithPath: cut))
        await #expect(throws: EventImporter.Failure.self) { try await importer.importFile(cut) }
        // One page or many: the same bytes.
        var pages: [String] = []
        try await db.exportEvents(site: A.site, from: Int64.min / 2, to: Int64.max / 2, pageSize: 3) { pages += $0 }
        #expect(pages == good)
    }

    @Test func theDailyArchiveWritesClosedDaysOnceAndRewritesChangedOnes() async throws {
        let (dir, db) = try await Self.seeded()
        let archive = dir.path + "/archive"
        var site = SiteRules(domain: A.site)
        site.analytics = A.rules
        let clock = ManualTime(TestData.midnight + 3 * TestData.day + 2 * A.hour)  // D+3, 02:00
        let service = ArchiveService(database: db, sites: [site], directory: archive, clock: clock.source, logger: TestData.logger())
        let pass = try await service.archive()
        // D-1 and D hold events; D+1 and D+2 are closed and empty; D+3 is not closed.
        #expect(pass == ArchiveService.Pass(written: 2, removed: 0, unchanged: 2))
        let day = archive + "/\(A.site)/2026/11/20.ndjson.gz"
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: day)))
        let checksum = try String(contentsOfFile: day + ".sha256", encoding: .utf8)
        #expect(checksum == Array(SHA256.hash(data: bytes)).hexString + "  20.ndjson.gz\n")
        let manifest = try JSONParser.parse([UInt8](Data(contentsOf: URL(fileURLWithPath: archive + "/\(A.site)/2026/11/20.manifest.json"))))
        let count = try await db.eventCount(site: A.site, from: TestData.midnight, to: TestData.midnight + TestData.day)
        let archivedLines = try Self.lines(bytes)
        #expect(manifest["events"]?.intValue == count && manifest["day"]?.stringValue == "2026-11-20" && archivedLines.count == count)
        let mode = try FileManager.default.attributesOfItem(atPath: day)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(!FileManager.default.fileExists(atPath: day + ".tmp"))
        // Again: nothing to write.
        #expect(try await service.archive() == ArchiveService.Pass(written: 0, removed: 0, unchanged: 4))
        // A late event for D: that day is written again, with it.
        _ = try await db.insert([A.ev(TestData.midnight + 20 * A.hour, 9, "/late")], sessionTimeoutMillis: 30 * A.minute, rules: Self.rules)
        #expect(try await service.archive() == ArchiveService.Pass(written: 1, removed: 0, unchanged: 3))
        #expect(try Self.lines(try [UInt8](Data(contentsOf: URL(fileURLWithPath: day)))).contains { $0.contains("/late") })
        // Erasing the late visitor: D is rewritten without them.
        _ = try await db.erase(site: A.site, subject: .visitor(Array(repeating: 9, count: 16)), rules: A.rules)
        #expect(try await service.archive().written == 1)
        #expect(try !Self.lines(try [UInt8](Data(contentsOf: URL(fileURLWithPath: day)))).contains { $0.contains("/late") })
    }

    @Test func theCommandsExportAndImportAFolder() async throws {
        let (dir, db) = try await Self.seeded()
        let out = TempDir()
        let config = out.path + "/veil.yaml"
        let copy = out.path + "/copy"
        try Data("data_dir: \(dir.path)\nsites:\n  - domain: \(A.site)\n".utf8).write(to: URL(fileURLWithPath: config))
        try Data("data_dir: \(copy)\nsites:\n  - domain: \(A.site)\n".utf8).write(to: URL(fileURLWithPath: config + ".copy"))
        let file = out.path + "/e.ndjson.gz"
        let export = try #require(try ExportCommand.Events.parseAsRoot(["--site", A.site, "--from", "2026-11-19", "--to", "2026-11-20", "--out", file, "--config", config]) as? ExportCommand.Events)
        try await export.run()
        let inRange = try await db.eventCount(site: A.site, from: TestData.midnight - TestData.day, to: TestData.midnight + TestData.day)
        #expect(try Self.lines(try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))).count == inRange)
        let importer = try #require(try ImportCommand.parseAsRoot([file, "--config", config + ".copy"]) as? ImportCommand)
        try await importer.run()
        try await importer.run()
        #expect(try await VeilDatabase.open(folder: copy).eventCount(site: A.site) == inRange)
        let bad = try #require(try ExportCommand.Events.parseAsRoot(["--site", A.site, "--from", "2026-13-01", "--out", file, "--config", config]) as? ExportCommand.Events)
        await #expect(throws: (any Error).self) { try await bad.run() }
    }
}

/// Bytes a sink receives, from an async closure.
final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var data: [UInt8] = []
    func append(_ chunk: [UInt8]) { lock.withLock { data += chunk } }
    var bytes: [UInt8] { lock.withLock { data } }
}
