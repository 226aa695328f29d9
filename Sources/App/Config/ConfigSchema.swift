import Privacy
import Storage
import Web

/// One scalar (or list) configuration key: how to parse it, apply it and print it.
struct SchemaKey: Sendable {
    enum Kind: Sendable {
        case string
        case int(ClosedRange<Int>)
        case bool
        case strings
        case listen
        /// A listen address, or empty for "none".
        case listenOrEmpty
        case logLevel
        /// One of a fixed set of words.
        case choice([String])
    }

    let path: String
    let kind: Kind
    let secret: Bool
    let apply: @Sendable (inout VeilConfig, ConfigScalar) -> Void
    let read: @Sendable (VeilConfig) -> ConfigScalar

    /// `VEIL_` + path in capitals with dots as underscores.
    var environmentName: String { "VEIL_" + path.uppercased().replacingOccurrences(of: ".", with: "_") }
}

/// The outcome of parsing one value: the value, or why it is wrong.
enum Parsed {
    case ok(ConfigScalar)
    case bad(String)
}

enum ConfigScalar: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case strings([String])

    var yaml: String {
        switch self {
        case .string(let s): return quoteYAML(s)
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        case .strings(let list): return "[" + list.map(quoteYAML).joined(separator: ", ") + "]"
        }
    }
}

func quoteYAML(_ s: String) -> String {
    "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}

extension SchemaKey.Kind {
    /// Parses text from the file, the environment or the command line. Errors say what was expected.
    func parse(_ text: String) -> Parsed {
        switch self {
        case .string:
            return .ok(.string(text))
        case .int(let range):
            guard let v = Int(text.trimmingCharacters(in: .whitespaces)) else { return .bad("expected a whole number, got \(quoteYAML(text))") }
            guard range.contains(v) else { return .bad("\(v) is out of range (\(range.lowerBound)...\(range.upperBound))") }
            return .ok(.int(v))
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .ok(.bool(true))
            case "false", "no", "off", "0": return .ok(.bool(false))
            default: return .bad("expected true or false, got \(quoteYAML(text))")
            }
        case .strings:
            let items = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            return .ok(.strings(items))
        case .listen, .listenOrEmpty:
            if case .listenOrEmpty = self, text.isEmpty { return .ok(.string("")) }
            guard parseListen(text) != nil else { return .bad("expected host:port such as 127.0.0.1:8080 or [::1]:8080, got \(quoteYAML(text))") }
            return .ok(.string(text))
        case .logLevel:
            let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
            guard levels.contains(text.lowercased()) else { return .bad("expected one of \(levels.joined(separator: ", ")), got \(quoteYAML(text))") }
            return .ok(.string(text.lowercased()))
        case .choice(let words):
            guard words.contains(text.lowercased()) else { return .bad("expected one of \(words.joined(separator: ", ")), got \(quoteYAML(text))") }
            return .ok(.string(text.lowercased()))
        }
    }
}

/// `host:port`, with brackets around an IPv6 host.
func formatListen(_ address: (host: String, port: Int)) -> String {
    (address.host.contains(":") ? "[\(address.host)]" : address.host) + ":\(address.port)"
}

/// `host:port`, `[v6]:port` or `:port` (all interfaces).
func parseListen(_ text: String) -> (host: String, port: Int)? {
    guard let colon = text.lastIndex(of: ":") else { return nil }
    var host = String(text[..<colon])
    guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
    if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
    if host.isEmpty { host = "0.0.0.0" }
    return (host, port)
}

extension ConfigScalar {
    var string: String { if case .string(let s) = self { return s }; return "" }
    var int: Int { if case .int(let i) = self { return i }; return 0 }
    var bool: Bool { if case .bool(let b) = self { return b }; return false }
    var strings: [String] { if case .strings(let l) = self { return l }; return [] }
}

/// Every scalar key Veil understands, in the order `check-config` prints them.
enum ConfigSchema {
    static let keys: [SchemaKey] = [
        SchemaKey(path: "listen", kind: .listen, secret: false,
                  apply: { c, v in if let l = parseListen(v.string) { c.listenHost = l.host; c.listenPort = l.port } },
                  read: { c in .string(formatListen((c.listenHost, c.listenPort))) }),
        SchemaKey(path: "data_dir", kind: .string, secret: false, apply: { $0.dataDir = $1.string }, read: { .string($0.dataDir) }),
        SchemaKey(path: "public_url", kind: .string, secret: false, apply: { $0.publicURL = $1.string }, read: { .string($0.publicURL) }),
        SchemaKey(path: "secure_cookies", kind: .bool, secret: false, apply: { $0.secureCookies = $1.bool }, read: { .bool($0.secureCookies) }),
        SchemaKey(path: "trusted_proxies", kind: .strings, secret: false, apply: { $0.trustedProxies = $1.strings }, read: { .strings($0.trustedProxies) }),
        SchemaKey(path: "secret", kind: .string, secret: true, apply: { $0.secret = $1.string }, read: { .string($0.secret) }),
        SchemaKey(path: "log_level", kind: .logLevel, secret: false, apply: { $0.logLevel = $1.string }, read: { .string($0.logLevel) }),
        SchemaKey(path: "log_format", kind: .choice(["text", "json"]), secret: false, apply: { $0.logFormat = $1.string }, read: { .string($0.logFormat) }),
        SchemaKey(path: "api.token", kind: .string, secret: true, apply: { $0.apiToken = $1.string }, read: { .string($0.apiToken) }),
        SchemaKey(path: "tls.certificate", kind: .string, secret: false, apply: { $0.tlsCertificate = $1.string }, read: { .string($0.tlsCertificate) }),
        SchemaKey(path: "tls.private_key", kind: .string, secret: false, apply: { $0.tlsPrivateKey = $1.string }, read: { .string($0.tlsPrivateKey) }),
        SchemaKey(path: "tls.redirect_listen", kind: .listenOrEmpty, secret: false,
                  apply: { c, v in c.tlsRedirectListen = parseListen(v.string) },
                  read: { c in .string(c.tlsRedirectListen.map(formatListen) ?? "") }),
        SchemaKey(path: "metrics.token", kind: .string, secret: true, apply: { $0.metricsToken = $1.string }, read: { .string($0.metricsToken) }),
        SchemaKey(path: "metrics.listen", kind: .listenOrEmpty, secret: false,
                  apply: { c, v in c.metricsListen = parseListen(v.string) },
                  read: { c in .string(c.metricsListen.map(formatListen) ?? "") }),
        SchemaKey(path: "admin.username", kind: .string, secret: false, apply: { $0.adminUsername = $1.string }, read: { .string($0.adminUsername) }),
        SchemaKey(path: "admin.password_hash", kind: .string, secret: true, apply: { $0.adminPasswordHash = $1.string }, read: { .string($0.adminPasswordHash) }),
        SchemaKey(path: "tracker.path", kind: .string, secret: false, apply: { $0.trackerPath = $1.string }, read: { .string($0.trackerPath) }),
        SchemaKey(path: "tracker.query_allowlist", kind: .strings, secret: false,
                  apply: { $0.queryAllowlist = $1.strings.map { $0.lowercased() } }, read: { .strings($0.queryAllowlist) }),
        SchemaKey(path: "limits.event_body_bytes", kind: .int(256...16_777_216), secret: false, apply: { $0.limits.eventBodyBytes = $1.int }, read: { .int($0.limits.eventBodyBytes) }),
        SchemaKey(path: "limits.batch_body_bytes", kind: .int(256...67_108_864), secret: false, apply: { $0.limits.batchBodyBytes = $1.int }, read: { .int($0.limits.batchBodyBytes) }),
        SchemaKey(path: "limits.batch_events", kind: .int(1...10_000), secret: false, apply: { $0.limits.batchEvents = $1.int }, read: { .int($0.limits.batchEvents) }),
        SchemaKey(path: "limits.properties", kind: .int(0...1000), secret: false, apply: { $0.limits.properties = $1.int }, read: { .int($0.limits.properties) }),
        SchemaKey(path: "limits.property_key_length", kind: .int(1...10_000), secret: false, apply: { $0.limits.propertyKeyLength = $1.int }, read: { .int($0.limits.propertyKeyLength) }),
        SchemaKey(path: "limits.property_value_length", kind: .int(1...100_000), secret: false, apply: { $0.limits.propertyValueLength = $1.int }, read: { .int($0.limits.propertyValueLength) }),
        SchemaKey(path: "limits.name_length", kind: .int(1...10_000), secret: false, apply: { $0.limits.nameLength = $1.int }, read: { .int($0.limits.nameLength) }),
        SchemaKey(path: "limits.replay_body_bytes", kind: .int(1024...67_108_864), secret: false, apply: { $0.limits.replayBodyBytes = $1.int }, read: { .int($0.limits.replayBodyBytes) }),
        SchemaKey(path: "limits.replay_events", kind: .int(1...1_000_000), secret: false, apply: { $0.limits.replayEvents = $1.int }, read: { .int($0.limits.replayEvents) }),
        SchemaKey(path: "limits.replay_recording_raw_bytes", kind: .int(65_536...4_294_967_296), secret: false,
                  apply: { $0.limits.replayRecordingRawBytes = $1.int }, read: { .int($0.limits.replayRecordingRawBytes) }),
        SchemaKey(path: "limits.replay_recording_stored_bytes", kind: .int(65_536...4_294_967_296), secret: false,
                  apply: { $0.limits.replayRecordingStoredBytes = $1.int }, read: { .int($0.limits.replayRecordingStoredBytes) }),
        SchemaKey(path: "limits.replay_recording_events", kind: .int(1...100_000_000), secret: false,
                  apply: { $0.limits.replayRecordingEvents = $1.int }, read: { .int($0.limits.replayRecordingEvents) }),
        SchemaKey(path: "limits.feedback_comment_chars", kind: .int(0...100_000), secret: false, apply: { $0.limits.feedbackCommentChars = $1.int }, read: { .int($0.limits.feedbackCommentChars) }),
        SchemaKey(path: "limits.feedback_body_bytes", kind: .int(256...1_048_576), secret: false, apply: { $0.limits.feedbackBodyBytes = $1.int }, read: { .int($0.limits.feedbackBodyBytes) }),
        SchemaKey(path: "limits.scrub_bytes", kind: .int(1024...67_108_864), secret: false, apply: { $0.limits.scrubBytes = $1.int }, read: { .int($0.limits.scrubBytes) }),
        SchemaKey(path: "limits.client_time_past_hours", kind: .int(0...8760), secret: false,
                  apply: { $0.limits.clientTimes.pastMillis = Int64($1.int) * 3_600_000 }, read: { .int(Int($0.limits.clientTimes.pastMillis / 3_600_000)) }),
        SchemaKey(path: "limits.client_time_future_minutes", kind: .int(0...10_080), secret: false,
                  apply: { $0.limits.clientTimes.futureMillis = Int64($1.int) * 60_000 }, read: { .int(Int($0.limits.clientTimes.futureMillis / 60_000)) }),
        SchemaKey(path: "limits.url_length", kind: .int(16...100_000), secret: false, apply: { $0.limits.urlLength = $1.int }, read: { .int($0.limits.urlLength) }),
        SchemaKey(path: "writer.flush_events", kind: .int(1...100_000), secret: false, apply: { $0.writer.flushEvents = $1.int }, read: { .int($0.writer.flushEvents) }),
        SchemaKey(path: "writer.flush_interval_ms", kind: .int(0...60_000), secret: false,
                  apply: { $0.writer.flushInterval = .milliseconds($1.int) },
                  read: { c in .int(Int(c.writer.flushInterval.components.seconds * 1000 + c.writer.flushInterval.components.attoseconds / 1_000_000_000_000_000)) }),
        SchemaKey(path: "writer.queue_capacity", kind: .int(1...10_000_000), secret: false, apply: { $0.writer.capacity = $1.int }, read: { .int($0.writer.capacity) }),
        SchemaKey(path: "ingest.max_in_flight_requests", kind: .int(1...100_000), secret: false,
                  apply: { $0.admission.maxInFlightRequests = $1.int }, read: { .int($0.admission.maxInFlightRequests) }),
        SchemaKey(path: "ingest.max_in_flight_bytes", kind: .int(65_536...4_294_967_296), secret: false,
                  apply: { $0.admission.maxInFlightBytes = $1.int }, read: { .int($0.admission.maxInFlightBytes) }),
        SchemaKey(path: "ingest.queue_high_water_percent", kind: .int(1...100), secret: false,
                  apply: { $0.admission.queueHighWaterPercent = $1.int }, read: { .int($0.admission.queueHighWaterPercent) }),
        SchemaKey(path: "rate_limits.client_per_second", kind: .int(0...1_000_000), secret: false,
                  apply: { $0.rateLimits.clientPerSecond = Double($1.int) }, read: { .int(Int($0.rateLimits.clientPerSecond)) }),
        SchemaKey(path: "rate_limits.client_burst", kind: .int(1...10_000_000), secret: false,
                  apply: { $0.rateLimits.clientBurst = $1.int }, read: { .int($0.rateLimits.clientBurst) }),
        SchemaKey(path: "rate_limits.site_per_second", kind: .int(0...100_000_000), secret: false,
                  apply: { $0.rateLimits.sitePerSecond = Double($1.int) }, read: { .int(Int($0.rateLimits.sitePerSecond)) }),
        SchemaKey(path: "rate_limits.site_burst", kind: .int(1...100_000_000), secret: false,
                  apply: { $0.rateLimits.siteBurst = $1.int }, read: { .int($0.rateLimits.siteBurst) }),
        SchemaKey(path: "queries.max_running", kind: .int(1...1024), secret: false,
                  apply: { $0.queries.maxRunning = $1.int }, read: { .int($0.queries.maxRunning) }),
        SchemaKey(path: "queries.per_site", kind: .int(1...1024), secret: false,
                  apply: { $0.queries.perSite = $1.int }, read: { .int($0.queries.perSite) }),
        SchemaKey(path: "queries.per_share_link", kind: .int(1...1024), secret: false,
                  apply: { $0.queries.perShareLink = $1.int }, read: { .int($0.queries.perShareLink) }),
        SchemaKey(path: "queries.max_waiting", kind: .int(0...100_000), secret: false,
                  apply: { $0.queries.maxWaiting = $1.int }, read: { .int($0.queries.maxWaiting) }),
        SchemaKey(path: "server.max_connections", kind: .int(16...1_000_000), secret: false,
                  apply: { $0.maxConnections = $1.int }, read: { .int($0.maxConnections) }),
        SchemaKey(path: "server.idle_timeout_seconds", kind: .int(1...3600), secret: false,
                  apply: { $0.idleTimeoutSeconds = $1.int }, read: { .int($0.idleTimeoutSeconds) }),
        SchemaKey(path: "server.header_timeout_seconds", kind: .int(1...3600), secret: false,
                  apply: { $0.deadlines.headerSeconds = $1.int }, read: { .int($0.deadlines.headerSeconds) }),
        SchemaKey(path: "server.body_timeout_seconds", kind: .int(1...86_400), secret: false,
                  apply: { $0.deadlines.bodySeconds = $1.int }, read: { .int($0.deadlines.bodySeconds) }),
        SchemaKey(path: "storage.synchronous", kind: .choice(VeilDatabase.Synchronous.allCases.map(\.rawValue)), secret: false,
                  apply: { $0.synchronous = VeilDatabase.Synchronous(rawValue: $1.string) ?? .full }, read: { .string($0.synchronous.rawValue) }),
        SchemaKey(path: "storage.max_database_bytes", kind: .int(0...Int.max), secret: false,
                  apply: { $0.maxDatabaseBytes = $1.int }, read: { .int($0.maxDatabaseBytes) }),
        SchemaKey(path: "storage.backend", kind: .choice(StorageBackend.allCases.map(\.rawValue)), secret: false,
                  apply: { $0.backend = StorageBackend(rawValue: $1.string) ?? .sqlite }, read: { .string($0.backend.rawValue) }),
        SchemaKey(path: "clickhouse.url", kind: .string, secret: false, apply: { $0.clickhouse.url = $1.string }, read: { .string($0.clickhouse.url) }),
        SchemaKey(path: "clickhouse.user", kind: .string, secret: false, apply: { $0.clickhouse.user = $1.string }, read: { .string($0.clickhouse.user) }),
        SchemaKey(path: "clickhouse.password", kind: .string, secret: true, apply: { $0.clickhouse.password = $1.string }, read: { .string($0.clickhouse.password) }),
        SchemaKey(path: "clickhouse.database", kind: .string, secret: false, apply: { $0.clickhouse.database = $1.string }, read: { .string($0.clickhouse.database) }),
        SchemaKey(path: "clickhouse.cluster", kind: .string, secret: false,
                  apply: { $0.clickhouse.cluster = $1.string.isEmpty ? nil : $1.string }, read: { .string($0.clickhouse.cluster ?? "") }),
        SchemaKey(path: "clickhouse.node", kind: .string, secret: false, apply: { $0.clickhouse.node = $1.string }, read: { .string($0.clickhouse.node) }),
        SchemaKey(path: "clickhouse.outbox_max_events", kind: .int(1_000...1_000_000_000), secret: false,
                  apply: { $0.clickhouse.outboxMaxEvents = $1.int }, read: { .int($0.clickhouse.outboxMaxEvents) }),
        SchemaKey(path: "clickhouse.ship_batch_events", kind: .int(1...100_000), secret: false,
                  apply: { $0.clickhouse.shipBatchEvents = $1.int }, read: { .int($0.clickhouse.shipBatchEvents) }),
        SchemaKey(path: "sessions.timeout_minutes", kind: .int(1...1440), secret: false,
                  apply: { $0.writer.sessionTimeoutMillis = Int64($1.int) * 60_000 }, read: { .int(Int($0.writer.sessionTimeoutMillis / 60_000)) }),
        SchemaKey(path: "archive.enabled", kind: .bool, secret: false, apply: { $0.archiveEnabled = $1.bool }, read: { .bool($0.archiveEnabled) }),
        SchemaKey(path: "archive.dir", kind: .string, secret: false, apply: { $0.archiveDir = $1.string }, read: { .string($0.archiveDir) }),
        SchemaKey(path: "geoip.database", kind: .string, secret: false, apply: { $0.geoipDatabase = $1.string }, read: { .string($0.geoipDatabase) }),
        SchemaKey(path: "login.max_attempts", kind: .int(1...1000), secret: false, apply: { $0.loginAttempts = $1.int }, read: { .int($0.loginAttempts) }),
        SchemaKey(path: "login.window_minutes", kind: .int(1...1440), secret: false, apply: { $0.loginWindowMinutes = $1.int }, read: { .int($0.loginWindowMinutes) }),
    ]

    static let byPath: [String: SchemaKey] = Dictionary(uniqueKeysWithValues: keys.map { ($0.path, $0) })

    /// Keys of one entry under `sites:`.
    static let siteKeys = ["domain", "origins", "timezone", "identity", "consent", "honor_dnt", "honor_gpc", "scrub_patterns", "property_allowlist", "retention",
                           "autocapture", "goals", "funnels", "click_events", "replay", "feedback", "posthog", "segment", "umami", "person_properties"]
}

import Foundation
