import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
import Storage
import Synchronization
import VeilAssets
@testable import Web

enum Chromium {
    static var path: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Required in CI (where `.ci/run` installs it); elsewhere the test is skipped with a note.
    static var enabled: Bool { path != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    /// Loads `url` and returns the DOM Chromium dumps once the page has settled.
    static func dump(_ url: String, profile: String) async throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("veil-dom-\(UUID().uuidString).html")
        defer { try? FileManager.default.removeItem(at: out) }
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        try await load(url, profile: profile, output: FileHandle(forWritingTo: out))
        return (try? String(contentsOf: out, encoding: .utf8)) ?? ""
    }

    /// Loads `url` in headless Chromium until the page settles, with a normal desktop UA
    /// (Veil drops HeadlessChrome as a bot, as it should).
    /// Waits without blocking a thread: the Veil under test runs on the same few
    /// cooperative threads, and a blocked one (two cores, several browser suites) would
    /// starve the server Chromium is talking to.
    static func load(_ url: String, profile: String, output: FileHandle = FileHandle.nullDevice) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path, "chromium is not installed: apt-get install chromium"))
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                             "--user-agent=\(TestData.userAgent)", "--virtual-time-budget=5000", "--dump-dom", url]
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning { process.terminate() }
    }
}

@Suite("Real headless Chromium", .serialized)
struct BrowserTests {
    static func page(veilPort: Int, gpc: Bool) -> String {
        """
        <!doctype html><html><head>
        \(gpc ? "<script>Object.defineProperty(navigator,'globalPrivacyControl',{get:function(){return true}});</script>" : "")
        <script>window.veil={q:[],track:function(n,p){this.q.push([n,p])}};veil.track('queued_before_load',{plan:'pro'});</script>
        <script defer src="http://127.0.0.1:\(veilPort)/v.js" data-site="localhost"></script>
        <script>window.addEventListener('load',function(){veil.track('Signup',{plan:'team'});history.pushState({},'','/spa-next');
        veil.track('storage',{items:localStorage.length,cookie:document.cookie.length});});</script>
        </head><body><p>test page</p></body></html>
        """
    }

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func snippetSendsPageviewsAndEventsFromARealBrowser() async throws {
        let dir = TempDir()
        let profile = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { veil in
            let veilPort = try #require(veil.port)
            // The page lives on another origin (another port), as a customer's site would.
            let router = Router()
            router.get("page") { _, _ in Response.html(Self.page(veilPort: veilPort, gpc: false)) }
            router.get("gpc") { _, _ in Response.html(Self.page(veilPort: veilPort, gpc: true)) }
            let pages = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestData.logger())
            try await pages.test(.live) { pageClient in
                let pagePort = try #require(pageClient.port)
                try await Chromium.load("http://127.0.0.1:\(pagePort)/gpc", profile: profile.path + "/gpc")
                try await Chromium.load("http://127.0.0.1:\(pagePort)/page", profile: profile.path + "/page")
            }
        }
        let db = try VeilDatabase.open(folder: dir.path)
        let events = try await db.events(site: "localhost")
        let summary = events.map { "\($0.name) \($0.path) \($0.props ?? "")" }
        #expect(Set(summary) == [
            "pageview /page ",
            "queued_before_load /page {\"plan\":\"pro\"}",
            "Signup /page {\"plan\":\"team\"}",
            "pageview /spa-next ",
            "storage /spa-next {\"items\":\"0\",\"cookie\":\"0\"}",
        ], "\(summary)")
        // Nothing from the page whose browser signalled Global Privacy Control.
        #expect(!events.contains { $0.path == "/gpc" })
        #expect(Set(events.map(\.sessionID)).count == 1)
        #expect(events.allSatisfy { $0.browser == "Chrome" && $0.os == "Linux" && $0.clientID?.count == 32 })
    }

    static let persistentPage = """
        <!doctype html><html><head><title>start</title>
        <script defer src="http://127.0.0.1:%PORT%/v.js" data-site="persist.example" data-identity="persistent"></script>
        <script>
        window.addEventListener('load', function () {
          var before = veil.visitorId();
          veil.track('before_consent');
          veil.consent(true);
          veil.identify('user-42');
          var id = veil.visitorId();
          veil.track('after_consent');
          veil.consent(false);
          veil.track('after_revoke', {stored: localStorage.getItem('veil_id') === null ? 'none' : 'some', before: before === null ? 'none' : 'some'});
          document.title = 'vid:' + id;
        });
        </script></head><body>persistent</body></html>
        """

    /// What a persistent-identity page run left behind: the data folder, the raw ID the page
    /// showed in its title, the server secret and the stored events.
    struct PersistentRun {
        let dir: TempDir
        let rawID: String
        let secret: [UInt8]
        let events: [StoredEvent]
    }

    /// Serves `page` (with `%PORT%` set to Veil's port) from another origin to headless Chromium,
    /// against a Veil with a `persist.example` site in persistent mode.
    static func persistentRun(page: String) async throws -> PersistentRun {
        let dir = TempDir()
        let profile = TempDir()
        var config = TestData.config(dataDir: dir.path)
        var site = SiteRules(domain: "persist.example", origins: ["127.0.0.1"])
        site.identity = .persistent
        config.sites.append(site)
        let dom = Mutex("")
        try await withLiveVeil(config) { veil in
            let veilPort = try #require(veil.port)
            let router = Router()
            router.get("page") { _, _ in Response.html(page.replacingOccurrences(of: "%PORT%", with: String(veilPort))) }
            let pages = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestData.logger())
            try await pages.test(.live) { pageClient in
                let out = try await Chromium.dump("http://127.0.0.1:\(try #require(pageClient.port))/page", profile: profile.path)
                dom.withLock { $0 = out }
            }
        }
        let title = dom.withLock { $0 }
        let rawID = try #require(title.range(of: #"vid:[0-9a-f]{32}"#, options: .regularExpression).map { String(title[$0].dropFirst(4)) }, "no visitor ID in \(title.prefix(300))")
        let secret = try #require([UInt8](hex: try String(contentsOfFile: dir.path + "/secret.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let events = try await VeilDatabase.open(folder: dir.path).events(site: "persist.example")
        return PersistentRun(dir: dir, rawID: rawID, secret: secret, events: events)
    }

    /// The README's stub, called before the deferred tracker loads (a consent banner usually does).
    static let queuedCommandsPage = """
        <!doctype html><html><head><title>start</title>
        <script>\(String(decoding: VeilAssets.EmbeddedAssets.demoQueueJS, as: UTF8.self))</script>
        <script>veil.consent(true); veil.identify('early-user'); veil.track('early', {a: 1});</script>
        <script defer src="http://127.0.0.1:%PORT%/v.js" data-site="persist.example" data-identity="persistent"></script>
        <script>window.addEventListener('load', function () { document.title = 'vid:' + veil.visitorId(); });</script>
        </head><body>queued</body></html>
        """

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func consentAndIdentifyQueuedBeforeLoadApplyToTheFirstPageview() async throws {
        let run = try await Self.persistentRun(page: Self.queuedCommandsPage)
        let (rawID, secret, events) = (run.rawID, run.secret, run.events)
        let visitor = IdentityHasher.visitor(secret: secret, site: "persist.example", visitorID: rawID)
        let user = IdentityHasher.user(secret: secret, site: "persist.example", userID: "early-user")
        #expect(events.map(\.name).sorted() == ["early", "pageview"])
        #expect(events.allSatisfy { $0.visitor == visitor }, "the first pageview already carries the consented ID")
        #expect(events.allSatisfy { $0.userHash == user })
        #expect(events.first { $0.name == "early" }?.props == #"{"a":"1"}"#)
    }

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func persistentIdentityAfterConsentInARealBrowser() async throws {
        let run = try await Self.persistentRun(page: Self.persistentPage)
        let (dir, rawID, secret, events) = (run.dir, run.rawID, run.secret, run.events)
        let db = try VeilDatabase.open(folder: dir.path)
        let byName = Dictionary(events.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let visitor = IdentityHasher.visitor(secret: secret, site: "persist.example", visitorID: rawID)
        #expect(byName["after_consent"]?.visitor == visitor)
        #expect(byName["before_consent"]?.visitor != visitor, "no ID may exist before consent")
        #expect(byName["after_revoke"]?.visitor != visitor, "the ID must be gone after consent(false)")
        #expect(byName["after_revoke"]?.props == #"{"stored":"none","before":"none"}"#)
        // The raw ID is nowhere on disk; the subject can still be found and exported with it.
        for (name, bytes) in dir.allBytes() { #expect(!bytes.contains(bytes: Array(rawID.utf8)), "raw visitor ID in \(name)") }
        let requests = PrivacyRequests(database: db, clock: .system, secret: secret, rules: [:])
        let byVisitor = try await db.records(site: "persist.example", subject: try requests.subject(site: "persist.example", session: nil, visitor: rawID, user: nil))
        #expect(byVisitor.events.map(\.name).contains("after_consent"))
        let byUser = try await db.records(site: "persist.example", subject: try requests.subject(site: "persist.example", session: nil, visitor: nil, user: "user-42"))
        #expect(byUser.events.map(\.name).contains("after_consent"))
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `/demo` says what Veil did with the visit (issue 14): counted, or why not.
@Suite("The demo page tells what happened")
struct DemoPageTests {
    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func theDemoSaysCountedOrWhyNot() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let port = try #require(client.port)
            let steps: [[String: Any]] = [["navigate": "http://127.0.0.1:\(port)/demo"],
                                          ["wait": "!/Sending/.test(document.getElementById('demo-visit').textContent)", "timeout": 20],
                                          ["eval": "document.getElementById('demo-visit').textContent", "as": "visit"]]
            let counted = try await CDP.run(steps)
            #expect((counted.results["visit"] as? String)?.hasPrefix("Your visit was just counted") == true, "\(counted.results) \(counted.error ?? "")")
            // Headless Chromium's own agent is a bot to Veil: the page must not claim a count.
            let headless = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
            let dropped = try await CDP.run(steps, userAgent: headless)
            #expect((dropped.results["visit"] as? String) == "Veil received your visit but did not count it: your browser looks like a bot or crawler to Veil.",
                    "\(dropped.results)")
            let stored = try await VeilDatabase.open(folder: dir.path).events(site: "localhost").filter { $0.name == "pageview" }
            #expect(stored.count == 1)
        }
    }
}
