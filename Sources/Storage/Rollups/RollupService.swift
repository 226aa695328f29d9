import Logging
import Privacy
import ServiceLifecycle

/// Brings rollups up to date with the configured goals and click definitions: when a
/// site's rules changed since its rollups were built (or a database predates rollups),
/// every day is recomputed from the raw events, one day per transaction so ingest keeps
/// flowing. That is what makes goals and click definitions retroactive.
public struct RollupService: Service {
    let database: VeilDatabase
    /// The configured sites; their rules are read at each pass (a reload runs one).
    let sites: LiveSites
    let logger: Logger

    public init(database: VeilDatabase, sites: LiveSites, logger: Logger) {
        self.database = database
        self.sites = sites
        self.logger = logger
    }

    public init(database: VeilDatabase, rules: [String: AnalyticsRules], logger: Logger) {
        self.init(database: database, sites: LiveSites(rules: rules), logger: logger)
    }

    /// Rebuilds what needs it; returns the sites rebuilt.
    @discardableResult
    public func catchUp() async throws(StorageError) -> [String] {
        let rules = sites.rules
        try await database.adoptRollupState(rules: rules)
        let stale = try await database.sitesNeedingRollupRebuild(rules: rules)
        for site in stale {
            let siteRules = rules[site] ?? AnalyticsRules()
            // One day more on each side: after a change of zone, cells built on the old
            // clock may sit on a day next to those holding data on the new one.
            var days = try await database.daysWithData(site: site, calendar: siteRules.calendar)
            if let first = days.first, let last = days.last { days = [first - 1] + days + [last + 1] }
            logger.notice("recomputing rollups (goals or click definitions changed)", metadata: ["site": "\(site)", "days": "\(days.count)"])
            for (i, day) in days.enumerated() {
                if Task.isCancelled { return stale }
                try await database.rebuildRollups(site: site, days: [day], rules: siteRules)
                if (i + 1) % 30 == 0 { logger.info("rollups: \(i + 1) of \(days.count) days", metadata: ["site": "\(site)"]) }
            }
            try await database.markRollupsCurrent(site: site, rules: siteRules)
            logger.notice("rollups are current", metadata: ["site": "\(site)"])
        }
        return stale
    }

    public func run() async throws {
        do { try await catchUp() } catch { logger.error("rollup rebuild failed", metadata: ["error": "\(error)"]) }
        try? await gracefulShutdown()
    }
}
