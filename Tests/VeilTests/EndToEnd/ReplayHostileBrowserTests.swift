import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
import Storage
import Synchronization
import VeilAssets
@testable import Web

extension Int {
    func also(_ body: (Int) -> Void) -> Int { body(self); return self }
}

extension ReplayBrowserTests {
    /// A recording as an attacker would POST it: every way markup can try to run script.
    static func hostileEvents(port: Int, start: Int64) -> String {
        func el(_ id: Int, _ tag: String, _ attrs: String, _ children: String = "", svg: Bool = false) -> String {
            "{\"type\":2,\"tagName\":\"\(tag)\",\"attributes\":{\(attrs)},\"childNodes\":[\(children)],\"id\":\(id)\(svg ? ",\"isSVG\":true" : "")}"
        }
        func text(_ id: Int, _ s: String, style: Bool = false) -> String { "{\"type\":3,\"textContent\":\(JSONWriter.string(s)),\"id\":\(id)\(style ? ",\"isStyle\":true" : "")}" }
        let evil = "http://127.0.0.1:\(port)/evil.js"
        let head = el(3, "head", "", [
            el(4, "title", "", text(5, "Hostile recording")),
            el(6, "base", "\"href\":\"http://127.0.0.1:\(port)/evil/\""),
            el(7, "meta", "\"http-equiv\":\"refresh\",\"content\":\"0;url=javascript:parent.__pwned=1\""),
            el(8, "script", "", text(9, "parent.__pwned=2;window.__pwned=2")),
            el(10, "script", "\"src\":\"\(evil)\""),
            el(11, "style", "", text(12, "body{color:rgb(1,2,3)} .x{background:url(javascript:parent.__pwned=20)}", style: true)),
            el(33, "style", "\"_cssText\":\"#styled{letter-spacing:3px}\""),
            el(34, "link", "\"rel\":\"stylesheet\",\"_cssText\":\"#styled{word-spacing:4px}\""),
            // Requests to the player's own origin (in the dashboard: Veil itself, where a GET
            // could start an export) from CSS: an import and a background.
            el(37, "style", "", text(38, "@import url(/own-probe?import); .y{background-image:url(/own-probe?css)} .z{background-image:url(http://127.0.0.1:\(port)/own-probe?abs-css)}", style: true)),
        ].joined(separator: ","))
        let body = el(13, "body", "\"onload\":\"parent.__pwned=7\"", [
            el(14, "h1", "\"id\":\"title\"", text(15, "<script>parent.__pwned=8</script> shown as text")),
            el(16, "img", "\"id\":\"img\",\"src\":\"x-missing.png\",\"onerror\":\"parent.__pwned=3\""),
            el(17, "a", "\"id\":\"jslink\",\"href\":\"javascript:parent.__pwned=4\"", text(18, "link")),
            el(19, "a", "\"id\":\"jslink2\",\"href\":\" \\u0001JaVaScRiPt:parent.__pwned=9\""),
            el(20, "iframe", "\"id\":\"inner\",\"srcdoc\":\"<script>parent.parent.__pwned=5</script>\""),
            el(21, "svg", "\"id\":\"svg\",\"onload\":\"parent.__pwned=6\"", el(22, "script", "", text(23, "parent.__pwned=10"), svg: true), svg: true),
            el(24, "object", "\"data\":\"\(evil)\""),
            el(25, "form", "\"id\":\"form\",\"action\":\"javascript:parent.__pwned=11\"", el(26, "input", "\"id\":\"field\",\"autofocus\":\"\",\"onfocus\":\"parent.__pwned=12\",\"value\":\"x\"")),
            el(27, "details", "\"open\":\"\",\"ontoggle\":\"parent.__pwned=13\"", text(28, "details")),
            el(29, "embed", "\"src\":\"\(evil)\""),
            el(30, "iframe", "\"id\":\"inner2\",\"src\":\"javascript:parent.__pwned=14\""),
            el(31, "div", "\"id\":\"styled\"", text(32, "styled")),
            el(35, "img", "\"src\":\"/own-probe?img\",\"srcset\":\"/own-probe?srcset 2x\""),
            el(36, "img", "\"src\":\"http://127.0.0.1:\(port)/own-probe?abs-img\""),
            el(41, "div", "\"class\":\"y\",\"style\":\"background:url(/own-probe?inline)\"", text(42, "y")),
            el(43, "div", "\"class\":\"z\"", text(44, "z")),
        ].joined(separator: ","))
        let doc = "{\"type\":0,\"childNodes\":[{\"type\":1,\"name\":\"html\",\"publicId\":\"\",\"systemId\":\"\",\"id\":2}," + el(40, "html", "", head + "," + body) + "],\"id\":1}"
        let lines = [
            "{\"type\":4,\"data\":{\"href\":\"http://127.0.0.1:\(port)/hostile\",\"width\":800,\"height\":600},\"timestamp\":\(start)}",
            "{\"type\":2,\"data\":{\"node\":\(doc),\"initialOffset\":{\"left\":0,\"top\":0}},\"timestamp\":\(start + 1)}",
            // 2.x adds, an attribute turned into a handler, 1.1.x and 2.x style changes, an Input for a node never seen.
            "{\"type\":3,\"data\":{\"source\":0,\"texts\":[{\"id\":32,\"value\":\"<img src=x onerror=parent.__pwned=15>\"}],\"attributes\":[{\"id\":16,\"attributes\":{\"onerror\":\"parent.__pwned=16\",\"src\":\"y-missing.png\"}},{\"id\":17,\"attributes\":{\"href\":\"javascript:parent.__pwned=17\"}},{\"id\":31,\"attributes\":{\"style\":{\"color\":\"red\",\"background\":[\"blue\",\"important\"]}}},{\"id\":14,\"attributes\":{\"style\":\"color: green\"}}],\"removes\":[],\"adds\":[{\"parentId\":13,\"nextId\":null,\"node\":"
                + el(50, "script", "", text(51, "parent.__pwned=18")) + "},{\"parentId\":13,\"nextId\":null,\"node\":" + el(52, "img", "\"id\":\"added\",\"src\":\"z-missing.png\",\"onerror\":\"parent.__pwned=19\"") + "}]},\"timestamp\":\(start + 500)}",
            "{\"type\":3,\"data\":{\"source\":5,\"id\":-1,\"text\":\"ghost\",\"isChecked\":false},\"timestamp\":\(start + 600)}",
            "{\"type\":3,\"data\":{\"source\":2,\"type\":2,\"id\":17,\"x\":10,\"y\":10},\"timestamp\":\(start + 700)}",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    static let hostileChecks = """
        (function(){var s=document.getElementById('seek');s.value=s.max;s.dispatchEvent(new Event('input'));
        var f=document.getElementById('replay-frame'),d=f.contentDocument,all=d.querySelectorAll('*'),handlers=0,jsurls=0,i,j;
        for(i=0;i<all.length;i++){for(j=0;j<all[i].attributes.length;j++){var a=all[i].attributes[j];if(/^on/i.test(a.name))handlers++;
        if(/^\\s*(javascript|vbscript):/i.test(a.value.replace(/[\\u0000-\\u0020]/g,'')))jsurls++;}}
        return {parent:String(window.__pwned),frame:String(f.contentWindow.__pwned),handlers:handlers,jsurls:jsurls,
        scripts:d.querySelectorAll('script').length,base:d.querySelectorAll('base').length,refresh:d.querySelectorAll('meta[http-equiv]').length,
        srcdoc:d.querySelectorAll('[srcdoc]').length,objects:d.querySelectorAll('object,embed').length,sandbox:f.getAttribute('sandbox'),
        title:d.title,h1:d.getElementById('title').textContent,styled:d.getElementById('styled').style.color,text:d.getElementById('styled').textContent,
        css:getComputedStyle(d.getElementById('styled')).letterSpacing+' '+getComputedStyle(d.getElementById('styled')).wordSpacing,
        bodyColor:getComputedStyle(d.body).color}})()
        """

    static func assertHarmless(_ outcome: CDP.Outcome, evilHits: Int, _ where_: String) throws {
        #expect(outcome.error == nil, "\(where_): \(outcome.error ?? "")")
        #expect(outcome.exceptions.isEmpty, "\(where_): JS errors \(outcome.exceptions)")
        let raw = try #require(outcome.results["state"] as? [String: Any], "\(where_): \(outcome.results)")
        let state = raw.mapValues { "\($0)" }
        #expect(state["parent"] == "undefined" && state["frame"] == "undefined", "\(where_): script ran: \(state)")
        #expect(evilHits == 0, "\(where_): a script was fetched \(evilHits) times")
        for key in ["handlers", "jsurls", "scripts", "base", "refresh", "srcdoc", "objects"] { #expect(state[key] == "0", "\(where_): \(key) = \(state[key] ?? "")") }
        #expect(state["sandbox"] == "allow-same-origin")
        #expect(state["title"] == "Hostile recording" && state["h1"]?.contains("<script>") == true, "\(where_): markup is shown as text: \(state)")
        #expect(state["styled"] == "red" && state["text"]?.contains("<img") == true, "\(where_): style and text mutations apply: \(state)")
        // Both encodings of stylesheets: 1.1.x style text nodes, 2.x `_cssText` on <style> and <link>.
        #expect(state["css"] == "3px 4px" && state["bodyColor"] == "rgb(1, 2, 3)", "\(where_): stylesheets: \(state)")
    }

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func hostileRecordingExecutesNothingInThePlayer() async throws {
        let dir = TempDir()
        let hits = Mutex(0)
        let ownHits = Mutex<[String]>([])
        try await withLiveVeil(replayConfig(dataDir: dir.path)) { client in
            let port = try #require(client.port)
            let cookies = try await sessionCookie(client, port: port)
            // 1. The player alone, fed the raw hostile events (no server-side cleaning),
            //    served with Veil's player policy from another origin.
            let router = Router()
            let pages = try PageRenderer()
            let player = pages.render(PlayerPage(domain: "localhost", base: "/sites/localhost", id: 1, eventsURL: "/hostile.ndjson", marksJSON: "[]", facts: [], pages: [],
                                                 deleteAction: "/x", username: "u", csrf: "c"), template: "player")
            router.get("player") { _, _ in Response.html(player, headers: [.contentSecurityPolicy: ReplayPagesController.playerCSP]) }
            router.get("assets/vp.js") { _, _ in Response(status: .ok, headers: [.contentType: "text/javascript"], body: .init(byteBuffer: ByteBuffer(bytes: EmbeddedAssets.playerJS))) }
            router.get("own-probe") { request, _ in ownHits.withLock { $0.append(request.uri.query ?? "") }; return Response(status: .ok) }
            router.get("evil.js") { _, _ in hits.withLock { $0 += 1 }; return Response(status: .ok, headers: [.contentType: "text/javascript"], body: .init(byteBuffer: ByteBuffer(string: "parent.__pwned=99"))) }
            let harnessPort = Mutex(0)
            router.get("hostile.ndjson") { _, _ in
                Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: Self.hostileEvents(port: harnessPort.withLock { $0 }, start: TestData.midnight))))
            }
            try await withPageServer(router) { servedAt in
                let harnessPort = servedAt.also { p in harnessPort.withLock { $0 = p } }
                let outcome = try await CDP.run([
                    ["navigate": "http://127.0.0.1:\(harnessPort)/player"],
                    ["wait": "document.getElementById('player').getAttribute('data-ready') == 'true'", "timeout": 30],
                    // An observation window, not a wait: nothing here may run, and absence
                    // has no event to wait for.
                    ["sleep": 1.0],
                    ["eval": Self.hostileChecks, "as": "state"],
                ])
                try Self.assertHarmless(outcome, evilHits: hits.withLock { $0 }, "player alone")
                #expect(ownHits.withLock { $0 }.isEmpty, "the recording made the player request its own origin: \(ownHits.withLock { $0 })")
            }
            // 2. The same recording POSTed to Veil and played in the dashboard.
            var lines: [JSONValue] = []
            for line in Self.hostileEvents(port: port, start: TestData.midnight).split(separator: "\n") { lines.append(try JSONParser.parse(Array(line.utf8), maxDepth: 100)) }
            let r = try await client.post("/api/replay", bytes: SharedFixtures.body(site: "localhost", page: "hostile-page-1", seq: 0, events: lines))
            #expect(r.status == .accepted, "\(r.text)")
            let db = try VeilDatabase.open(folder: dir.path)
            let recording = try #require(try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first)
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            let page = try await client.execute(uri: "/sites/localhost/replays/\(recording.id)", method: .get, headers: jar.header)
            let csp = page.headers[.contentSecurityPolicy] ?? ""
            #expect(csp.contains("script-src 'self';") && !csp.contains("unsafe-eval") && csp.contains("base-uri 'none'") && csp.contains("frame-ancestors 'none'"), "\(csp)")
            #expect(!(csp.components(separatedBy: "script-src")[1].components(separatedBy: ";")[0].contains("unsafe-inline")))
            let outcome = try await CDP.run([
                ["navigate": "http://127.0.0.1:\(port)/sites/localhost/replays/\(recording.id)"],
                ["wait": "document.getElementById('player').getAttribute('data-ready') == 'true'", "timeout": 30],
                // An observation window (see above).
                ["sleep": 1.0],
                ["eval": Self.hostileChecks, "as": "state"],
            ], cookies: cookies)
            try Self.assertHarmless(outcome, evilHits: 0, "dashboard player")
        }
    }
}
