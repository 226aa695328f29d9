import Foundation
import Logging
import Privacy
import Storage

/// Veil's log lines, `log_format: text` or `json`, one per line on standard error.
///
/// Text puts the sentence first and the fields after it (`… notice created the dashboard
/// user … username=admin password=…`), so a line cut at the terminal's width still says
/// what happened. JSON is one object per line for log shippers: `time`, `level`,
/// `message`, `source`, then the fields. Values are cleaned of control characters by
/// `EscapingLogHandler` before they get here.
public struct VeilLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable { case text, json }

    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let format: Format
    let write: @Sendable (String) -> Void

    public init(format: Format, write: @escaping @Sendable (String) -> Void = VeilLogHandler.standardError) {
        self.format = format
        self.write = write
    }

    public static let standardError: @Sendable (String) -> Void = { line in FileHandle.standardError.write(Data(line.utf8)) }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        let time = EventLine.iso8601(Int64(Date().timeIntervalSince1970 * 1000))
        switch format {
        case .text:
            var line = "\(time) \(event.level) \(event.message)"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
            write(line + " [\(event.source)]\n")
        case .json:
            var members: [(String, JSONValue)] = [("time", .string(time)), ("level", .string(event.level.rawValue)),
                                                  ("message", .string(event.message.description)), ("source", .string(event.source))]
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) where !["time", "level", "message", "source"].contains(key) {
                members.append((key, .string("\(value)")))
            }
            write(JSONWriter.value(.object(members)) + "\n")
        }
    }

    /// Veil's handler for a format: escaped, to standard error.
    public static func factory(_ format: Format) -> @Sendable (String) -> any LogHandler {
        { _ in EscapingLogHandler(VeilLogHandler(format: format)) }
    }
}
