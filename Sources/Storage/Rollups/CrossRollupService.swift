import Logging
import Privacy
import ServiceLifecycle

/// Builds the cross rollups of closed days in the background: at start (the whole history
/// of a folder that has none yet, newest day first), then every `interval`, which picks up
/// the day that just closed and any day written to again since it was built. One day at a
/// time, counted outside the write lock and stored in bounded transactions.
public struct CrossRollupService: Service {
    let database: VeilDatabase
    /// The configured sites; their rules are read at each pass.
    let sites: LiveSites
    let clock: TimeSource
    let logger: Logger
    let interval: Duration
    /// A day is built once it ended this long ago (visits still going on at midnight end).
    public static let closeDelayMillis: Int64 = 3_600_000

    public init(database: VeilDatabase, sites: LiveSites, clock: TimeSource, logger: Logger, interval: Duration = .seconds(300)) {
        self.database = database
        self.sites = sites
        self.clock = clock
        self.logger = logger
        self.interval = interval
    }

    public init(database: VeilDatabase, rules: [String: AnalyticsRules], clock: TimeSource, logger: Logger, interval: Duration = .seconds(300)) {
        self.init(database: database, sites: LiveSites(rules: rules), clock: clock, logger: logger, interval: interval)
    }

    /// Builds every closed day that needs it; returns the days built per site.
    @discardableResult
    public func catchUp() async throws(StorageError) -> [String: Int] {
        var built: [String: Int] = [:]
        for (site, siteRules) in sites.rules.sorted(by: { $0.key < $1.key }) {
            let days = try await database.crossDaysToBuild(site: site, rules: siteRules, closedBefore: clock.nowMillis() - Self.closeDelayMillis)
            if days.count > 1 { logger.notice("building cross rollups for filtered views", metadata: ["site": "\(site)", "days": "\(days.count)"]) }
            for day in days {
                if Task.isCancelled || Task.isShuttingDownGracefully { return built }
                if try await database.buildCrossDay(site: site, day: day, rules: siteRules) != nil { built[site, default: 0] += 1 }
            }
            if days.count > 1 { logger.notice("cross rollups are built", metadata: ["site": "\(site)", "days": "\(built[site] ?? 0)"]) }
        }
        return built
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await catchUp() } catch { logger.error("cross rollups failed", metadata: ["error": "\(error)"]) }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
