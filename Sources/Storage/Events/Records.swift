/// What happened to one event handed to the writer.
public enum InsertOutcome: Sendable, Equatable {
    case stored
    case duplicate
}

/// A half-open time range in milliseconds since 1970 (UTC).
public struct TimeRange: Sendable, Equatable {
    public var from: Int64
    public var to: Int64

    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }
}

public struct StoredUser: Sendable, Equatable {
    public var id: Int64
    public var username: String
    public var passwordHash: String
}

/// A row of the events table as the export and tests see it.
public struct StoredEvent: Sendable, Equatable {
    public var id: Int64
    public var site: String
    public var timestamp: Int64
    public var name: String
    public var host: String
    public var path: String
    public var query: String?
    public var referrerHost: String?
    public var referrerPath: String?
    public var props: String?
    public var visitor: [UInt8]
    public var sessionID: Int64
    public var browser: String
    public var os: String
    public var device: String
    public var clientID: String?
    public var userHash: [UInt8]? = nil
}

public struct StoredSession: Sendable, Equatable {
    public var id: Int64
    public var site: String
    public var visitor: [UInt8]
    public var startedAt: Int64
    public var lastSeen: Int64
    public var entryPath: String
    public var exitPath: String
    public var pageviews: Int
    public var events: Int
}
