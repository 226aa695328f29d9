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
    public var role: UserRole
    /// The sites a viewer may see (site keys); admins see every site.
    public var sites: [String]

    public init(id: Int64, username: String, passwordHash: String, role: UserRole = .admin, sites: [String] = []) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.role = role
        self.sites = sites
    }

    public var isAdmin: Bool { role == .admin }

    /// Whether this user may see the site with this key.
    public func canSee(site key: String) -> Bool { isAdmin || sites.contains(key) }
}

/// What a dashboard user may do: an admin everything; a viewer read the sites given to
/// them, never the privacy tools, replay deletion, the picker, links or users.
public enum UserRole: String, Sendable, CaseIterable {
    case admin, viewer
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
