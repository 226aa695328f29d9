import Logging
import Privacy
import ServiceLifecycle

/// Holds the active salts in memory and rotates them at UTC midnight.
///
/// Rotation is lazy on the ingest path (the first request of a new day rotates) and
/// also driven by `SaltRotationService`, so an idle server still deletes old salts on time.
public actor SaltKeeper {
    private let database: VeilDatabase
    private let clock: TimeSource
    private let random: @Sendable () -> [UInt8]
    private var cached: (day: Int64, salts: ActiveSalts)?

    public init(database: VeilDatabase, clock: TimeSource, random: @escaping @Sendable () -> [UInt8]) {
        self.database = database
        self.clock = clock
        self.random = random
    }

    public func current() async throws(StorageError) -> ActiveSalts {
        let now = clock.nowMillis()
        let day = SaltSchedule.day(ofMillis: now)
        if let cached, cached.day == day { return cached.salts }
        let salts = try await database.rotateSalts(nowMillis: now, newSalt: random)
        cached = (day, salts)
        return salts
    }
}

/// Wakes shortly after each UTC midnight to rotate salts.
public struct SaltRotationService: Service {
    let keeper: SaltKeeper
    let clock: TimeSource
    let logger: Logger

    public init(keeper: SaltKeeper, clock: TimeSource, logger: Logger) {
        self.keeper = keeper
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { _ = try await keeper.current() } catch { logger.error("salt rotation failed", metadata: ["error": "\(error)"]) }
            let now = clock.nowMillis()
            let nextMidnight = DayCalendar.utc.start(ofDay: SaltSchedule.day(ofMillis: now) + 1)
            let wait = max(1000, nextMidnight - now + 1000)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(wait)) }
        }
    }
}
