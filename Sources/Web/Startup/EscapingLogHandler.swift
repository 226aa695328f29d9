import Logging
import Privacy

/// Wraps Veil's log handler so that nothing logged, message or metadata, can carry a
/// control character: every value passes through `LogText.clean` on its way out.
public struct EscapingLogHandler: LogHandler {
    private var inner: any LogHandler

    public init(_ inner: any LogHandler) {
        self.inner = inner
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.clean) }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: LogText.clean(key)] = newValue.map(Self.clean) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: LogText.clean(event.message.description))
        event.metadata = event.metadata.map { metadata in
            Dictionary(uniqueKeysWithValues: metadata.map { (LogText.clean($0.key), Self.clean($0.value)) })
        }
        inner.log(event: event)
    }

    static func clean(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s): return .string(LogText.clean(s))
        case .stringConvertible(let c): return .string(LogText.clean(c.description))
        case .array(let items): return .array(items.map(clean))
        case .dictionary(let d): return .dictionary(Dictionary(uniqueKeysWithValues: d.map { (LogText.clean($0.key), clean($0.value)) }))
        }
    }

    /// Veil's standard handler: standard error, escaped.
    public static func standardError(label: String) -> EscapingLogHandler {
        EscapingLogHandler(StreamLogHandler.standardError(label: label))
    }
}
