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
    /// Set when several nodes must hash alike (`storage.backend: clickhouse`).
    private let shared: SharedSalts?

    public init(database: VeilDatabase, clock: TimeSource, random: @escaping @Sendable () -> [UInt8], shared: SharedSalts? = nil) {
        self.database = database
        self.clock = clock
        self.random = random
        self.shared = shared
    }

    public func current() async throws(StorageError) -> ActiveSalts {
        let now = clock.nowMillis()
        let day = SaltSchedule.day(ofMillis: now)
        if let cached, cached.day == day { return cached.salts }
        let salts: ActiveSalts
        if let shared {
            salts = try await sharedSalts(shared, day: day, now: now)
        } else {
            salts = try await database.rotateSalts(nowMillis: now, newSalt: random)
        }
        cached = (day, salts)
        return salts
    }

    /// Today's and yesterday's agreed salts, from the local copy or ClickHouse; tomorrow's
    /// is proposed and fetched ahead, so midnight needs no round trip.
    private func sharedSalts(_ shared: SharedSalts, day: Int64, now: Int64) async throws(StorageError) -> ActiveSalts {
        let today: [UInt8]
        if let kept = try await database.salt(day: day) {
            today = kept
        } else {
            today = try await shared.agreedSalt(day: day, proposal: random())
            try await database.keepSalt(day: day, salt: today, nowMillis: now)
        }
        let previous = try await database.salt(day: day - 1)
        // Best effort: tomorrow's salt proposed now is long settled by midnight.
        if (try? await database.salt(day: day + 1)) ?? nil == nil, let next = try? await shared.agreedSalt(day: day + 1, proposal: random()) {
            try? await database.keepSalt(day: day + 1, salt: next, nowMillis: now)
        }
        try? await shared.forget(before: SaltSchedule.oldestLiveDay(at: now))
        return ActiveSalts(current: today, previous: previous)
    }
}

/// Daily salts agreed by every node through ClickHouse: any node may propose a salt for
/// a day; the earliest proposal (ClickHouse's clock, then the bytes) is the day's salt.
/// Tomorrow's is proposed a day ahead, so by midnight every node reads the same one.
/// Salts older than yesterday's are deleted (a mutation) as in SQLite.
public struct SharedSalts: Sendable {
    let client: ClickHouseClient

    public init(client: ClickHouseClient) {
        self.client = client
    }

    func agreedSalt(day: Int64, proposal: [UInt8]) async throws(StorageError) -> [UInt8] {
        if let agreed = try await earliest(day: day) { return agreed }
        try await client.execute("INSERT INTO salts SELECT \(day), \(ClickHouseSQL.string(proposal.hexString)), now()")
        guard let agreed = try await earliest(day: day) else { throw .database("the proposed salt of day \(day) was not stored") }
        return agreed
    }

    private func earliest(day: Int64) async throws(StorageError) -> [UInt8]? {
        try await client.rows("SELECT salt FROM salts WHERE day = \(day) ORDER BY proposed_at, salt LIMIT 1").first?.first.flatMap { [UInt8](hex: $0) }
    }

    func forget(before day: Int64) async throws(StorageError) {
        let old = try await client.rows("SELECT count() FROM salts WHERE day < \(day)").first?.first ?? "0"
        if old != "0" { try await client.delete(from: "salts", where: "day < \(day)") }
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
