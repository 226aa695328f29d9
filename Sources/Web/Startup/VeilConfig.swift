import Foundation
import Privacy
import Storage

/// The effective configuration, after defaults, the file, the environment and the
/// command line have been merged (see `ConfigLoader` in the App target).
public struct VeilConfig: Sendable {
    public var listenHost: String = "127.0.0.1"
    public var listenPort: Int = 8080
    public var dataDir: String = "./veil-data"
    /// The URL people reach Veil at (used in the snippet tag); when empty, the request's Host.
    public var publicURL: String = ""
    /// Mark cookies `Secure` (set when Veil is served over HTTPS).
    public var secureCookies: Bool = false
    /// Peers whose `X-Forwarded-For` is believed: IPs or CIDR ranges.
    public var trustedProxies: [String] = []
    /// 64 hex characters; when empty a random secret is kept in `<data_dir>/secret.key`.
    public var secret: String = ""
    /// Bearer token for the JSON API; the API answers 401 to tokens when empty.
    public var apiToken: String = ""
    /// `tls.certificate` and `tls.private_key`: PEM files; when set, Veil serves HTTPS
    /// (and cookies are Secure). Re-read on SIGHUP.
    public var tlsCertificate: String = ""
    public var tlsPrivateKey: String = ""
    /// `tls.redirect_listen` (host:port): a plain-HTTP listener that only redirects to HTTPS.
    public var tlsRedirectListen: (host: String, port: Int)?
    /// `metrics.token`: the bearer token `/metrics` asks for (empty: `api.token` or a session).
    public var metricsToken: String = ""
    /// `metrics.listen` (host:port): a second listener serving only `/metrics`, without a
    /// token, for a scraper on a private network; empty: none.
    public var metricsListen: (host: String, port: Int)?
    public var adminUsername: String = "admin"
    /// A `pbkdf2-sha256$…` hash (see `veil hash-password`); empty means "create one on first start".
    public var adminPasswordHash: String = ""
    public var trackerPath: String = "/v.js"
    public var limits = IngestLimits()
    public var writer = EventWriter.Settings()
    /// `storage.synchronous`: `full` (default) syncs every commit, so a 202 survives a power cut.
    public var synchronous: VeilDatabase.Synchronous = .full
    /// `storage.backend`: `sqlite` (default) or `clickhouse` (events go through the local
    /// outbox into the shared ClickHouse, which answers the dashboards).
    public var backend: StorageBackend = .sqlite
    /// `clickhouse.*`, used when `backend` is `clickhouse`.
    public var clickhouse = ClickHouseSettings(url: "http://127.0.0.1:8123")
    /// `storage.max_database_bytes` (0: no cap): past it commits fail as on a full disk.
    public var maxDatabaseBytes = 0
    /// `ingest.*`: how much ingest work may be under way at once (503 beyond).
    public var admission = AdmissionSettings()
    /// `rate_limits.*`: token buckets per client address and per site (429 beyond).
    public var rateLimits = RateLimitSettings()
    /// `queries.*`: dashboard and stats queries at once, per site, per share link and in all.
    public var queries = QuerySettings()
    /// `server.max_connections`: open connections; more wait in the listen backlog.
    public var maxConnections = 4096
    /// `server.idle_timeout_seconds`: a connection with no request part read for this long
    /// (idle keep-alive, a stalled head or body) is closed.
    public var idleTimeoutSeconds = 60
    /// `server.header_timeout_seconds` / `body_timeout_seconds`: a request's head must be
    /// complete this long after its first byte, its body this long after its head.
    public var deadlines = RequestDeadlineSettings()
    public var queryAllowlist: [String] = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "ref", "source"]
    public var loginAttempts: Int = 5
    public var loginWindowMinutes: Int = 15
    public var logLevel: String = "info"
    /// `text` (the sentence first, then fields) or `json` (one object per line).
    public var logFormat: String = "text"
    /// A MaxMind-format country database (`.mmdb`); empty: no countries.
    public var geoipDatabase: String = ""
    /// The daily raw-event archive: off, or on into `archiveDir` (empty: `<data_dir>/archive`).
    public var archiveEnabled = false
    public var archiveDir: String = ""
    /// Where the archive is written.
    public var archiveDirectory: String { archiveDir.isEmpty ? (dataDir as NSString).appendingPathComponent("archive") : archiveDir }
    /// The built-in site: this machine, with session replay on so `/demo` shows a new
    /// user their own recording.
    public var sites: [SiteRules] = [{
        var site = SiteRules(domain: "localhost", origins: ["127.0.0.1", "[::1]"])
        site.replay.enabled = true
        return site
    }()]

    public init() {}

    /// Goals and click definitions by lowercased domain, for the rollups.
    public var analyticsRules: [String: AnalyticsRules] { sites.analyticsRules }

    /// The settings a reload cannot change (the listener, the data folder, the writer and
    /// the limiters whose state lives as long as the process), named as in the file.
    var restartOnly: [(key: String, value: String)] {
        [("listen", "\(listenHost):\(listenPort)"), ("data_dir", dataDir), ("secret", secret), ("storage", "\(synchronous) \(maxDatabaseBytes)"),
         ("writer", "\(writer)"), ("ingest", "\(admission)"), ("rate_limits", "\(rateLimits)"), ("queries", "\(queries)"),
         ("server", "\(maxConnections) \(idleTimeoutSeconds) \(deadlines)"), ("log_level", logLevel), ("log_format", logFormat),
         ("login", "\(loginAttempts) \(loginWindowMinutes)"), ("archive", "\(archiveEnabled) \(archiveDir)"),
         ("metrics.listen", "\(metricsListen.map { "\($0.host):\($0.port)" } ?? "")"), ("tls", tlsCertificate.isEmpty ? "off" : "on"),
         ("tls.redirect_listen", "\(tlsRedirectListen.map { "\($0.host):\($0.port)" } ?? "")")]
    }

    public func site(_ domain: String) -> SiteRules? { sites.site(domain) }

    /// The sites, as controllers look them up.
    var catalog: SiteCatalog { SiteCatalog(sites: sites) }

    /// How the snippet tag names Veil's address.
    var snippet: Snippet { Snippet(publicURL: publicURL, fallbackHost: "\(listenHost):\(listenPort)", secure: secureCookies || !tlsCertificate.isEmpty, trackerPath: trackerPath) }
}
