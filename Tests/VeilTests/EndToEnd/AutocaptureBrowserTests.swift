import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing
@testable import Privacy
@testable import Storage
@testable import Web

@Suite("Click autocapture in a real browser", .serialized)
struct AutocaptureBrowserTests {
    static let page = """
        <!doctype html><html><head><title>start</title>
        <script defer src="http://127.0.0.1:%PORT%/v.js" data-site="localhost" data-autocapture="true"></script>
        <script>
        document.addEventListener('click', function (e) { e.preventDefault(); });
        window.addEventListener('load', function () {
          setTimeout(function () {
            document.getElementById('buy').click();
            document.querySelector('a.nav').click();
            document.getElementById('tagged').click();
            document.getElementById('field').click();
            document.title = 'clicked';
          }, 1500);
        });
        </script></head><body>
        <main><button id="buy" class="btn primary">Buy, jane@example.com</button>
        <a class="nav" href="/pricing?email=jane@example.com">Pricing</a>
        <div id="tagged" data-veil-event="Hero CTA" data-veil-text>Start free</div>
        <input id="field" value="secret-typed-value"></main>
        </body></html>
        """

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func clicksAreRecordedWithoutTextOrValues() async throws {
        let dir = TempDir()
        let profile = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.sites[0].analytics = AnalyticsRules(clickEvents: [ClickDefinition(name: "Buy button", selector: "button#buy.primary")], autocapture: true)
        try await withLiveVeil(config) { veil in
            let veilPort = try #require(veil.port)
            // The dashboard's tag for this site asks for autocapture.
            let router = Router()
            router.get("page") { _, _ in Response.html(Self.page.replacingOccurrences(of: "%PORT%", with: String(veilPort))) }
            let pages = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestData.logger())
            try await pages.test(.live) { pageClient in
                _ = try await Chromium.dump("http://127.0.0.1:\(try #require(pageClient.port))/page", profile: profile.path)
            }
        }
        let db = try VeilDatabase.open(folder: dir.path)
        let events = try await db.events(site: "localhost")
        let clicks = events.filter { $0.name != "pageview" }
        #expect(clicks.map(\.name).sorted() == ["$click", "$click", "Hero CTA"], "\(events.map(\.name))")
        let props = clicks.compactMap(\.props)
        #expect(props.contains(#"{"tag":"button","id":"buy","classes":"btn primary","path":"button#buy"}"#), "\(props)")
        #expect(props.contains(#"{"tag":"a","classes":"nav","href":"/pricing","path":"main \u003e a.nav"}"#), "\(props)")
        #expect(props.contains(#"{"tag":"div","id":"tagged","path":"div#tagged","text":"Start free"}"#), "\(props)")
        for (name, bytes) in dir.allBytes() {
            #expect(!bytes.contains(bytes: Array("jane@example.com".utf8)) && !bytes.contains(bytes: Array("secret-typed-value".utf8)), "\(name)")
        }
        let day = DayCalendar.utc.day(of: Int64(Date().timeIntervalSince1970 * 1000))
        let named = try await db.breakdown(StatsScope(site: "localhost", fromDay: day, toDay: day + 1), .event, limit: 10)
        #expect(Set(named.rows.map(\.value)) == ["Buy button", "Hero CTA", "$click"])
    }
}
