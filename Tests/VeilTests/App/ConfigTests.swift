import Foundation
import Testing
import Privacy
import VeilAssets
@testable import App
@testable import Web

@Suite("Configuration: defaults, file, environment, command line")
struct ConfigTests {
    func write(_ text: String) -> (TempDir, String) {
        let dir = TempDir()
        let path = dir.path + "/veil.yaml"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return (dir, path)
    }

    @Test func startsWithNoFileOnBuiltInDefaults() throws {
        let config = try ConfigLoader(environment: [:]).load(file: nil)
        #expect(config.listenHost == "127.0.0.1" && config.listenPort == 8080)
        #expect(config.dataDir == "./veil-data")
        #expect(config.sites.map(\.domain) == ["localhost"])
        #expect(config.sites[0].identity == .cookieless && config.sites[0].honorDNT && config.sites[0].honorGPC)
        #expect(config.limits == IngestLimits())
        #expect(config.writer == VeilConfig().writer)
    }

    @Test func embeddedDefaultFileMatchesCodeDefaultsAndListsEveryKey() throws {
        // The commented file `veil init` writes is the source of the defaults; it must
        // agree with the code's defaults and mention every key, so neither can drift.
        let text = String(decoding: EmbeddedAssets.defaultConfig, as: UTF8.self)
        let fromFile = try ConfigLoader(environment: [:]).load(file: nil)
        let code = VeilConfig()
        #expect(ConfigLoader.describe(fromFile) == ConfigLoader.describe(code))
        for key in ConfigSchema.keys {
            let leaf = String(key.path.split(separator: ".").last!)
            #expect(text.contains(leaf + ":"), "default.yaml does not mention \(key.path)")
        }
        for key in ConfigSchema.siteKeys { #expect(text.contains(key + ":")) }
    }

    @Test func sdkKeysAndTheirMistakes() throws {
        let (dir, path) = write("""
            limits:
              client_time_past_hours: 24
            archive:
              enabled: true
            sites:
              - domain: shop.example
                posthog: {api_key: phc_abc}
                segment: {write_key: wk}
                umami: {website_id: 4F1C2A0E-0000-4000-8000-000000000000}
                person_properties: [plan, company]
            """)
        let config = try ConfigLoader(environment: [:]).load(file: path)
        let site = config.sites[0]
        #expect(site.sdkKeys == SDKSiteKeys(posthogAPIKey: "phc_abc", segmentWriteKey: "wk", umamiWebsiteID: "4F1C2A0E-0000-4000-8000-000000000000"))
        #expect(site.personProperties == ["plan", "company"] && site.hasPersonIDs)
        #expect(config.limits.clientTimes.pastMillis == 24 * 3_600_000 && config.archiveEnabled && config.archiveDirectory.hasSuffix("veil-data/archive"))
        #expect(SDKKeyMap(sites: config.sites).umami["4f1c2a0e-0000-4000-8000-000000000000"] == "shop.example")
        _ = dir
        func error(_ text: String) -> String {
            let (d, p) = write(text)
            defer { _ = d }
            do { _ = try ConfigLoader(environment: [:]).load(file: p); return "" } catch { return "\(error)" }
        }
        #expect(error("sites:\n  - domain: a.example\n    posthog: {key: x}\n").contains(":3: sites[0].posthog.key: unknown key; posthog has api_key"))
        #expect(error("sites:\n  - domain: a.example\n    segment: {write_key: \"two words\"}\n").contains("sites[0].segment.write_key"))
        #expect(error("sites:\n  - domain: a.example\n    posthog: {api_key: k}\n  - domain: b.example\n    posthog: {api_key: k}\n")
            .contains(":4: sites[1].posthog.api_key: site a.example has the same key"))
        #expect(error("sites:\n  - domain: a.example\n    person_properties: plan\n").contains("sites[0].person_properties: expected a list"))
    }

    @Test func fileOverridesDefaults() throws {
        let (dir, path) = write("""
            listen: "0.0.0.0:9000"
            api:
              token: abc
            limits:
              batch_events: 50
            sites:
              - domain: Example.com
                origins: [https://shop.example.net]
                honor_dnt: false
            """)
        _ = dir
        let config = try ConfigLoader(environment: [:]).load(file: path)
        #expect(config.listenHost == "0.0.0.0" && config.listenPort == 9000)
        #expect(config.apiToken == "abc")
        #expect(config.limits.batchEvents == 50)
        #expect(config.limits.properties == 30)
        #expect(config.sites == [SiteRules(domain: "example.com", origins: ["https://shop.example.net"], honorDNT: false)])
    }

    @Test func environmentAndCommandLineOverrideTheFile() throws {
        let (dir, path) = write("listen: 127.0.0.1:9000\ndata_dir: /tmp/a\n")
        _ = dir
        let env = ["VEIL_LISTEN": "127.0.0.1:9100", "VEIL_API_TOKEN": "from-env", "VEIL_DATA_DIR": "/tmp/b", "VEIL_LIMITS_BATCH_EVENTS": "7"]
        var config = try ConfigLoader(environment: env).load(file: path)
        #expect(config.listenPort == 9100 && config.apiToken == "from-env" && config.dataDir == "/tmp/b" && config.limits.batchEvents == 7)
        config = try ConfigLoader(environment: env, commandLine: ["listen": "127.0.0.1:9200", "api.token": "from-cli"]).load(file: path)
        #expect(config.listenPort == 9200 && config.apiToken == "from-cli")
    }

    @Test(arguments: [
        (["VEIL_LISTEN": "not-a-port"], "listen"),
        (["VEIL_LIMITS_BATCH_EVENTS": "lots"], "limits.batch_events"),
        (["VEIL_SECURE_COOKIES": "maybe"], "secure_cookies"),
        (["VEIL_LIMITS_PROPERTIES": "-1"], "limits.properties"),
        (["VEIL_LISTNE": "127.0.0.1:1"], "VEIL_LISTNE"),
    ])
    func malformedEnvironmentValueIsAnErrorNamingTheKey(env: [String: String], key: String) {
        #expect {
            try ConfigLoader(environment: env).load(file: nil)
        } throws: { error in
            (error as? App.ConfigError)?.key == key
        }
    }

    @Test func tlsNeedsBothFilesAndARedirectNeedsTLS() {
        for (env, key) in [(["VEIL_TLS_CERTIFICATE": "/etc/veil/cert.pem"], "tls.private_key"), (["VEIL_TLS_PRIVATE_KEY": "/etc/veil/key.pem"], "tls.certificate"),
                           (["VEIL_TLS_REDIRECT_LISTEN": "0.0.0.0:80"], "tls.redirect_listen"), (["VEIL_METRICS_LISTEN": "nowhere"], "metrics.listen")] {
            #expect {
                try ConfigLoader(environment: env).load(file: nil)
            } throws: { error in
                (error as? App.ConfigError)?.key == key
            }
        }
    }

    @Test func errorsCarryLineNumbers() {
        let cases: [(String, Int, String)] = [
            ("listen: 127.0.0.1:8080\nlimits:\n  batch_events: many\n", 3, "limits.batch_events"),
            ("listen: 127.0.0.1:8080\n\nlistne: x\n", 3, "listne"),
            ("sites:\n  - domain: a.com\n    identity: tracked\n", 3, "sites[0].identity"),
            ("sites:\n  - domain: a.com\n  - domain: a.com\n", 3, "sites[1]"),
            ("api: [1, 2]\n", 1, "api"),
            ("sites:\n  - domain: a.com\n    goals:\n      - name: G\n        page: /x\n        event: y\n", 4, "sites[0].goals[0]"),
            ("sites:\n  - domain: a.com\n    goals:\n      - {name: G, event: y, colour: red}\n", 4, "sites[0].goals[0].colour"),
            ("sites:\n  - domain: a.com\n    click_events:\n      - name: C\n        selector: div > a\n", 5, "sites[0].click_events[0].selector"),
            ("sites:\n  - domain: a.com\n    goals: [{name: G, event: y}]\n    funnels:\n      - {name: F, steps: [G, Missing]}\n", 2, "sites[0].funnels"),
            ("sites:\n  - domain: a.com\n    funnels:\n      - {name: F, steps: [G]}\n", 4, "sites[0].funnels[0].steps"),
            ("geoip:\n  database: [x]\n", 2, "geoip.database"),
        ]
        for (text, line, key) in cases {
            let (dir, path) = write(text)
            _ = dir
            do {
                _ = try ConfigLoader(environment: [:]).load(file: path)
                Issue.record("expected an error for \(text)")
            } catch {
                #expect(error.line == line, "\(error)")
                #expect(error.key == key, "\(error)")
                #expect(error.description.hasPrefix(path + ":\(line): "))
            }
        }
    }

    @Test func analyticsRulesParse() throws {
        let (dir, path) = write("""
            sites:
              - domain: shop.example
                autocapture: true
                goals:
                  - {name: Signup, event: signup, props: {plan: pro}}
                  - {name: Pricing, page: "/pricing*"}
                funnels:
                  - {name: Buy, steps: [Pricing, Signup], window_minutes: 30}
                click_events:
                  - {name: Buy button, selector: "button#buy.primary", href: "/checkout*"}
            """)
        _ = dir
        let config = try ConfigLoader(environment: [:]).load(file: path)
        let rules = try #require(config.site("shop.example")).analytics
        #expect(rules.autocapture)
        #expect(rules.goals == [Goal(name: "Signup", event: "signup", props: [("plan", "pro")]), Goal(name: "Pricing", page: "/pricing*")])
        #expect(rules.funnels == [Funnel(name: "Buy", steps: ["Pricing", "Signup"], windowMinutes: 30)])
        #expect(rules.clickEvents == [ClickDefinition(name: "Buy button", selector: "button#buy.primary", href: "/checkout*")])
        // The printed config shows them (and parses back to the same rules).
        let printed = ConfigLoader.describe(config)
        #expect(printed.contains(#"goals: [{name: "Signup", event: "signup", props: {"plan": "pro"}}, {name: "Pricing", page: "/pricing*"}]"#), "\(printed)")
        #expect(ClickDefinition(name: "x", selector: "button#buy.primary").matches(props: [("tag", "BUTTON"), ("id", "buy"), ("classes", "big primary")]))
        #expect(!ClickDefinition(name: "x", selector: "button#buy.primary").matches(props: [("tag", "button"), ("id", "buy"), ("classes", "big")]))
        #expect(Wildcard.matches(pattern: "/blog/*/edit", text: "/blog/a/b/edit") && !Wildcard.matches(pattern: "/blog/*", text: "/blo"))
    }

    @Test func replaySettingsParseAndBadOnesNameTheirLine() throws {
        let (dir, path) = write("""
            sites:
              - domain: shop.example
                replay:
                  enabled: true
                  sample_rate: 0.25
                  mask_text: all
                  erase: [".customer-name", "#account [data-private]"]
                  block: ["iframe.chat"]
                  retention_days: 14
            """)
        _ = dir
        let site = try #require(try ConfigLoader(environment: [:]).load(file: path).site("shop.example"))
        #expect(site.replay == ReplayRules(enabled: true, sampleRate: 0.25, maskText: .all, eraseSelectors: [".customer-name", "#account [data-private]"], blockSelectors: ["iframe.chat"]))
        #expect(site.replaysRetentionDays == 14)
        let plain = write("sites:\n  - domain: a.example\n")
        #expect(try ConfigLoader(environment: [:]).load(file: plain.1).site("a.example")?.replay.enabled == false, "off unless enabled")
        for (yaml, line, fragment) in [
            ("sites:\n  - domain: a.example\n    replay:\n      sample_rate: 2\n", 4, "from 0 to 1"),
            ("sites:\n  - domain: a.example\n    replay:\n      mask_text: some\n", 4, "pii, all or none"),
            ("sites:\n  - domain: a.example\n    replay:\n      erase: [\"<script>\"]\n", 4, "CSS selector"),
            ("sites:\n  - domain: a.example\n    replay:\n      enable: true\n", 4, "unknown key"),
            ("sites:\n  - domain: a.example\n    replay: yes\n", 3, "expected a mapping"),
        ] {
            let file = write(yaml)
            do {
                _ = try ConfigLoader(environment: [:]).load(file: file.1)
                Issue.record("accepted: \(yaml)")
            } catch {
                #expect(error.line == line && "\(error)".contains(fragment), "\(error)")
            }
        }
    }

    @Test func siteTimeZonesAreValidatedAtLoad() throws {
        let (dir, path) = write("sites:\n  - domain: a.example\n    timezone: Asia/Kathmandu\n  - domain: b.example\n")
        _ = dir
        let config = try ConfigLoader(environment: [:]).load(file: path)
        #expect(config.site("a.example")?.analytics.calendar.identifier == "Asia/Kathmandu")
        #expect(config.site("b.example")?.analytics.calendar == .utc, "UTC unless set")
        let bad = write("sites:\n  - domain: a.example\n    origins: []\n    timezone: Mars/Olympus_Mons\n")
        do {
            _ = try ConfigLoader(environment: [:]).load(file: bad.1)
            Issue.record("an unknown zone was accepted")
        } catch {
            #expect(error.line == 4 && "\(error)".contains("sites[0].timezone") && "\(error)".contains("IANA"), "\(error)")
        }
    }

    @Test func invalidYAMLReportsItsLine() {
        let (dir, path) = write("listen: 127.0.0.1:8080\nsites: [\n")
        _ = dir
        #expect { try ConfigLoader(environment: [:]).load(file: path) } throws: { ($0 as? App.ConfigError)?.line != nil }
    }

    /// A recording's first chunk must fit its caps, or no recording could ever start.
    @Test(arguments: ["replay_recording_raw_bytes", "replay_recording_stored_bytes", "replay_recording_events"])
    func recordingCapsBelowOneChunkAreRefused(key: String) throws {
        let (dir, path) = write("limits:\n  replay_body_bytes: 200000\n  replay_events: 5000\n  \(key): \(key.hasSuffix("events") ? 100 : 100000)\n")
        _ = dir
        #expect { try ConfigLoader(environment: [:]).load(file: path) } throws: { ($0 as? App.ConfigError)?.key == "limits." + key }
        let (okDir, okPath) = write("limits:\n  replay_body_bytes: 65536\n  replay_events: 100\n  \(key): 65536\n")
        _ = okDir
        #expect(try ConfigLoader(environment: [:]).load(file: okPath).limits.replayBodyBytes == 65536)
    }

    @Test func describeRedactsSecrets() throws {
        let config = try ConfigLoader(environment: ["VEIL_API_TOKEN": "super-secret-token", "VEIL_SECRET": String(repeating: "ab", count: 32)]).load(file: nil)
        let text = ConfigLoader.describe(config)
        #expect(!text.contains("super-secret-token"))
        #expect(!text.contains("abababab"))
        #expect(text.contains("api.token: \"<redacted>\""))
        #expect(text.contains("listen: \"127.0.0.1:8080\""))
    }

    @Test func configFileResolution() {
        let dir = TempDir()
        let loader = ConfigLoader(environment: ["VEIL_CONFIG": "/etc/veil.yaml"])
        #expect(loader.resolveFile(explicit: "/x.yaml", workingDirectory: dir.path) == "/x.yaml")
        #expect(loader.resolveFile(explicit: nil, workingDirectory: dir.path) == "/etc/veil.yaml")
        #expect(ConfigLoader(environment: [:]).resolveFile(explicit: nil, workingDirectory: dir.path) == nil)
        _ = FileManager.default.createFile(atPath: dir.path + "/veil.yaml", contents: Data())
        #expect(ConfigLoader(environment: [:]).resolveFile(explicit: nil, workingDirectory: dir.path) == dir.path + "/veil.yaml")
    }
}
