import Synchronization

/// The configured sites as they are now: replaced as a whole when the config is reloaded
/// (SIGHUP), read by the writer and the background services at each pass, so a reload
/// reaches them without a restart. Readers take a copy; nothing holds the lock for long.
public final class LiveSites: Sendable {
    private struct State: Sendable {
        var sites: [SiteRules]
        var rules: [String: AnalyticsRules]
        var keys: Set<String>
    }
    private let state: Mutex<State>

    public init(_ sites: [SiteRules]) {
        state = Mutex(State(sites: sites, rules: sites.analyticsRules, keys: Set(sites.map(\.key))))
    }

    /// Rules only (sites named by key), as the tests and tools that have no sites give them.
    public convenience init(rules: [String: AnalyticsRules]) {
        self.init(rules.sorted { $0.key < $1.key }.map { key, rules in
            var site = SiteRules(domain: key)
            site.analytics = rules
            return site
        })
    }

    public var sites: [SiteRules] { state.withLock { $0.sites } }

    /// Goals, click definitions and time zone per site key: what the rollups count.
    public var rules: [String: AnalyticsRules] { state.withLock { $0.rules } }

    /// Whether a site key is configured (metric labels ask for every drop).
    public func contains(key: String) -> Bool { state.withLock { $0.keys.contains(key) } }

    public func replace(with sites: [SiteRules]) {
        let new = State(sites: sites, rules: sites.analyticsRules, keys: Set(sites.map(\.key)))
        state.withLock { $0 = new }
    }
}

extension Array where Element == SiteRules {
    /// Goals and click definitions by site key (the first site wins a duplicate key).
    public var analyticsRules: [String: AnalyticsRules] {
        Dictionary(map { ($0.key, $0.analytics) }, uniquingKeysWith: { a, _ in a })
    }
}
