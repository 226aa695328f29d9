import Logging
import Privacy
import ServiceLifecycle

/// Deletes data past each site's retention period: at start, then once a day.
public struct RetentionService: Service {
    /// Site domain and the days its events are kept.
    public struct Policy: Sendable {
        public var site: String
        public var eventsDays: Int
        /// Days session recordings are kept (`replay.retention_days`).
        public var replaysDays: Int
        /// The site's rules: the rollups of the cutoff day are recomputed with them.
        public var rules: AnalyticsRules

        public init(site: String, eventsDays: Int, replaysDays: Int = 30, rules: AnalyticsRules = AnalyticsRules()) {
            self.site = site
            self.eventsDays = eventsDays
            self.replaysDays = replaysDays
            self.rules = rules
        }

        /// A configured site's policy.
        public init(_ site: SiteRules) {
            self.init(site: site.key, eventsDays: site.eventsRetentionDays, replaysDays: site.replaysRetentionDays, rules: site.analytics)
        }
    }

    let database: VeilDatabase
    /// The policies now: read at each pass, so a reloaded config applies at the next one.
    let policies: @Sendable () -> [Policy]
    let clock: TimeSource
    let logger: Logger
    /// With `storage.backend: clickhouse`: expired events are deleted there too.
    public var clickhouse: ClickHouseClient?

    public init(database: VeilDatabase, policies: [Policy], clock: TimeSource, logger: Logger) {
        self.database = database
        self.policies = { policies }
        self.clock = clock
        self.logger = logger
    }

    public init(database: VeilDatabase, sites: LiveSites, clock: TimeSource, logger: Logger) {
        self.database = database
        self.policies = { sites.sites.map(Policy.init) }
        self.clock = clock
        self.logger = logger
    }

    /// One pass over every site; returns the events deleted per site.
    @discardableResult
    public func purgeOnce() async -> [String: Int] {
        var deleted: [String: Int] = [:]
        for policy in policies() {
            let cutoff = clock.nowMillis() - Int64(policy.eventsDays) * DayCalendar.millisPerDay
            do {
                let (events, sessions) = try await database.purgeExpired(site: policy.site, cutoff: cutoff, rules: policy.rules)
                deleted[policy.site] = events
                if events > 0 || sessions > 0 {
                    logger.info("retention: deleted expired data", metadata: ["site": "\(policy.site)", "events": "\(events)", "sessions": "\(sessions)", "days": "\(policy.eventsDays)"])
                }
                if let clickhouse {
                    let expired = try await ClickHouseSubjects(client: clickhouse).purgeExpired(site: policy.site, cutoff: cutoff)
                    deleted[policy.site, default: 0] += expired
                    if expired > 0 { logger.info("retention: deleted expired events in ClickHouse", metadata: ["site": "\(policy.site)", "events": "\(expired)"]) }
                }
                let recordings = try await database.purgeRecordings(site: policy.site, cutoff: clock.nowMillis() - Int64(policy.replaysDays) * DayCalendar.millisPerDay)
                if recordings > 0 {
                    logger.info("retention: deleted expired recordings", metadata: ["site": "\(policy.site)", "recordings": "\(recordings)", "days": "\(policy.replaysDays)"])
                }
            } catch {
                logger.error("retention purge failed", metadata: ["site": "\(policy.site)", "error": "\(error)"])
            }
        }
        return deleted
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await purgeOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(86_400)) }
        }
    }
}
