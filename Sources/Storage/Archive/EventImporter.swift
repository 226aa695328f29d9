import Foundation
import Privacy

/// Reads export files (`veil export events`, the daily archive) back into the database.
public struct EventImporter: Sendable {
    public let database: VeilDatabase
    public let sites: Set<String>
    public let sessionTimeoutMillis: Int64
    public let rules: [String: AnalyticsRules]
    /// A line longer than this is refused (an event line is a few hundred bytes).
    public static let maxLine = 1 << 20

    public init(database: VeilDatabase, sites: Set<String>, sessionTimeoutMillis: Int64, rules: [String: AnalyticsRules]) {
        self.database = database
        self.sites = sites
        self.sessionTimeoutMillis = sessionTimeoutMillis
        self.rules = rules
    }

    public struct Summary: Sendable, Equatable {
        public var stored = 0
        /// Already held (a re-import): stored nothing.
        public var skipped = 0
        /// Lines not imported, by reason (`not_json`, `unknown_site`, `line_too_long`…).
        public var refused: [String: Int] = [:]

        public init(stored: Int = 0, skipped: Int = 0, refused: [String: Int] = [:]) {
            self.stored = stored
            self.skipped = skipped
            self.refused = refused
        }
    }

    public struct Failure: Error, Sendable {
        public var message: String
    }

    /// Imports one file (gzip-compressed or plain NDJSON), 1,000 events per transaction,
    /// reading 1 MiB at a time.
    public func importFile(_ path: String) async throws -> Summary {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure(message: "cannot read the file") }
        defer { try? handle.close() }
        var summary = Summary()
        var batch: [CleanEvent] = []
        func take(_ text: [UInt8]) {
            switch EventLine.decode(text) {
            case .success(let event) where sites.contains(event.site): batch.append(event)
            case .success: summary.refused[EventLine.LineError.unknownSite.rawValue, default: 0] += 1
            case .failure(let error): summary.refused[error.rawValue, default: 0] += 1
            }
        }
        func flush() async throws {
            guard !batch.isEmpty else { return }
            let r = try await database.importEvents(batch, sessionTimeoutMillis: sessionTimeoutMillis, rules: rules)
            summary.stored += r.stored
            summary.skipped += r.skipped
            batch.removeAll(keepingCapacity: true)
        }
        var lines = LineReader(maxLine: Self.maxLine)
        var gzip: GzipReader?
        var first = true
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            var bytes = [UInt8](chunk)
            if first {
                first = false
                if bytes.starts(with: [0x1f, 0x8b]) { gzip = GzipReader() }
            }
            if let gzip {
                do { bytes = try gzip.read(bytes) } catch { throw Failure(message: "not a complete gzip file") }
            }
            for line in lines.feed(bytes) {
                switch line {
                case .line(let text): take(text)
                case .tooLong: summary.refused["line_too_long", default: 0] += 1
                }
                if batch.count >= 1000 { try await flush() }
            }
        }
        if let gzip, !gzip.ended { throw Failure(message: "the gzip file is truncated") }
        if let rest = lines.finish() { take(rest) }
        try await flush()
        return summary
    }
}
