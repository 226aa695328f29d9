import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Privacy
import Storage

/// What the application takes from the outside world, injected so tests are deterministic.
public struct VeilEnvironment: Sendable {
    public var clock: TimeSource
    public var random: @Sendable (Int) -> [UInt8]
    public var logger: Logger
    public var passwordHasher: PasswordHasher
    /// The report limiter to use (tests hold its slots to see waiting and refusals);
    /// nil builds one from `queries.*`.
    public var queries: QueryLimiter?
    /// What answers the dashboards' questions, given the opened database (nil: the
    /// database itself). Tests wrap it to count what each page asks.
    public var statsStore: (@Sendable (VeilDatabase) -> any StatsStore)?
    /// Reads the config file again (`veil serve` passes its loader): when set, SIGHUP
    /// reloads the configuration; when nil, SIGHUP is left alone.
    public var reloadConfig: (@Sendable () throws -> VeilConfig)?

    public init(clock: TimeSource = .system, random: @escaping @Sendable (Int) -> [UInt8] = systemRandomBytes, logger: Logger, passwordHasher: PasswordHasher = PasswordHasher()) {
        self.clock = clock
        self.random = random
        self.logger = logger
        self.passwordHasher = passwordHasher
    }
}

public func systemRandomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
}

/// Errors that stop Veil from starting, each with what to do about it.
public enum StartupError: Error, CustomStringConvertible {
    case dataFolder(String)
    case secret(String)
    case geo(String)
    case tls(String)

    public var description: String {
        switch self {
        case .dataFolder(let m): return m
        case .secret(let m): return m
        case .geo(let m): return m
        case .tls(let m): return m
        }
    }
}

/// The one entry point shared by `veil serve` and the tests.
public func buildApplication(config: VeilConfig, environment: VeilEnvironment) async throws -> some ApplicationProtocol {
    let logger = environment.logger
    let database: VeilDatabase
    do {
        database = try VeilDatabase.open(folder: config.dataDir, synchronous: config.synchronous, maxBytes: config.maxDatabaseBytes)
    } catch {
        throw StartupError.dataFolder("\(error). Check that the data folder (data_dir: \(config.dataDir)) is writable, or choose another with --data-dir or VEIL_DATA_DIR.")
    }
    let secret = try loadSecret(config: config, random: environment.random, logger: logger)
    let geo = try loadGeo(config: config, logger: logger)

    let clock = environment.clock
    let sites = LiveSites(config.sites)
    let certificates: CertificateStore?
    do {
        certificates = config.tlsCertificate.isEmpty ? nil : try CertificateStore(certificate: config.tlsCertificate, privateKey: config.tlsPrivateKey)
    } catch {
        throw StartupError.tls("\(error)")
    }
    let metrics = VeilMetrics(version: VeilVersion.string)
    let backend = try await openBackend(config: config, database: database, clock: clock, logger: logger)
    let writer = EventWriter(database: database, settings: config.writer, sites: sites, logger: logger, outbox: backend?.outbox) { duration, events in
        metrics.recordCommit(duration: duration, events: events)
    }
    let salts = SaltKeeper(database: database, clock: clock, random: { environment.random(32) }, shared: backend?.salts)
    if backend == nil {
        _ = try await salts.current()
    } else if await (try? salts.current()) == nil {
        // ClickHouse is down and no agreed salt is cached: ingest answers 503 until it is back.
        logger.error("the shared salts could not be read from ClickHouse; ingest waits for it")
    }
    let limits = config.rateLimits
    let openFiles = raiseOpenFileLimit()
    if openFiles > 0 && openFiles < config.maxConnections + 64 {
        logger.warning("the open-file limit is below server.max_connections; connections beyond it will fail", metadata: ["open_files": "\(openFiles)", "max_connections": "\(config.maxConnections)"])
    }
    let parts = ServerParts(
        database: database, stats: environment.statsStore?(database) ?? backend?.stats ?? database, outbox: backend?.outbox.gauge, clickhouseSubjects: backend?.subjects, secret: secret, sites: sites, writer: writer, salts: salts,
        counters: IngestCounters(logger: logger, sites: sites), pages: try PageRenderer(),
        throttle: LoginThrottle(maxFailures: config.loginAttempts, windowMillis: Int64(config.loginWindowMinutes) * 60_000, clock: clock),
        connections: ConnectionStats(), queries: environment.queries ?? QueryLimiter(settings: config.queries), deadlines: DeadlineStats(),
        admission: AdmissionGate(settings: config.admission, queueCapacity: writer.capacity) { writer.backlog.load(ordering: .relaxed) },
        clientLimits: TokenBuckets(perSecond: limits.clientPerSecond, burst: limits.clientBurst, maxKeys: limits.maxKeys, clock: clock),
        siteLimits: TokenBuckets(perSecond: limits.sitePerSecond, burst: limits.siteBurst, maxKeys: limits.maxKeys, clock: clock),
        dummyHash: try environment.passwordHasher.hash(Data(environment.random(24)).base64EncodedString(), salt: environment.random(16)),
        metrics: metrics, certificates: certificates, environment: environment)
    let responder = RouterSwitch(try makeRouter(config: config, geo: geo, parts: parts).buildResponder())

    let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ProtocolErrorHandler(), RequestDeadlineHandler(settings: config.deadlines, stats: parts.deadlines)],
                                                             idleTimeout: .seconds(Int64(config.idleTimeoutSeconds))))
    let server = try certificates.map { try HTTPServerBuilder.tls(http1, tlsConfiguration: $0.configuration()) } ?? http1
    let scheme = certificates == nil ? "http" : "https"

    var app = Application(
        responder: responder,
        server: server,
        configuration: .init(address: .hostname(config.listenHost, port: config.listenPort), serverName: nil,
                             availableConnectionsDelegate: ConnectionLimit(max: config.maxConnections, stats: parts.connections, logger: logger)),
        onServerRunning: { channel in
            let port = channel.localAddress?.port ?? config.listenPort
            let host = config.listenHost.contains(":") ? "[\(config.listenHost)]" : config.listenHost
            logger.notice("Veil is listening on \(scheme)://\(host):\(port) — open \(scheme)://\(host):\(port)/ to sign in, or \(scheme)://\(host):\(port)/demo to see a visit counted",
                          metadata: ["data_dir": "\(config.dataDir)", "sites": "\(config.sites.map(\.domain).joined(separator: ","))"])
            // Only once the port is bound: a first start that fails (port in use) must not
            // print a one-time password and then lose it.
            do {
                try await ensureAdmin(config: config, database: database, environment: environment)
            } catch {
                logger.error("could not create the dashboard user", metadata: ["error": "\(error)"])
            }
        },
        logger: logger
    )
    var retention = RetentionService(database: database, sites: sites, clock: clock, logger: logger)
    retention.clickhouse = backend?.client
    let rollups = RollupService(database: database, sites: sites, logger: logger)
    app.addServices(EventWriterService(writer: writer), SaltRotationService(keeper: salts, clock: clock, logger: logger), retention, rollups,
                    CrossRollupService(database: database, sites: sites, clock: clock, logger: logger))
    if let backend { app.addServices(backend.shipping) }
    if config.archiveEnabled {
        app.addServices(ArchiveService(database: database, sites: sites, directory: config.archiveDirectory, clock: clock, logger: logger))
    }
    // The side listeners get the same deadlines, idle timeout and connection cap as the
    // main one: the redirect port is public, and a slow client must not hold it open.
    func sideListener(_ router: Router<VeilRequestContext>, _ host: String, _ port: Int, _ said: @escaping @Sendable (Int) -> String) -> Application<RouterResponder<VeilRequestContext>> {
        Application(router: router, server: http1,
                    configuration: .init(address: .hostname(host, port: port), serverName: nil,
                                         availableConnectionsDelegate: ConnectionLimit(max: config.maxConnections, stats: ConnectionStats(), logger: logger)),
                    onServerRunning: { channel in logger.notice("\(said(channel.localAddress?.port ?? port))") }, logger: logger)
    }
    if let (host, port) = config.metricsListen {
        app.addServices(sideListener(makeMetricsRouter(parts: parts), host, port) { "metrics are served without a token on http://\(host):\($0)/metrics" })
    }
    if let (host, port) = config.tlsRedirectListen {
        app.addServices(sideListener(makeRedirectRouter(publicURL: config.publicURL, httpsPort: config.listenPort), host, port) {
            "plain HTTP on http://\(host):\($0) redirects to HTTPS"
        })
    }
    if let load = environment.reloadConfig {
        app.addServices(ConfigReloadService(running: config, load: load, parts: parts, responder: responder, retention: retention, rollups: rollups))
    }
    return app
}

/// With `storage.backend: clickhouse`: the outbox the writer commits to, the service
/// that ships it, and the store that answers the dashboards. Nil for SQLite.
struct ClickHouseBackend {
    let outbox: EventWriter.Outbox
    let shipping: ShippingService
    let stats: ClickHouseStats
    let salts: SharedSalts
    let subjects: ClickHouseSubjects
    let client: ClickHouseClient
}

func openBackend(config: VeilConfig, database: VeilDatabase, clock: TimeSource, logger: Logger) async throws -> ClickHouseBackend? {
    guard config.backend == .clickhouse else { return nil }
    var settings = config.clickhouse
    if settings.node.isEmpty { settings.node = ProcessInfo.processInfo.hostName }
    let client: ClickHouseClient
    do {
        client = try ClickHouseClient(settings: settings)
    } catch {
        throw StartupError.dataFolder("\(error)")
    }
    do {
        let applied = try await ClickHouseSchema(settings: settings).migrate(client)
        if !applied.isEmpty { logger.notice("ClickHouse schema migrated", metadata: ["applied": "\(applied.joined(separator: ", "))"]) }
    } catch {
        logger.error("ClickHouse is unreachable at start; events wait in the outbox", metadata: ["error": "\(error)"])
    }
    let gauge = OutboxGauge()
    let state = try await database.outboxState()
    gauge.depth.store(state.depth, ordering: .relaxed)
    gauge.oldestAt.store(state.oldestAt ?? 0, ordering: .relaxed)
    logger.notice("events are shipped to ClickHouse", metadata: ["url": "\(settings.url)", "database": "\(settings.database)", "node": "\(settings.node)",
                                                               "outbox_events": "\(state.depth)"])
    return ClickHouseBackend(outbox: EventWriter.Outbox(gauge: gauge, maxEvents: settings.outboxMaxEvents, clock: clock),
                             shipping: ShippingService(database: database, client: client, gauge: gauge, logger: logger),
                             stats: ClickHouseStats(client: client, sessionTimeoutMillis: config.writer.sessionTimeoutMillis, local: database),
                             salts: SharedSalts(client: client), subjects: ClickHouseSubjects(client: client), client: client)
}

/// The country database named by `geoip.database`, or nil when none is configured.
public func loadGeo(config: VeilConfig, logger: Logger) throws -> MMDB? {
    guard !config.geoipDatabase.isEmpty else { return nil }
    guard let data = FileManager.default.contents(atPath: config.geoipDatabase) else {
        throw StartupError.geo("geoip.database: cannot read \(config.geoipDatabase); check the path, or set it to \"\" to run without countries")
    }
    do {
        let db = try MMDB(bytes: [UInt8](data))
        logger.info("country database loaded", metadata: ["path": "\(config.geoipDatabase)", "type": "\(db.databaseType)"])
        return db
    } catch {
        throw StartupError.geo("geoip.database: \(config.geoipDatabase): \(error)")
    }
}

/// The server secret: from the config, or 32 random bytes kept in `<data_dir>/secret.key` (0600).
public func loadSecret(config: VeilConfig, random: @Sendable (Int) -> [UInt8], logger: Logger) throws -> [UInt8] {
    if !config.secret.isEmpty {
        guard let bytes = [UInt8](hex: config.secret), bytes.count == 32 else {
            throw StartupError.secret("secret: expected 64 hexadecimal characters (32 bytes)")
        }
        return bytes
    }
    let path = (config.dataDir as NSString).appendingPathComponent("secret.key")
    if let text = try? String(contentsOfFile: path, encoding: .utf8) {
        // A key copied in with a looser mode is tightened: it signs every session.
        try? FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        guard let bytes = [UInt8](hex: text.trimmingCharacters(in: .whitespacesAndNewlines)), bytes.count == 32 else {
            throw StartupError.secret("\(path) is damaged: expected 64 hexadecimal characters. Restore it from a backup, or delete it to sign everyone out and start a new one.")
        }
        return bytes
    }
    let bytes = random(32)
    guard FileManager.default.createFile(atPath: path, contents: Data((bytes.hexString + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
        throw StartupError.secret("cannot write \(path); check that the data folder is writable")
    }
    logger.info("created a new server secret", metadata: ["path": "\(path)"])
    return bytes
}

/// Makes sure an admin can sign in: the configured hash, or on first start a random
/// password printed once (only its hash is stored).
func ensureAdmin(config: VeilConfig, database: VeilDatabase, environment: VeilEnvironment) async throws {
    let now = environment.clock.nowMillis()
    if !config.adminPasswordHash.isEmpty {
        try await database.upsertUser(username: config.adminUsername, passwordHash: config.adminPasswordHash, nowMillis: now)
        return
    }
    guard try await database.user(named: config.adminUsername) == nil else { return }
    let password = AccountsRules.newPassword(random: environment.random)
    let hash = try environment.passwordHasher.hash(password, salt: environment.random(16))
    try await database.upsertUser(username: config.adminUsername, passwordHash: hash, nowMillis: now)
    environment.logger.notice("Created the dashboard user; its password is shown only this once, so note it now.",
                              metadata: ["username": "\(config.adminUsername)", "password": "\(password)"])
}
