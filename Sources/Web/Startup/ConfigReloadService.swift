import Hummingbird
import Logging
import Privacy
import ServiceLifecycle
import Storage
import UnixSignals

/// SIGHUP reloads the config file. A valid file takes effect for every request that
/// arrives after it (a new router is swapped in; requests under way finish on the old
/// one, so none is dropped); an invalid one is logged with its error and the running
/// configuration stays. Settings only a restart can change are named in the log.
struct ConfigReloadService: Service {
    let running: VeilConfig
    let load: @Sendable () throws -> VeilConfig
    let parts: ServerParts
    let responder: RouterSwitch
    let retention: RetentionService
    let rollups: RollupService

    var logger: Logger { parts.environment.logger }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var current = running
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                current = await reload(from: current)
            }
        }
    }

    /// Applies the file if it is valid; returns the configuration now in force.
    func reload(from old: VeilConfig) async -> VeilConfig {
        let new: VeilConfig
        let router: Router<VeilRequestContext>
        do {
            new = try load()
            router = try makeRouter(config: new, geo: try loadGeo(config: new, logger: logger), parts: parts)
        } catch {
            logger.error("config reload failed; the running configuration stays", metadata: ["error": "\(error)"])
            return old
        }
        // A renewed certificate is served from the next handshake; a broken one is not.
        if let certificates = parts.certificates, !new.tlsCertificate.isEmpty {
            do {
                try certificates.reload(certificate: new.tlsCertificate, privateKey: new.tlsPrivateKey)
                logger.notice("TLS certificate re-read", metadata: ["certificate": "\(new.tlsCertificate)"])
            } catch {
                logger.error("TLS certificate reload failed; the previous certificate is still served", metadata: ["error": "\(error)"])
            }
        }
        parts.sites.replace(with: new.sites)
        responder.replace(with: router.buildResponder())
        let before = Dictionary(old.restartOnly.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
        let needRestart = new.restartOnly.filter { before[$0.key] != $0.value }.map(\.key)
        logger.notice("configuration reloaded", metadata: ["sites": "\(new.sites.map(\.domain).joined(separator: ","))"])
        if !needRestart.isEmpty {
            logger.warning("some changed settings take effect only after a restart; until then the old values stay",
                           metadata: ["restart_needed": "\(needRestart.joined(separator: ","))"])
        }
        if old.adminUsername != new.adminUsername || old.adminPasswordHash != new.adminPasswordHash {
            do { try await ensureAdmin(config: new, database: parts.database, environment: parts.environment) } catch {
                logger.error("could not update the dashboard user", metadata: ["error": "\(error)"])
            }
        }
        // New goals or a new zone make rollups stale, a shorter retention makes data due:
        // both are brought up to date now rather than at the next daily pass.
        if old.analyticsRules.mapValues(\.fingerprint) != new.analyticsRules.mapValues(\.fingerprint) {
            do { try await rollups.catchUp() } catch { logger.error("rollup rebuild failed", metadata: ["error": "\(error)"]) }
        }
        if old.sites.map({ "\($0.key) \($0.eventsRetentionDays) \($0.replaysRetentionDays)" }) != new.sites.map({ "\($0.key) \($0.eventsRetentionDays) \($0.replaysRetentionDays)" }) {
            await retention.purgeOnce()
        }
        return new
    }
}
