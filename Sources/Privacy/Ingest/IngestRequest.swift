/// The one value that holds a request's raw IP and user agent.
///
/// It lives only for the duration of an ingest call; its `description` is redacted so
/// the raw values can never reach a log line by accident.
public struct IngestContext: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public let clientIP: String
    public let userAgent: String
    public let origin: String?
    public let doNotTrack: Bool
    public let globalPrivacyControl: Bool
    /// Server receive time, in milliseconds since 1970 (UTC).
    public let receivedAt: Int64

    public init(clientIP: String, userAgent: String, origin: String?, doNotTrack: Bool, globalPrivacyControl: Bool, receivedAt: Int64) {
        self.clientIP = clientIP
        self.userAgent = userAgent
        self.origin = origin
        self.doNotTrack = doNotTrack
        self.globalPrivacyControl = globalPrivacyControl
        self.receivedAt = receivedAt
    }

    public var description: String { "IngestContext(ip: <redacted>, ua: <redacted>, origin: \(origin ?? "-"))" }
    public var debugDescription: String { description }
}

/// One event as the client sent it, after structural validation.
public struct RawEvent: Sendable, Equatable {
    public var site: String
    public var name: String
    public var url: String
    public var referrer: String?
    public var props: [(String, String)]
    public var clientID: String?
    /// Persistent identity: the tracker's random visitor ID (`vid`) and the site's user ID (`uid`).
    public var visitorID: String?
    public var userID: String?
    /// `w`: the screen width in CSS pixels (stored only as a size class).
    public var screenWidth: Int?
    /// `l`: the browser language tag (stored only as its primary language).
    public var language: String?
    /// Server-side identity (SDK protocols): the caller's own ID for the person
    /// (`distinct_id`, `userId`, `anonymousId`), stored only as an HMAC with the server
    /// secret. When set, the visitor is that HMAC instead of the cookieless hash.
    public var sdkIdentity: String?
    /// The person's user agent and IP address as the payload names them (`context`,
    /// `$ip`): a server-side SDK's request carries the server's own. The address is used
    /// only for the country lookup.
    public var payloadUserAgent: String?
    public var payloadIP: String?
    /// When the client says the event happened, already corrected for its clock skew (ms
    /// since 1970). Honoured within `ClientTimeWindow`.
    public var clientTime: Int64?

    public init(site: String, name: String, url: String, referrer: String? = nil, props: [(String, String)] = [], clientID: String? = nil,
                visitorID: String? = nil, userID: String? = nil, screenWidth: Int? = nil, language: String? = nil) {
        self.site = site
        self.name = name
        self.url = url
        self.referrer = referrer
        self.props = props
        self.clientID = clientID
        self.visitorID = visitorID
        self.userID = userID
        self.screenWidth = screenWidth
        self.language = language
    }

    public static func == (a: RawEvent, b: RawEvent) -> Bool {
        a.site == b.site && a.name == b.name && a.url == b.url && a.referrer == b.referrer
            && a.clientID == b.clientID && a.visitorID == b.visitorID && a.userID == b.userID
            && a.screenWidth == b.screenWidth && a.language == b.language && a.props.count == b.props.count
            && a.sdkIdentity == b.sdkIdentity && a.payloadUserAgent == b.payloadUserAgent && a.payloadIP == b.payloadIP && a.clientTime == b.clientTime
            && zip(a.props, b.props).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// An event ready to store: no raw IP, no raw user agent, cleaned URL and referrer.
public struct CleanEvent: Sendable, Equatable {
    public var site: String
    public var timestamp: Int64
    public var name: String
    public var host: String
    public var path: String
    /// Allow-listed query parameters (`utm_*`, `ref`, `source`), in request order.
    public var query: [(String, String)]
    public var referrerHost: String?
    public var referrerPath: String?
    public var props: [(String, String)]
    public var clientID: String?
    /// 16-byte visitor hash candidates: today's salt first, then yesterday's (so a
    /// session that started before midnight continues; the writer picks the one in use).
    public var visitorCandidates: [[UInt8]]
    public var browser: String
    public var os: String
    public var device: String
    /// Persistent identity: HMAC of the site's own user ID, when `veil.identify` was called.
    public var userHash: [UInt8]?
    /// How many values of each kind the scrubber replaced in this event (for metrics).
    public var scrubbed: [PIIScrubber.Kind: Int] = [:]
    /// The client's time was outside `ClientTimeWindow`; the event is stored at server time.
    public var clockSkew = false
    /// Visit attributes, kept on the session its first event opens.
    public var visit = VisitAttributes()

    public init(site: String, timestamp: Int64, name: String, host: String, path: String, query: [(String, String)] = [], referrerHost: String? = nil, referrerPath: String? = nil, props: [(String, String)] = [], clientID: String? = nil, visitorCandidates: [[UInt8]], browser: String = "Unknown", os: String = "Unknown", device: String = "desktop") {
        self.site = site
        self.timestamp = timestamp
        self.name = name
        self.host = host
        self.path = path
        self.query = query
        self.referrerHost = referrerHost
        self.referrerPath = referrerPath
        self.props = props
        self.clientID = clientID
        self.visitorCandidates = visitorCandidates
        self.browser = browser
        self.os = os
        self.device = device
    }

    public static func == (a: CleanEvent, b: CleanEvent) -> Bool {
        a.site == b.site && a.timestamp == b.timestamp && a.name == b.name && a.host == b.host && a.path == b.path
            && a.query.map { $0.0 + "=" + $0.1 } == b.query.map { $0.0 + "=" + $0.1 }
            && a.referrerHost == b.referrerHost && a.referrerPath == b.referrerPath
            && a.props.map { $0.0 + "=" + $0.1 } == b.props.map { $0.0 + "=" + $0.1 }
            && a.clientID == b.clientID && a.visitorCandidates == b.visitorCandidates
            && a.browser == b.browser && a.os == b.os && a.device == b.device
    }

    /// The value of an allow-listed query parameter, e.g. `utm_source`.
    public func queryValue(_ key: String) -> String? { query.first(where: { $0.0 == key })?.1 }
}

/// What a session records about how the visit arrived and on what kind of device,
/// beyond the reduced user agent. "" means unknown or absent.
public struct VisitAttributes: Sendable, Equatable {
    public var channel: String = Acquisition.Channel.direct.rawValue
    public var utmSource = ""
    public var utmMedium = ""
    public var utmCampaign = ""
    public var utmTerm = ""
    public var utmContent = ""
    public var screen = ""
    public var language = ""
    public var country = ""

    public init() {}
}
