import Logging
import Privacy

/// Counts what ingest did with every event: accepted, dropped (per reason and site)
/// and rejected (per error code). Exposed on `/metrics`; never holds an IP or UA.
///
/// Every label is bounded: sites are counted by name only when configured, everything
/// else under `otherSite`, so requests naming random sites cannot grow the series.
public actor IngestCounters {
    /// The label of every site not in the config.
    public static let otherSite = "_other"
    private var accepted = 0
    private var drops: [String: Int] = [:]
    private var rejections: [String: Int] = [:]
    private var overloads = 0
    private var overloadReasons: [String: Int] = [:]
    private var rateLimited: [String: Int] = [:]
    /// Session replay: chunks stored, raw JSON bytes received and bytes stored, per site.
    private var replay: [String: (chunks: Int, received: Int, stored: Int)] = [:]
    /// Survey rows stored (answers and showings), per site.
    private var feedback: [String: Int] = [:]
    private var scrubbed: [String: Int] = [:]
    /// SDK events whose client time was outside the window, per site label.
    private var clockSkew: [String: Int] = [:]
    private var identityLinks = 0
    /// Requests to unknown paths under the SDK prefixes, per protocol; logged once per path.
    private var unknownPaths: [String: Int] = [:]
    private var warnedPaths = Set<String>()
    private var warnedUnknownSites = Set<String>()
    private let logger: Logger
    /// The configured sites now (a reload may add some; their series start then).
    private let sites: LiveSites

    public init(logger: Logger, sites: LiveSites) {
        self.logger = logger
        self.sites = sites
    }

    public init(logger: Logger, sites: [String]) {
        self.init(logger: logger, sites: LiveSites(sites.map { SiteRules(domain: $0) }))
    }

    /// The metric label for a site a request named.
    nonisolated func siteLabel(_ site: String) -> String {
        let key = site.lowercased()
        return sites.contains(key: key) ? key : Self.otherSite
    }

    func recordAccepted(_ n: Int) { accepted += n }

    func recordDrop(_ reason: DropReason, site: String) {
        drops["\(reason.rawValue)|\(siteLabel(site))", default: 0] += 1
        if reason == .unknownSite {
            // Warn once per unknown site: it is usually a snippet pasted before the config was updated.
            let key = LogText.clean(String(site.prefix(100)))
            if warnedUnknownSites.count < 1000, warnedUnknownSites.insert(key).inserted {
                logger.warning("events for a site that is not in the config were dropped; add it under `sites:` to count them", metadata: ["site": "\(key)"])
            }
        } else {
            logger.debug("event dropped", metadata: ["reason": "\(reason.rawValue)", "site": "\(LogText.clean(String(site.prefix(100))))"])
        }
    }

    func recordClockSkew(site: String) { clockSkew[siteLabel(site), default: 0] += 1 }

    func recordLinks(_ n: Int) { identityLinks += n }

    /// A request to a path no protocol has, under one of the SDK prefixes: usually a
    /// client pointed at Veil with the wrong host or path setting.
    func recordUnknownPath(_ path: String, protocol name: String) {
        unknownPaths[name, default: 0] += 1
        let key = LogText.clean(String(path.prefix(200)))
        if warnedPaths.count < 1000, warnedPaths.insert(key).inserted {
            logger.warning("a client sent to a path Veil does not serve; check the client's host setting (see the README's \"Switching\" section)",
                           metadata: ["path": "\(key)", "protocol": "\(name)"])
        }
    }

    public func clockSkewCount(site: String) -> Int { clockSkew[siteLabel(site)] ?? 0 }
    public func unknownPathCount(protocol name: String) -> Int { unknownPaths[name] ?? 0 }

    func recordRejection(_ code: String) {
        rejections[code, default: 0] += 1
        logger.debug("ingest request rejected", metadata: ["error": "\(code)"])
    }

    /// A request turned away with 503 before its body was read; `reason` is one of a
    /// fixed set (queue_full, queue_backlog, in_flight_requests, in_flight_bytes).
    func recordOverload(_ reason: String = "queue_full") {
        overloads += 1
        overloadReasons[reason, default: 0] += 1
    }

    /// A request answered 429; `scope` is `client` or `site`.
    func recordRateLimited(_ scope: String) { rateLimited[scope, default: 0] += 1 }

    func recordReplayChunk(site: String, receivedBytes: Int, storedBytes: Int) {
        let label = siteLabel(site)
        var r = replay[label] ?? (0, 0, 0)
        r.chunks += 1
        r.received += receivedBytes
        r.stored += storedBytes
        replay[label] = r
    }

    func recordFeedback(site: String) {
        feedback[siteLabel(site), default: 0] += 1
    }

    /// Values the PII scrubber replaced, per kind and site. Never the matched text.
    func recordScrubbed(_ counts: [PIIScrubber.Kind: Int], site: String) {
        let label = siteLabel(site)
        for (kind, n) in counts { scrubbed["\(kind.rawValue)|\(label)", default: 0] += n }
    }

    /// Replacements per kind for one site (the settings page and tests).
    public func scrubbedCounts(site: String) -> [PIIScrubber.Kind: Int] {
        var out: [PIIScrubber.Kind: Int] = [:]
        for (key, n) in scrubbed {
            let parts = key.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            if parts.count == 2, String(parts[1]) == site, let kind = PIIScrubber.Kind(rawValue: String(parts[0])) { out[kind] = n }
        }
        return out
    }

    public struct Snapshot: Sendable {
        public var accepted: Int
        public var drops: [(reason: String, site: String, count: Int)]
        public var rejections: [(code: String, count: Int)]
        public var overloads: Int
        public var overloadReasons: [String: Int]
        public var rateLimited: [String: Int]

        public func dropCount(_ reason: DropReason) -> Int { drops.filter { $0.reason == reason.rawValue }.reduce(0) { $0 + $1.count } }
    }

    public func snapshot() -> Snapshot {
        Snapshot(
            accepted: accepted,
            drops: drops.sorted { $0.key < $1.key }.map { key, count in
                let parts = key.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
                return (String(parts[0]), String(parts[1]), count)
            },
            rejections: rejections.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            overloads: overloads,
            overloadReasons: overloadReasons,
            rateLimited: rateLimited
        )
    }

    /// Adds the ingest series to a scrape.
    func emit(into scrape: MetricsScrape) {
        let s = snapshot()
        scrape.counter("veil_events_accepted_total", "Events stored after the privacy pipeline.", s.accepted)
        for d in s.drops {
            scrape.counter("veil_events_dropped_total", "Events not stored, by reason (bot, unknown site, consent...) and configured site.", d.count,
                           labels: [("reason", d.reason), ("site", d.site)])
        }
        for r in s.rejections {
            scrape.counter("veil_ingest_rejected_total", "Ingest requests answered with a 4xx, by error code.", r.count, labels: [("error", r.code)])
        }
        for (key, n) in scrubbed.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
            scrape.counter("veil_pii_scrubbed_total", "Personal data replaced by the scrubber, by kind and site.", n,
                           labels: [("kind", String(parts[0])), ("site", String(parts[1]))])
        }
        for (site, n) in clockSkew.sorted(by: { $0.key < $1.key }) {
            scrape.counter("veil_sdk_clock_skew_total", "SDK events whose own time was outside the believed window, by site.", n, labels: [("site", site)])
        }
        scrape.counter("veil_identity_links_total", "Identity links stored from SDK identify and alias calls.", identityLinks)
        for (name, n) in unknownPaths.sorted(by: { $0.key < $1.key }) {
            scrape.counter("veil_sdk_unknown_path_total", "Requests to unknown paths under an SDK's prefix, by protocol.", n, labels: [("protocol", name)])
        }
        for (site, n) in feedback.sorted(by: { $0.key < $1.key }) {
            scrape.counter("veil_feedback_stored_total", "Survey rows stored (answers and times a survey was shown), by site.", n, labels: [("site", site)])
        }
        for (site, r) in replay.sorted(by: { $0.key < $1.key }) {
            scrape.counter("veil_replay_chunks_total", "Session replay chunks stored, by site.", r.chunks, labels: [("site", site)])
            scrape.counter("veil_replay_received_bytes_total", "Raw JSON bytes of replay chunks received, by site.", r.received, labels: [("site", site)])
            scrape.counter("veil_replay_stored_bytes_total", "Compressed bytes of replay chunks stored, by site.", r.stored, labels: [("site", site)])
        }
        scrape.counter("veil_ingest_overloaded_total", "Ingest requests refused with 503 because Veil was overloaded.", s.overloads)
        for (reason, n) in overloadReasons.sorted(by: { $0.key < $1.key }) {
            scrape.counter("veil_ingest_shed_total", "Ingest requests shed, by the limit that was reached.", n, labels: [("reason", reason)])
        }
        for (scope, n) in rateLimited.sorted(by: { $0.key < $1.key }) {
            scrape.counter("veil_ingest_rate_limited_total", "Ingest requests answered 429, by the bucket (client or site).", n, labels: [("scope", scope)])
        }
    }
}
