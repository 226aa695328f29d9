/// How a site identifies visitors. Only `cookieless` exists in this slice.
public enum IdentityMode: String, Sendable, CaseIterable {
    /// A daily-salted hash of IP and user agent; nothing is written on the device.
    case cookieless
    /// A random ID in first-party localStorage (after consent when required), stored
    /// server-side only as an HMAC with the server secret.
    case persistent
}

/// The per-site rules the ingest pipeline applies.
public struct SiteRules: Sendable, Equatable {
    /// The site's ID and primary host, e.g. `example.com`, as written in the config.
    public var domain: String
    /// The one key a site is stored, counted and looked up under: the domain in lower case.
    public var key: String { domain.lowercased() }
    /// Extra origins (`https://shop.example.net`) or bare hosts allowed to send events.
    public var origins: [String]
    public var identity: IdentityMode
    public var honorDNT: Bool
    public var honorGPC: Bool
    /// Persistent identity only: the tracker creates its ID only after `veil.consent(true)`.
    public var consentRequired: Bool = true
    /// Extra regular expressions whose matches are replaced by `[redacted]` (case-insensitive).
    public var scrubPatterns: [String]
    /// When not empty, only these property keys are kept; others are dropped at ingest.
    public var propertyAllowlist: [String]
    /// Days events (and their sessions) are kept before the retention service deletes them.
    public var eventsRetentionDays: Int = 395
    /// Days session recordings are kept (used by session replay).
    public var replaysRetentionDays: Int = 30
    /// Goals, funnels, click definitions and autocapture.
    public var analytics = AnalyticsRules()
    /// Session replay: whether, how often and how privately pages are recorded.
    public var replay = ReplayRules()
    /// NPS and sentiment surveys.
    public var feedback = FeedbackRules()
    /// Keys other analytics clients send, mapped to this site: PostHog's project
    /// `api_key`, Segment's `write_key`, Umami's `website_id`. Public, like the domain.
    public var sdkKeys = SDKSiteKeys()
    /// Person properties (PostHog `$set`, Segment `traits`) kept with an identity link;
    /// all others are dropped. Empty: none kept.
    public var personProperties: [String] = []

    public init(domain: String, origins: [String] = [], identity: IdentityMode = .cookieless, honorDNT: Bool = true, honorGPC: Bool = true,
                scrubPatterns: [String] = [], propertyAllowlist: [String] = []) {
        self.domain = domain
        self.origins = origins
        self.identity = identity
        self.honorDNT = honorDNT
        self.honorGPC = honorGPC
        self.scrubPatterns = scrubPatterns
        self.propertyAllowlist = propertyAllowlist
    }

    /// Whether people on this site can be named by an ID the site knows: persistent
    /// identity, or an SDK (PostHog, Segment) that sends the site's own IDs.
    public var hasPersonIDs: Bool {
        identity == .persistent || sdkKeys.posthogAPIKey != nil || sdkKeys.segmentWriteKey != nil
    }

    /// Whether a page host is the site's own: its domain, a subdomain, or the host of one
    /// of its extra origins.
    public func owns(host: String) -> Bool {
        var host = host.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let domain = key
        if host == domain || host.hasSuffix("." + domain) { return true }
        return origins.contains { origin in
            let lowered = origin.lowercased()
            var originHost = URLParts.host(ofOrigin: lowered) ?? lowered
            if originHost.hasPrefix("[") && originHost.hasSuffix("]") { originHost = String(originHost.dropFirst().dropLast()) }
            return originHost == host
        }
    }

    /// Whether a browser `Origin` may send events for this site: the site's own host,
    /// any subdomain of it, or one of the configured extra origins (full origin or host).
    public func allows(origin: String) -> Bool {
        let lowered = origin.lowercased()
        if origins.contains(where: { $0.lowercased() == lowered }) { return true }
        guard let host = URLParts.host(ofOrigin: lowered) else { return false }
        let domain = key
        if host == domain || host.hasSuffix("." + domain) { return true }
        return origins.contains(where: { $0.lowercased() == host })
    }
}

/// Every explicit ingest limit; all come from the config and are documented there.
/// A site's keys in other analytics clients' protocols.
public struct SDKSiteKeys: Sendable, Equatable {
    public var posthogAPIKey: String?
    public var segmentWriteKey: String?
    public var umamiWebsiteID: String?

    public init(posthogAPIKey: String? = nil, segmentWriteKey: String? = nil, umamiWebsiteID: String? = nil) {
        self.posthogAPIKey = posthogAPIKey
        self.segmentWriteKey = segmentWriteKey
        self.umamiWebsiteID = umamiWebsiteID
    }
}

/// Which site each SDK key selects, built once from the config.
public struct SDKKeyMap: Sendable {
    public let posthog: [String: String]
    public let segment: [String: String]
    public let umami: [String: String]

    public init(sites: [SiteRules]) {
        var posthog: [String: String] = [:], segment: [String: String] = [:], umami: [String: String] = [:]
        for site in sites {
            if let k = site.sdkKeys.posthogAPIKey { posthog[k] = site.key }
            if let k = site.sdkKeys.segmentWriteKey { segment[k] = site.key }
            // Umami's website IDs are UUIDs, sent in whatever case the snippet was pasted.
            if let k = site.sdkKeys.umamiWebsiteID { umami[k.lowercased()] = site.key }
        }
        self.posthog = posthog
        self.segment = segment
        self.umami = umami
    }
}

public struct IngestLimits: Sendable, Equatable {
    public var eventBodyBytes: Int = 64 * 1024
    public var batchBodyBytes: Int = 1024 * 1024
    public var batchEvents: Int = 100
    public var properties: Int = 30
    public var propertyKeyLength: Int = 64
    public var propertyValueLength: Int = 512
    public var nameLength: Int = 120
    public var urlLength: Int = 2048
    /// POST /api/replay body: a full snapshot of a heavy page can exceed 1 MB.
    public var replayBodyBytes: Int = 4 * 1024 * 1024
    /// rrweb events in one replay chunk.
    public var replayEvents: Int = 5000
    /// Bytes of text one request may make the PII scrubber read; text beyond is masked
    /// unread (`[unscanned]` in events, `*` in recordings). The scrubber is linear, this
    /// bounds its work per request.
    public var scrubBytes: Int = 1024 * 1024
    /// Characters a survey comment may have (`limits.feedback_comment_chars`); longer is a 413.
    public var feedbackCommentChars: Int = 1000
    /// Bytes of one `POST /api/feedback` body.
    public var feedbackBodyBytes: Int = 8 * 1024
    /// One recording's total: bytes of JSON received, bytes stored (compressed chunks and
    /// new stylesheets) and rrweb events. A chunk that would pass any of them is refused,
    /// the recording is marked capped and stops growing (the recorder stops when told).
    /// They bound what one visitor can make playback and export read.
    public var replayRecordingRawBytes: Int = 32 * 1024 * 1024
    public var replayRecordingStoredBytes: Int = 8 * 1024 * 1024
    public var replayRecordingEvents: Int = 200_000
    /// How far SDK clients' own timestamps are believed.
    public var clientTimes = ClientTimeWindow()

    public init() {}
}

extension Array where Element == SiteRules {
    /// The configured site a domain names, whatever its case.
    public func site(_ domain: String) -> SiteRules? {
        let key = domain.lowercased()
        return first { $0.key == key }
    }
}
