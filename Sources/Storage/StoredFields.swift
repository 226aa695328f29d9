/// Every column Veil stores, what it holds, where it comes from and how long it is kept.
///
/// The export header, the "What Veil stores" page and the README are built from this
/// list, and a test compares it with the live schema, so it cannot drift.
public struct StoredField: Sendable, Equatable {
    public var table: String
    public var column: String
    public var meaning: String
    public var source: String
    public var kept: String
}

public enum StoredFields {
    static let events = "per site: retention.events_days (default 395 days)"
    static let salts = "48 hours from the start of its day"

    public static let all: [StoredField] = [
        .init(table: "events", column: "id", meaning: "Row number", source: "Veil", kept: events),
        .init(table: "events", column: "site", meaning: "Site domain the event belongs to", source: "tracker data-site / API", kept: events),
        .init(table: "events", column: "ts", meaning: "When Veil received the event (ms since 1970, UTC)", source: "server clock", kept: events),
        .init(table: "events", column: "name", meaning: "pageview or a custom event name, PII scrubbed", source: "tracker / API", kept: events),
        .init(table: "events", column: "host", meaning: "Host of the page URL", source: "page URL", kept: events),
        .init(table: "events", column: "path", meaning: "Path of the page URL, PII scrubbed", source: "page URL", kept: events),
        .init(table: "events", column: "query", meaning: "Allow-listed query parameters (utm_*, ref, source), PII scrubbed", source: "page URL", kept: events),
        .init(table: "events", column: "referrer_host", meaning: "Host of the referring page (not for navigation within the site)", source: "document.referrer", kept: events),
        .init(table: "events", column: "referrer_path", meaning: "Path of the referring page, PII scrubbed", source: "document.referrer", kept: events),
        .init(table: "events", column: "props", meaning: "Custom properties, PII scrubbed, filtered by property_allowlist", source: "veil.track / API", kept: events),
        .init(table: "events", column: "visitor", meaning: "16-byte salted hash of site, IP and user agent; unlinkable once the day's salt is deleted", source: "derived", kept: events),
        .init(table: "events", column: "session_id", meaning: "The server-side session the event belongs to", source: "derived", kept: events),
        .init(table: "events", column: "browser", meaning: "Browser family (e.g. Firefox), not the user-agent string", source: "User-Agent", kept: events),
        .init(table: "events", column: "os", meaning: "Operating system family", source: "User-Agent", kept: events),
        .init(table: "events", column: "device", meaning: "desktop, mobile or tablet", source: "User-Agent", kept: events),
        .init(table: "events", column: "client_id", meaning: "Random ID the tracker gives each event, to drop duplicates", source: "tracker / API", kept: events),
        .init(table: "events", column: "user_hash", meaning: "Persistent identity only: HMAC-SHA256 (server secret) of the site's own user ID", source: "veil.identify", kept: events),
        .init(table: "sessions", column: "id", meaning: "Session number", source: "Veil", kept: events),
        .init(table: "sessions", column: "site", meaning: "Site domain", source: "tracker / API", kept: events),
        .init(table: "sessions", column: "visitor", meaning: "Visitor hash (as events.visitor)", source: "derived", kept: events),
        .init(table: "sessions", column: "started_at", meaning: "First event of the session", source: "server clock", kept: events),
        .init(table: "sessions", column: "last_seen", meaning: "Latest event of the session", source: "server clock", kept: events),
        .init(table: "sessions", column: "entry_path", meaning: "First page of the session", source: "page URL", kept: events),
        .init(table: "sessions", column: "exit_path", meaning: "Last page of the session", source: "page URL", kept: events),
        .init(table: "sessions", column: "pageviews", meaning: "Pageviews in the session", source: "derived", kept: events),
        .init(table: "sessions", column: "events", meaning: "Events in the session", source: "derived", kept: events),
        .init(table: "sessions", column: "referrer_host", meaning: "Referrer of the session's first event", source: "document.referrer", kept: events),
        .init(table: "sessions", column: "browser", meaning: "Browser family", source: "User-Agent", kept: events),
        .init(table: "sessions", column: "os", meaning: "Operating system family", source: "User-Agent", kept: events),
        .init(table: "sessions", column: "device", meaning: "Device class", source: "User-Agent", kept: events),
        .init(table: "sessions", column: "channel", meaning: "Channel grouping (Direct, Organic search, Social, E-mail, Paid, Referral)", source: "derived from referrer and utm_medium", kept: events),
        .init(table: "sessions", column: "utm_source", meaning: "utm_source of the first page, PII scrubbed", source: "page URL", kept: events),
        .init(table: "sessions", column: "utm_medium", meaning: "utm_medium of the first page", source: "page URL", kept: events),
        .init(table: "sessions", column: "utm_campaign", meaning: "utm_campaign of the first page", source: "page URL", kept: events),
        .init(table: "sessions", column: "utm_term", meaning: "utm_term of the first page", source: "page URL", kept: events),
        .init(table: "sessions", column: "utm_content", meaning: "utm_content of the first page", source: "page URL", kept: events),
        .init(table: "sessions", column: "screen", meaning: "Screen size class (Mobile, Tablet, Laptop, Desktop), never the exact size", source: "screen.width", kept: events),
        .init(table: "sessions", column: "language", meaning: "Primary browser language (en, not en-GB)", source: "navigator.language", kept: events),
        .init(table: "sessions", column: "country", meaning: "Two-letter country code; the IP address is looked up and discarded", source: "IP via geoip.database", kept: events),
        .init(table: "rollups", column: "site", meaning: "Site domain", source: "derived", kept: events),
        .init(table: "rollups", column: "dim", meaning: "Dimension (page, channel, country, goal, …)", source: "derived", kept: events),
        .init(table: "rollups", column: "bucket", meaning: "UTC day (hour for the hourly series)", source: "derived", kept: events),
        .init(table: "rollups", column: "value", meaning: "The dimension's value, as stored in events and sessions", source: "derived", kept: events),
        .init(table: "rollups", column: "visitors", meaning: "Distinct visitors that day (no visitor hashes are kept here)", source: "derived", kept: events),
        .init(table: "rollups", column: "hits", meaning: "Events", source: "derived", kept: events),
        .init(table: "rollups", column: "pageviews", meaning: "Pageviews", source: "derived", kept: events),
        .init(table: "rollups", column: "sessions", meaning: "Sessions that started that day", source: "derived", kept: events),
        .init(table: "rollups", column: "bounces", meaning: "Sessions with at most one pageview", source: "derived", kept: events),
        .init(table: "rollups", column: "duration", meaning: "Summed session duration (ms)", source: "derived", kept: events),
        .init(table: "rollup_state", column: "site", meaning: "Site domain", source: "config", kept: "while the site is configured"),
        .init(table: "rollup_state", column: "fingerprint", meaning: "The goal and click-definition rules the rollups were built with", source: "config", kept: "while the site is configured"),
        .init(table: "share_links", column: "token_hash", meaning: "SHA-256 of a public read-only dashboard link", source: "random", kept: "until revoked"),
        .init(table: "share_links", column: "site", meaning: "The site the link shows", source: "dashboard", kept: "until revoked"),
        .init(table: "share_links", column: "created_at", meaning: "When the link was created", source: "server clock", kept: "until revoked"),
        .init(table: "salts", column: "day", meaning: "UTC day the salt is used for", source: "server clock", kept: salts),
        .init(table: "salts", column: "salt", meaning: "32 random bytes for the visitor hash", source: "random", kept: salts),
        .init(table: "users", column: "id", meaning: "Dashboard user number", source: "Veil", kept: "until removed from the config"),
        .init(table: "users", column: "username", meaning: "Dashboard user name", source: "config", kept: "until removed from the config"),
        .init(table: "users", column: "password_hash", meaning: "PBKDF2-SHA256 hash of the password", source: "config / first start", kept: "until changed"),
        .init(table: "users", column: "created_at", meaning: "When the user was created", source: "server clock", kept: "until removed"),
        .init(table: "login_sessions", column: "token_hash", meaning: "SHA-256 of a dashboard sign-in cookie", source: "random", kept: "14 days or until sign-out"),
        .init(table: "login_sessions", column: "user_id", meaning: "Who signed in", source: "sign-in", kept: "14 days or until sign-out"),
        .init(table: "login_sessions", column: "created_at", meaning: "When", source: "server clock", kept: "14 days or until sign-out"),
        .init(table: "login_sessions", column: "expires_at", meaning: "When the sign-in ends", source: "server clock", kept: "14 days or until sign-out"),
        .init(table: "audit_log", column: "id", meaning: "Entry number", source: "Veil", kept: "indefinitely (holds no personal data)"),
        .init(table: "audit_log", column: "at", meaning: "When an export or erasure ran", source: "server clock", kept: "indefinitely"),
        .init(table: "audit_log", column: "actor", meaning: "Dashboard user, API token or command line", source: "request", kept: "indefinitely"),
        .init(table: "audit_log", column: "action", meaning: "export or erase", source: "request", kept: "indefinitely"),
        .init(table: "audit_log", column: "site", meaning: "Site domain", source: "request", kept: "indefinitely"),
        .init(table: "audit_log", column: "subject_hash", meaning: "SHA-256 of the subject selector (no raw identifier)", source: "derived", kept: "indefinitely"),
        .init(table: "audit_log", column: "rows", meaning: "Rows exported or erased per table", source: "derived", kept: "indefinitely"),
        .init(table: "audit_log", column: "subject_kind", meaning: "session, visitor or user", source: "request", kept: "indefinitely"),
    ]
}
