import Logging
import ServiceLifecycle

/// Brings rollups up to date with the configured goals and click definitions: when a
/// site's rules changed since its rollups were built (or a database predates rollups),
/// every day is recomputed from the raw events, one day per transaction so ingest keeps
/// flowing. That is what makes goals and click definitions retroactive.
public struct RollupService: Service {
    let database: VeilDatabase
    let sites: [String]
    let logger: Logger

    public init(database: VeilDatabase, sites: [String], logger: Logger) {
        self.database = database
        self.sites = sites
        self.logger = logger
    }

    /// Rebuilds what needs it; returns the sites rebuilt.
    @discardableResult
    public func catchUp() async throws(StorageError) -> [String] {
        try await database.adoptRollupState(sites: sites)
        let stale = try await database.sitesNeedingRollupRebuild(sites: sites)
        for site in stale {
            let days = try await database.daysWithData(site: site)
            logger.notice("recomputing rollups (goals or click definitions changed)", metadata: ["site": "\(site)", "days": "\(days.count)"])
            for (i, day) in days.enumerated() {
                if Task.isCancelled { return stale }
                try await database.rebuildRollups(site: site, days: [day])
                if (i + 1) % 30 == 0 { logger.info("rollups: \(i + 1) of \(days.count) days", metadata: ["site": "\(site)"]) }
            }
            try await database.markRollupsCurrent(site: site)
            logger.notice("rollups are current", metadata: ["site": "\(site)"])
        }
        return stale
    }

    public func run() async throws {
        do { try await catchUp() } catch { logger.error("rollup rebuild failed", metadata: ["error": "\(error)"]) }
        try? await gracefulShutdown()
    }
}
