import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
import Storage
@testable import Web

@Suite("Heatmaps in real headless Chromium", .serialized)
struct HeatmapBrowserTests {
    static func page(veilPort: Int) -> String {
        """
        <!doctype html><html><head><title>Heatmap page</title><meta name="viewport" content="width=device-width">
        <style>body{margin:0;font-family:sans-serif} .row{display:flex;flex-wrap:wrap;gap:24px;padding:24px} #buy{width:220px;height:60px}
        #plain{width:320px;height:90px;background:#eee} #go{display:inline-block;padding:12px} .tall{height:3200px}</style>
        <script defer src="http://127.0.0.1:\(veilPort)/v.js" data-site="localhost" data-replay="1" data-autocapture="true"></script></head>
        <body><h1>Heatmap test</h1><div class="row"><div id="plain">Nothing happens here</div><button id="buy">Buy</button><a id="go" href="/next">Next page</a></div>
        <p id="out"></p><img id="trap" src="/missing.png" alt="" onerror="window.__pwned=1;try{parent.__pwned=1}catch(e){}"><div class="tall"></div>
        <script>document.getElementById('buy').onclick=function(){document.getElementById('out').textContent='Added at '+Date.now()}</script></body></html>
        """
    }

    /// One visit: a live click, a dead click, a rage burst (also dead), a scroll to `scrollTo` of the page, then a link.
    /// The same visitor (address and agent) each time: one visit, one recording, a page view per run.
    static func visit(pagePort: Int, width: Int, scrollTo: Double, db: VeilDatabase, pageViews: Int) async throws -> CDP.Outcome {
        try await CDP.run([
            ["navigate": "http://127.0.0.1:\(pagePort)/page"],
            ["wait": "window.__veilRec === 2", "timeout": 30],
            ["click": "#buy", "at": [0.25, 0.5]],
            ["sleep": 1.2],
            ["click": "#plain", "at": [0.5, 0.5]],
            ["sleep": 1.2],
            ["click": "#plain", "at": [0.8, 0.2]], ["click": "#plain", "at": [0.8, 0.2]], ["click": "#plain", "at": [0.8, 0.2]],
            ["sleep": 1.3],
            ["eval": "var e=document.scrollingElement;e.scrollTo(0,Math.round(e.scrollHeight*\(scrollTo))-innerHeight);true"],
            ["sleep": 0.4],
            ["eval": "document.scrollingElement.scrollTo(0,0);true"],
            ["sleep": 0.3],
            ["click": "#go"],
            ["wait": "location.pathname == '/next'", "timeout": 20],
        ], width: width, height: 800, until: {
            let h = try await db.heatmap(site: "localhost", path: "/page", device: "desktop", from: 0, to: .max)
            return h.elements.reduce(0) { $0 + $1.clicks } >= 6 * pageViews && h.pageViews >= pageViews
        })
    }

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func clicksLandOnTheirElementsAtTwoWidthsWithDeadRageAndScrollDepth() async throws {
        let dir = TempDir()
        var config = replayConfig(dataDir: dir.path)
        config.sites[0].analytics.autocapture = true
        try await withLiveVeil(config) { client in
            let port = try #require(client.port)
            let db = try VeilDatabase.open(folder: dir.path)
            let router = Router()
            router.get("page") { _, _ in Response.html(Self.page(veilPort: port)) }
            router.get("next") { _, _ in Response.html("<!doctype html><title>Next</title><p>Next</p>") }
            router.get("missing.png") { _, _ in Response(status: .notFound) }
            try await withPageServer(router) { pagePort in
                // Two desktop widths: the row wraps differently, the clicks must still land on their elements.
                for (i, (width, depth)) in [(1280, 0.5), (1040, 1.0)].enumerated() {
                    let outcome = try await Self.visit(pagePort: pagePort, width: width, scrollTo: depth, db: db, pageViews: i + 1)
                    #expect(outcome.error == nil, "\(outcome.error ?? "")")
                }
            }
            let api = try await client.execute(uri: "/api/stats/heatmap?site=localhost&page=/page&device=desktop&range=today", method: .get, headers: bearer)
            #expect(api.status == .ok, "\(api.text)")
            let j = api.json
            let elements = try #require(j["elements"] as? [[String: Any]], "\(api.text)")
            func element(_ suffix: String) -> [String: Any]? { elements.first { ($0["element"] as? String)?.hasSuffix(suffix) == true } }
            let buy = try #require(element(">button:nth-of-type(1)"), "\(elements)")
            let plain = try #require(element(">div:nth-of-type(1)>div:nth-of-type(1)"), "\(elements)")
            let go = try #require(element(">a:nth-of-type(1)"), "\(elements)")
            #expect(buy["clicks"] as? Int == 2 && buy["dead_clicks"] as? Int == 0, "the button changes the page: \(buy)")
            #expect(plain["clicks"] as? Int == 8 && plain["dead_clicks"] as? Int == 8 && plain["rage_clicks"] as? Int == 6, "the plain div: \(plain)")
            #expect(go["clicks"] as? Int == 2 && go["dead_clicks"] as? Int == 0, "the link navigates: \(go)")
            #expect(elements.count == 3, "no click lands elsewhere: \(elements.map { $0["element"] ?? "" })")
            // Clicked at 25 % across the button: cell 5 of 20, at both widths.
            #expect((buy["cells"] as? [[String: Any]])?.map { $0["x"] as? Int } == [5], "\(buy)")
            let recording = try #require(try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first?.id)
            #expect(plain["dead_recordings"] as? [Int] == [Int(recording)] && plain["rage_recordings"] as? [Int] == [Int(recording)], "links to the replays: \(plain)")
            #expect(j["page_views"] as? Int == 2 && j["dead_clicks"] as? Int == 8 && j["rage_clicks"] as? Int == 6, "\(api.text.prefix(400))")
            // 50 % on one visit and 100 % on the other.
            #expect(j["scroll_depth"] as? [Double] == [1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5], "\(j["scroll_depth"] ?? "")")
            // Autocapture (on for this site) counts the button's and the link's clicks by CSS path.
            let auto = Dictionary(uniqueKeysWithValues: (j["autocaptured"] as? [[String: Any]] ?? []).map { ($0["selector"] as? String ?? "", $0["clicks"] as? Int ?? 0) })
            #expect(auto == ["button#buy": 2, "a#go": 2], "\(j["autocaptured"] ?? "")")
            let snapshot = try #require(j["snapshot"] as? [String: Any])
            #expect(snapshot["events"] as? String != nil)

            // The rendered heatmap: every hotspot lies inside its element's box in the player frame.
            let cookies = try await sessionCookie(client, port: port)
            let shown = try await CDP.run([
                ["navigate": "http://127.0.0.1:\(port)/sites/localhost/heatmaps?range=today&page=/page&device=desktop"],
                ["wait": "document.getElementById('player') && document.getElementById('player').hasAttribute('data-hotspots')", "timeout": 30],
                ["eval": """
                    (function(){var d=document.getElementById('replay-frame').contentDocument,out={total:0,inside:0,elements:{}};
                    document.querySelectorAll('#heat circle.hot').forEach(function(c){var r=d.querySelector(c.getAttribute('data-element')).getBoundingClientRect(),
                    x=+c.getAttribute('cx'),y=+c.getAttribute('cy');out.total++;if(x>=r.left&&x<=r.right&&y>=r.top&&y<=r.bottom)out.inside++;out.elements[c.getAttribute('data-element')]=1});
                    out.pwned=String(window.__pwned);out.trapOnerror=d.getElementById('trap')?d.getElementById('trap').getAttribute('onerror'):'gone';
                    out.bands=document.querySelectorAll('#heat rect.depth').length;out.auto=0;out.autoInside=0;
                    document.querySelectorAll('#heat rect.auto').forEach(function(q){var r=d.querySelector(q.getAttribute('data-selector')).getBoundingClientRect(),
                    x=+q.getAttribute('x')+q.getAttribute('width')/2,y=+q.getAttribute('y')+q.getAttribute('height')/2;out.auto++;if(x>=r.left&&x<=r.right&&y>=r.top&&y<=r.bottom)out.autoInside++});
                    return out})()
                    """, "as": "heat"],
            ], cookies: cookies)
            #expect(shown.error == nil && shown.exceptions.isEmpty, "\(shown.error ?? "") \(shown.exceptions)")
            let heat = try #require(shown.results["heat"] as? [String: Any], "\(shown.results)")
            #expect((heat["total"] as? Int ?? 0) >= 3 && heat["inside"] as? Int == heat["total"] as? Int, "hotspots overlap their elements: \(heat)")
            #expect((heat["elements"] as? [String: Any])?.count == 3 && heat["bands"] as? Int == 10, "\(heat)")
            #expect(heat["auto"] as? Int == 2 && heat["autoInside"] as? Int == 2, "autocaptured clicks sit on their elements: \(heat)")
            #expect(heat["pwned"] as? String == "undefined" && heat["trapOnerror"] is NSNull, "recorded DOM executes nothing: \(heat)")
        }
    }
}
