import Configuration
import Foundation
import Privacy
import VeilAssets
import Web
import Yams

/// A configuration problem, with the file and line when it came from a file.
struct ConfigError: Error, CustomStringConvertible {
    var source: String
    var line: Int?
    var key: String?
    var message: String

    var description: String {
        var s = source
        if let line { s += ":\(line)" }
        s += ": "
        if let key { s += "\(key): " }
        return s + message
    }
}

/// Builds the effective configuration: built-in defaults (the embedded, commented
/// default file) ← the config file ← `VEIL_*` environment ← command-line `--set`.
///
/// The file is validated against `ConfigSchema` with line numbers (unknown keys and
/// wrong types are errors). Overrides are read through swift-configuration readers; each
/// value is parsed strictly, so a malformed one is an error naming its key, never a
/// silent fallback to the default.
struct ConfigLoader {
    var environment: [String: String]
    var commandLine: [String: String] = [:]

    /// Which file to read: `--config`, else `VEIL_CONFIG`, else `./veil.yaml` when present.
    func resolveFile(explicit: String?, workingDirectory: String = FileManager.default.currentDirectoryPath) -> String? {
        if let explicit { return explicit }
        if let env = environment["VEIL_CONFIG"], !env.isEmpty { return env }
        let local = (workingDirectory as NSString).appendingPathComponent("veil.yaml")
        return FileManager.default.fileExists(atPath: local) ? local : nil
    }

    func load(file: String?) throws(ConfigError) -> VeilConfig {
        var config = VeilConfig()
        try apply(yaml: String(decoding: EmbeddedAssets.defaultConfig, as: UTF8.self), source: "built-in default", to: &config)
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigError(source: file, message: "cannot read the file (does it exist and is it readable?)")
            }
            guard let text = String(data: data, encoding: .utf8) else { throw ConfigError(source: file, message: "the file is not valid UTF-8") }
            try apply(yaml: text, source: file, to: &config)
        }
        try applyOverrides(to: &config)
        try validate(config)
        return config
    }

    // MARK: - File

    func apply(yaml: String, source: String, to config: inout VeilConfig) throws(ConfigError) {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(source: source, line: yamlErrorLine(error), message: "not valid YAML: \(yamlProblem(error))")
        } catch {
            throw ConfigError(source: source, message: "not valid YAML: \(error)")
        }
        guard let root else { return }  // an empty file changes nothing
        guard case .mapping(let mapping) = root else {
            throw ConfigError(source: source, line: line(root), message: "the top level must be a mapping of keys to values")
        }
        try walk(mapping, prefix: "", source: source, config: &config)
    }

    private func walk(_ mapping: Node.Mapping, prefix: String, source: String, config: inout VeilConfig) throws(ConfigError) {
        for (keyNode, value) in mapping {
            guard case .scalar(let keyScalar) = keyNode else { throw ConfigError(source: source, line: line(keyNode), message: "keys must be plain names") }
            let path = prefix + keyScalar.string
            if path == "sites" {
                config.sites = try parseSites(value, source: source)
                continue
            }
            if let key = ConfigSchema.byPath[path] {
                let text: String
                switch (key.kind, value) {
                case (.strings, .sequence(let seq)):
                    var items: [String] = []
                    for item in seq {
                        guard case .scalar(let s) = item else { throw ConfigError(source: source, line: line(item), key: path, message: "expected a list of strings") }
                        items.append(s.string)
                    }
                    key.apply(&config, .strings(items))
                    continue
                case (.strings, .scalar(let s)) where s.string.isEmpty:
                    key.apply(&config, .strings([]))
                    continue
                case (_, .scalar(let s)):
                    text = s.string
                default:
                    throw ConfigError(source: source, line: line(value), key: path, message: "expected a single value, not a \(kindName(value))")
                }
                switch key.kind.parse(text) {
                case .ok(let v): key.apply(&config, v)
                case .bad(let message): throw ConfigError(source: source, line: line(value), key: path, message: message)
                }
                continue
            }
            let isSection = ConfigSchema.keys.contains { $0.path.hasPrefix(path + ".") }
            if isSection {
                guard case .mapping(let inner) = value else {
                    throw ConfigError(source: source, line: line(value), key: path, message: "expected a section (keys indented below it)")
                }
                try walk(inner, prefix: path + ".", source: source, config: &config)
                continue
            }
            throw ConfigError(source: source, line: line(keyNode), key: path, message: "unknown key" + suggestion(for: path))
        }
    }

    private func parseSites(_ node: Node, source: String) throws(ConfigError) -> [SiteRules] {
        guard case .sequence(let seq) = node else {
            throw ConfigError(source: source, line: line(node), key: "sites", message: "expected a list of sites (each starting with \"- domain: ...\")")
        }
        var sites: [SiteRules] = []
        for (index, item) in seq.enumerated() {
            let p = "sites[\(index)]"
            guard case .mapping(let m) = item else { throw ConfigError(source: source, line: line(item), key: p, message: "expected a mapping with at least `domain`") }
            var site = SiteRules(domain: "")
            for (k, v) in m {
                let name = k.scalar?.string ?? ""
                func scalar() throws(ConfigError) -> String {
                    guard case .scalar(let s) = v else { throw ConfigError(source: source, line: line(v), key: "\(p).\(name)", message: "expected a single value") }
                    return s.string
                }
                func bool() throws(ConfigError) -> Bool {
                    switch SchemaKey.Kind.bool.parse(try scalar()) {
                    case .ok(let b): return b.bool
                    case .bad(let message): throw ConfigError(source: source, line: line(v), key: "\(p).\(name)", message: message)
                    }
                }
                switch name {
                case "domain":
                    let domain = try scalar().lowercased()
                    guard !domain.isEmpty, !domain.contains("/"), !domain.contains(" ") else {
                        throw ConfigError(source: source, line: line(v), key: "\(p).domain", message: "expected a host name such as example.com")
                    }
                    site.domain = domain
                case "origins":
                    guard case .sequence(let list) = v else { throw ConfigError(source: source, line: line(v), key: "\(p).origins", message: "expected a list") }
                    site.origins = list.compactMap { $0.scalar?.string }
                case "identity":
                    let text = try scalar()
                    guard let mode = IdentityMode(rawValue: text) else {
                        throw ConfigError(source: source, line: line(v), key: "\(p).identity",
                                          message: "expected one of \(IdentityMode.allCases.map(\.rawValue).joined(separator: ", ")), got \(quoteYAML(text))")
                    }
                    site.identity = mode
                case "scrub_patterns", "property_allowlist":
                    guard case .sequence(let list) = v else { throw ConfigError(source: source, line: line(v), key: "\(p).\(name)", message: "expected a list") }
                    var items: [String] = []
                    for item in list {
                        guard let text = item.scalar?.string else { throw ConfigError(source: source, line: line(item), key: "\(p).\(name)", message: "expected a list of strings") }
                        if name == "scrub_patterns", !PIIScrubber.isValidPattern(text) {
                            throw ConfigError(source: source, line: line(item), key: "\(p).scrub_patterns", message: "\(quoteYAML(text)) is not a valid regular expression")
                        }
                        items.append(text)
                    }
                    if name == "scrub_patterns" { site.scrubPatterns = items } else { site.propertyAllowlist = items }
                case "retention":
                    guard case .mapping(let r) = v else { throw ConfigError(source: source, line: line(v), key: "\(p).retention", message: "expected events_days and replays_days") }
                    for (rk, rv) in r {
                        let rname = rk.scalar?.string ?? ""
                        guard rname == "events_days" || rname == "replays_days" else {
                            throw ConfigError(source: source, line: line(rk), key: "\(p).retention.\(rname)", message: "unknown key; retention has events_days and replays_days")
                        }
                        guard case .scalar(let sv) = rv else { throw ConfigError(source: source, line: line(rv), key: "\(p).retention.\(rname)", message: "expected a number of days") }
                        switch SchemaKey.Kind.int(1...36_500).parse(sv.string) {
                        case .ok(let days): if rname == "events_days" { site.eventsRetentionDays = days.int } else { site.replaysRetentionDays = days.int }
                        case .bad(let message): throw ConfigError(source: source, line: line(rv), key: "\(p).retention.\(rname)", message: message)
                        }
                    }
                case "consent":
                    let text = try scalar()
                    guard text == "required" || text == "not_required" else {
                        throw ConfigError(source: source, line: line(v), key: "\(p).consent", message: "expected required or not_required, got \(quoteYAML(text))")
                    }
                    site.consentRequired = text == "required"
                case "timezone":
                    let text = try scalar()
                    guard let calendar = DayCalendar(identifier: text) else {
                        throw ConfigError(source: source, line: line(v), key: "\(p).timezone",
                                          message: "\(quoteYAML(text)) is not a time zone this machine knows; use an IANA name such as Europe/Berlin or UTC (the names come from the system's tzdata package)")
                    }
                    site.analytics.calendar = calendar
                case "honor_dnt": site.honorDNT = try bool()
                case "honor_gpc": site.honorGPC = try bool()
                case "autocapture": site.analytics.autocapture = try bool()
                case "goals": site.analytics.goals = try parseGoals(v, key: "\(p).goals", source: source)
                case "funnels": site.analytics.funnels = try parseFunnels(v, key: "\(p).funnels", source: source)
                case "click_events": site.analytics.clickEvents = try parseClickEvents(v, key: "\(p).click_events", source: source)
                case "replay": try parseReplay(v, key: "\(p).replay", source: source, into: &site)
                case "feedback": site.feedback = try parseFeedback(v, key: "\(p).feedback", source: source)
                case "posthog", "segment", "umami": try parseSDKKey(name, v, key: "\(p).\(name)", source: source, into: &site)
                case "person_properties":
                    guard case .sequence(let list) = v else { throw ConfigError(source: source, line: line(v), key: "\(p).person_properties", message: "expected a list") }
                    site.personProperties = try list.map { item throws(ConfigError) in
                        guard let text = item.scalar?.string, !text.isEmpty else {
                            throw ConfigError(source: source, line: line(item), key: "\(p).person_properties", message: "expected a list of property names")
                        }
                        return text
                    }
                default:
                    throw ConfigError(source: source, line: line(k), key: "\(p).\(name)", message: "unknown key; a site has \(ConfigSchema.siteKeys.joined(separator: ", "))")
                }
            }
            guard !site.domain.isEmpty else { throw ConfigError(source: source, line: line(item), key: p, message: "domain is required") }
            try checkFunnels(site.analytics, key: "\(p).funnels", source: source, node: item)
            guard !sites.contains(where: { $0.domain == site.domain }) else {
                throw ConfigError(source: source, line: line(item), key: p, message: "site \(site.domain) is listed twice")
            }
            // A key selects one site: the same key on two sites would send events to either.
            let keys = site.sdkKeys
            for other in sites {
                for (name, mine, theirs) in [("posthog.api_key", keys.posthogAPIKey, other.sdkKeys.posthogAPIKey),
                                             ("segment.write_key", keys.segmentWriteKey, other.sdkKeys.segmentWriteKey),
                                             ("umami.website_id", keys.umamiWebsiteID?.lowercased(), other.sdkKeys.umamiWebsiteID?.lowercased())]
                where mine != nil && mine == theirs {
                    throw ConfigError(source: source, line: line(item), key: "\(p).\(name)", message: "site \(other.domain) has the same key; each key selects one site")
                }
            }
            sites.append(site)
        }
        return sites
    }

    // MARK: - Overrides

    private func applyOverrides(to config: inout VeilConfig) throws(ConfigError) {
        // Environment: VEIL_API_TOKEN → key api.token. swift-configuration's environment
        // provider maps `api.token` to API_TOKEN, so the VEIL_ prefix is stripped first.
        var stripped: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("VEIL_") && name != "VEIL_CONFIG" {
            stripped[String(name.dropFirst(5))] = value
        }
        let known = Set(ConfigSchema.keys.map(\.environmentName))
        for name in environment.keys where name.hasPrefix("VEIL_") && name != "VEIL_CONFIG" && !known.contains(name) {
            throw ConfigError(source: "environment", key: name, message: "unknown variable" + suggestion(for: name))
        }
        let envReader = ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: stripped))
        for (key, _) in commandLine where ConfigSchema.byPath[key] == nil {
            throw ConfigError(source: "command line", key: key, message: "unknown key" + suggestion(for: key))
        }
        let cliValues = Dictionary(uniqueKeysWithValues: commandLine.map { (AbsoluteConfigKey(Configuration.ConfigKey($0.key)), ConfigValue(.string($0.value), isSecret: false)) })
        let cliReader = ConfigReader(provider: InMemoryProvider(name: "command line", values: cliValues))

        for key in ConfigSchema.keys {
            let configKey = Configuration.ConfigKey(key.path)
            for (source, reader) in [("environment (\(key.environmentName))", envReader), ("command line (--set \(key.path))", cliReader)] {
                guard let text = reader.string(forKey: configKey, isSecret: key.secret) else { continue }
                switch key.kind.parse(text) {
                case .ok(let v): key.apply(&config, v)
                case .bad(let message): throw ConfigError(source: source, key: key.path, message: message)
                }
            }
        }
    }

    // MARK: - Whole-config checks

    private func validate(_ config: VeilConfig) throws(ConfigError) {
        if config.tlsCertificate.isEmpty != config.tlsPrivateKey.isEmpty {
            throw ConfigError(source: "config", key: config.tlsCertificate.isEmpty ? "tls.certificate" : "tls.private_key",
                              message: "set both tls.certificate and tls.private_key (PEM files) to serve HTTPS, or neither")
        }
        if config.tlsRedirectListen != nil && config.tlsCertificate.isEmpty {
            throw ConfigError(source: "config", key: "tls.redirect_listen", message: "redirects to HTTPS need tls.certificate and tls.private_key")
        }
        if !config.secret.isEmpty, [UInt8](hex: config.secret)?.count != 32 {
            throw ConfigError(source: "config", key: "secret", message: "expected 64 hexadecimal characters (32 bytes), or empty")
        }
        if !config.adminPasswordHash.isEmpty, !PasswordHasher.isWellFormed(config.adminPasswordHash) {
            throw ConfigError(source: "config", key: "admin.password_hash", message: "not a hash from `veil hash-password`")
        }
        if config.adminUsername.isEmpty { throw ConfigError(source: "config", key: "admin.username", message: "must not be empty") }
        if !config.trackerPath.hasPrefix("/") || config.trackerPath.hasPrefix("/api/") || config.trackerPath.contains("?") {
            throw ConfigError(source: "config", key: "tracker.path", message: "must start with / and not be under /api/")
        }
        if config.sites.isEmpty { throw ConfigError(source: "config", key: "sites", message: "list at least one site") }
        // A recording's first chunk must fit its caps, or no recording could ever start.
        let l = config.limits
        if l.replayRecordingRawBytes < l.replayBodyBytes {
            throw ConfigError(source: "config", key: "limits.replay_recording_raw_bytes", message: "must be at least limits.replay_body_bytes (\(l.replayBodyBytes))")
        }
        if l.replayRecordingStoredBytes < l.replayBodyBytes {
            throw ConfigError(source: "config", key: "limits.replay_recording_stored_bytes", message: "must be at least limits.replay_body_bytes (\(l.replayBodyBytes))")
        }
        if l.replayRecordingEvents < l.replayEvents {
            throw ConfigError(source: "config", key: "limits.replay_recording_events", message: "must be at least limits.replay_events (\(l.replayEvents))")
        }
        do { _ = try ClientAddressResolver(trustedProxies: config.trustedProxies) } catch {
            throw ConfigError(source: "config", key: error.key, message: error.message)
        }
    }

    // MARK: - Helpers

    func line(_ node: Node) -> Int? { node.mark?.line }

    private func kindName(_ node: Node) -> String {
        switch node {
        case .mapping: return "section"
        case .sequence: return "list"
        default: return "value"
        }
    }

    private func suggestion(for path: String) -> String {
        let candidates = ConfigSchema.keys.map(\.path) + ["sites"] + ConfigSchema.keys.map(\.environmentName)
        let best = candidates.min { editDistance($0, path) < editDistance($1, path) }
        if let best, editDistance(best, path) <= 3 { return "; did you mean \(best)?" }
        return "; run `veil init` to see every key"
    }

    private func yamlErrorLine(_ error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    private func yamlProblem(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _): return problem
        default: return "\(error)"
        }
    }
}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
        var current = [i] + Array(repeating: 0, count: b.count)
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        previous = current
    }
    return previous[b.count]
}
