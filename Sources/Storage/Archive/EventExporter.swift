import Crypto
import Foundation
import Privacy

/// Writes a site's events in a time range as gzip-compressed NDJSON (`EventLine`), in
/// pieces to a sink: the CLI's file, the API's response, the archive's day files. Memory
/// is one page of events and zlib's window, whatever the range holds.
public struct EventExporter: Sendable {
    public let database: VeilDatabase

    public init(database: VeilDatabase) {
        self.database = database
    }

    public struct RangeError: Error, Sendable {
        public var message: String
    }

    /// Inclusive `YYYY-MM-DD` days on the site's clock as milliseconds `[start of from,
    /// start of the day after to)`; either may be omitted (from the first event, to now).
    public static func range(from: String?, to: String?, calendar: DayCalendar) throws(RangeError) -> Range<Int64> {
        var start = Int64.min / 2, end = Int64.max / 2
        if let from {
            guard let day = DayCalendar.parseDate(from) else { throw RangeError(message: "from must be a date such as 2026-12-01") }
            start = calendar.start(ofDay: day)
        }
        if let to {
            guard let day = DayCalendar.parseDate(to) else { throw RangeError(message: "to must be a date such as 2026-12-31") }
            end = calendar.start(ofDay: day + 1)
        }
        guard start < end else { throw RangeError(message: "from must not be after to") }
        return start..<end
    }

    public struct Summary: Sendable, Equatable {
        public var events: Int
        /// Compressed bytes written, and their SHA-256 (hex).
        public var bytes: Int
        public var sha256: String
    }

    public func write(site: String, from: Int64, to: Int64, progress: (Int) -> Void = { _ in },
                      _ sink: ([UInt8]) async throws -> Void) async throws -> Summary {
        guard let gzip = GzipWriter() else { throw StorageError.database("zlib could not start a gzip stream") }
        var hasher = SHA256()
        var events = 0, bytes = 0
        func emit(_ chunk: [UInt8]) async throws {
            guard !chunk.isEmpty else { return }
            hasher.update(data: chunk)
            bytes += chunk.count
            try await sink(chunk)
        }
        try await database.exportEventBytes(site: site, from: from, to: to) { lines, count in
            events += count
            try await emit(gzip.write(lines))
            progress(events)
        }
        try await emit(gzip.finish())
        return Summary(events: events, bytes: bytes, sha256: Array(hasher.finalize()).hexString)
    }
}
