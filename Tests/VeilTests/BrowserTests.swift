import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Storage
@testable import Web

enum Chromium {
    static var path: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Required in CI (where `.ci/run` installs it); elsewhere the test is skipped with a note.
    static var enabled: Bool { path != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    /// Loads `url` in headless Chromium until the page settles, with a normal desktop UA
    /// (Veil drops HeadlessChrome as a bot, as it should).
    static func load(_ url: String, profile: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(path, "chromium is not installed: apt-get install chromium"))
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                             "--user-agent=\(TestData.userAgent)", "--virtual-time-budget=5000", "--dump-dom", url]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(90)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
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
        <script>window.addEventListener('load',function(){veil.track('Signup',{plan:'team'});history.pushState({},'','/spa-next');});</script>
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
                try Chromium.load("http://127.0.0.1:\(pagePort)/gpc", profile: profile.path + "/gpc")
                try Chromium.load("http://127.0.0.1:\(pagePort)/page", profile: profile.path + "/page")
            }
        }
        let db = try VeilDatabase(folder: dir.path)
        let events = try await db.events(site: "localhost")
        let summary = events.map { "\($0.name) \($0.path) \($0.props ?? "")" }
        #expect(Set(summary) == [
            "pageview /page ",
            "queued_before_load /page {\"plan\":\"pro\"}",
            "Signup /page {\"plan\":\"team\"}",
            "pageview /spa-next ",
        ], "\(summary)")
        // Nothing from the page whose browser signalled Global Privacy Control.
        #expect(!events.contains { $0.path == "/gpc" })
        #expect(Set(events.map(\.sessionID)).count == 1)
        #expect(events.allSatisfy { $0.browser == "Chrome" && $0.os == "Linux" && $0.clientID?.count == 32 })
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif
