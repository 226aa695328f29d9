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

/// Posts every shared fixture through `/api/replay` in ~5 s chunks, one visitor (user
/// agent) per recorded session. Returns the recording ID of each session by its first URL.
func ingestFixtures(_ client: some TestClientProtocol, files: [SharedFixtures.File]) async throws -> [String: [SharedFixtures.File]] {
    let sessions = Dictionary(grouping: files, by: \.session)
    for (index, (_, pages)) in sessions.sorted(by: { $0.key < $1.key }).enumerated() {
        for file in pages.sorted(by: { $0.pageIndex < $1.pageIndex }) {
            for (seq, chunk) in SharedFixtures.chunks(file.events).enumerated() {
                let r = try await client.execute(uri: "/api/replay", method: .post,
                                                 headers: [.contentType: "application/json", .userAgent: TestData.userAgent + " fixture-session-\(index)"],
                                                 body: ByteBuffer(bytes: SharedFixtures.body(site: "localhost", page: "fixture-\(index)-\(file.pageIndex)", seq: seq, events: chunk)))
                #expect(r.status == .accepted, "\(file.name) chunk \(seq): \(r.text)")
            }
        }
    }
    return sessions
}

func replayConfig(dataDir: String, erase: [String] = [], block: [String] = []) -> VeilConfig {
    var config = TestData.config(dataDir: dataDir)
    config.sites[0].replay = ReplayRules(enabled: true, eraseSelectors: erase, blockSelectors: block)
    return config
}

func sessionCookie(_ client: some TestClientProtocol, port: Int) async throws -> [[String: Any]] {
    var jar = Jar()
    _ = try await DashboardTests().signIn(client, jar: &jar)
    let value = try #require(jar.cookies["veil_session"])
    return [["name": "veil_session", "value": value, "url": "http://127.0.0.1:\(port)"]]
}

@Suite("Session replay in real headless Chromium", .serialized)
struct ReplayBrowserTests {
    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"),
          .enabled(if: SharedFixtures.available, "../shared/fixtures/rrweb is absent; the fixture replay test needs it"))
    func everyFixtureRecordingPlaysInVeilsPlayer() async throws {
        let dir = TempDir()
        let files = try SharedFixtures.files()
        try await withLiveVeil(replayConfig(dataDir: dir.path)) { client in
            let port = try #require(client.port)
            let sessions = try await ingestFixtures(client, files: files)
            let cookies = try await sessionCookie(client, port: port)
            let db = try VeilDatabase(folder: dir.path)
            let recordings = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max))
            #expect(recordings.count == sessions.count, "one recording per recorded visit")
            for (_, pages) in sessions {
                let ordered = pages.sorted { $0.pageIndex < $1.pageIndex }
                let first = try #require(ordered.first)
                let recording = try #require(recordings.first { $0.startedAt == first.firstTimestamp }, "no recording starts at \(first.name)")
                #expect(recording.pages == ordered.count)
                var steps: [[String: Any]] = [
                    ["navigate": "http://127.0.0.1:\(port)/sites/localhost/replays/\(recording.id)"],
                    ["wait": "document.getElementById('player') && document.getElementById('player').getAttribute('data-ready') == 'true'", "timeout": 30],
                ]
                for page in ordered {
                    // Pages without any heading (the SQLite home page) are checked by title.
                    let heading = SharedFixtures.firstHeading(page.events) ?? ""
                    steps.append(["eval": """
                        (function(){var s=document.getElementById('seek');s.value=\(page.lastTimestamp - recording.startedAt);s.dispatchEvent(new Event('input'));
                        var d=document.getElementById('replay-frame').contentDocument,t=(d.body?d.body.textContent:'').replace(/\\s+/g,' ');
                        return {title:d.title,heading:t.indexOf(\(CDP.js(heading)))>=0,edited1:t.indexOf('Edited 1')>=0,edited0:t.indexOf('Edited 0')>=0,
                        values:[].map.call(d.querySelectorAll('input,textarea'),function(e){return e.value}),emails:(t.match(/[\\w.+-]+@[\\w-]+\\.[\\w.]+/g)||[]).length,
                        scripts:d.querySelectorAll('script').length}})()
                        """, "as": page.name])
                }
                let outcome = try await CDP.run(steps, cookies: cookies)
                #expect(outcome.error == nil, "\(outcome.error ?? "")")
                #expect(outcome.exceptions.isEmpty, "JS errors in the player: \(outcome.exceptions)")
                for page in ordered {
                    let state = try #require(outcome.results[page.name] as? [String: Any], "no state for \(page.name)")
                    #expect(state["title"] as? String == page.title, "\(page.name): title \(state["title"] ?? "")")
                    #expect(state["heading"] as? Bool == true, "\(page.name): first heading missing at the end of the page")
                    #expect(state["scripts"] as? Int == 0, "\(page.name): a <script> was rebuilt")
                    #expect(state["emails"] as? Int == 0, "\(page.name): an e-mail address is readable in the replay")
                    if page.burst {
                        #expect(state["edited1"] as? Bool == true && state["edited0"] as? Bool == false, "\(page.name): mutation burst not replayed")
                    }
                    let values = state["values"] as? [String] ?? []
                    for typed in page.typed { #expect(!values.contains(typed), "\(page.name): the typed value \(typed) is shown") }
                }
            }
        }
    }
}

extension ReplayBrowserTests {
    static let canaries = ["canary.typist@example.org", "4111 1111 1111 1111", "4111111111111111", "555 010 9999", "Zebulon", "Quixote",
                           "Xanthippe", "Moorcroft", "Quillon", "Prefilled-Pass-99", "later.canary@example.net", "hidden-token-778"]

    static func canaryPage(veilPort: Int) -> String {
        """
        <!doctype html><html><head><title>Replay canary page</title>
        <style>.box{width:220px;height:40px} body{font-family:sans-serif}</style>
        <script defer src="http://127.0.0.1:\(veilPort)/v.js" data-site="localhost" data-replay="1"></script></head>
        <body><h1>Checkout</h1>
        <p id="phone">Call us at +1 555 010 9999 any time.</p>
        <p class="customer-name">Zebulon Quixote</p>
        <div id="erased" data-veil-erase><span>Xanthippe Moorcroft</span> <img id="portrait" src="/pixel.png" alt="Xanthippe portrait" width="40" height="30"></div>
        <div id="blocked" class="box" data-veil-block><p>Blocked secret Quillon</p></div>
        <form onsubmit="return false"><input id="email" type="email" placeholder="Your e-mail"> <input id="card" autocomplete="cc-number">
        <input id="pw" type="password" value="Prefilled-Pass-99"><input type="hidden" name="t" value="hidden-token-778"></form>
        <p id="later"></p>
        <script>setTimeout(function(){document.getElementById('later').textContent='Mutation text with later.canary@example.net'},300)</script>
        </body></html>
        """
    }

    /// Loads the canary page in Chromium, types into its fields and leaves; returns when
    /// the recording's chunks are stored.
    static func recordCanaryVisit(veilPort: Int, db: VeilDatabase) async throws -> RecordingSummary {
        let router = Router()
        router.get("page") { _, _ in Response.html(Self.canaryPage(veilPort: veilPort)) }
        router.get("pixel.png") { _, _ in Response(status: .notFound) }
        try await withPageServer(router) { pagePort in
            let outcome = try await CDP.run([
                ["navigate": "http://127.0.0.1:\(pagePort)/page"],
                ["wait": "window.__veilRec === 1 && document.readyState == 'complete'", "timeout": 20],
                ["sleep": 1.0],
                ["click": "#email"], ["type": "canary.typist@example.org"],
                ["click": "#card"], ["type": "4111 1111 1111 1111"],
                ["sleep": 0.8],
                ["navigate": "about:blank"],
                ["sleep": 1.0],
            ])
            #expect(outcome.error == nil, "\(outcome.error ?? "")")
            #expect(outcome.exceptions.isEmpty, "JS errors on the recorded page: \(outcome.exceptions)")
        }
        for _ in 0..<100 {
            if let r = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first, r.events > 0 { return r }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SharedFixtures.FixtureError.notAnArray("no recording arrived")
    }

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func recorderMasksAtTheSourceAndThePlayerShowsPlaceholders() async throws {
        let dir = TempDir()
        try await withLiveVeil(replayConfig(dataDir: dir.path, erase: [".customer-name"])) { client in
            let port = try #require(client.port)
            let db = try VeilDatabase(folder: dir.path)
            let recording = try await Self.recordCanaryVisit(veilPort: port, db: db)
            let lines = try await db.recordingEventLines(id: recording.id)
            let stream = lines.joined(separator: "\n")
            // The format: Meta, FullSnapshot, Mutation, clicks and Input events in rrweb's encoding.
            let events = try lines.map { try JSONParser.parse(Array($0.utf8), maxDepth: 400) }
            let types = Set(events.compactMap { $0["type"]?.intValue })
            let sources = Set(events.compactMap { $0["type"]?.intValue == 3 ? $0["data"]?["source"]?.intValue : nil })
            #expect(types.isSuperset(of: [2, 3, 4]), "event types \(types)")
            #expect(sources.isSuperset(of: [0, 2, 5]), "incremental sources \(sources)")
            #expect(stream.contains("******"), "masked input values are recorded as masks")
            #expect(stream.contains("Checkout") && stream.contains("Mutation text with"), "ordinary text is recorded")
            // No canary in any byte of the data folder, nor in the decompressed recording.
            for canary in Self.canaries {
                #expect(!stream.contains(canary), "\(canary) is in the stored recording")
                for (name, bytes) in dir.allBytes() { #expect(!bytes.contains(bytes: Array(canary.utf8)), "\(canary) is in \(name)") }
            }
            let cookies = try await sessionCookie(client, port: port)
            let outcome = try await CDP.run([
                ["navigate": "http://127.0.0.1:\(port)/sites/localhost/replays/\(recording.id)"],
                ["wait": "document.getElementById('player').getAttribute('data-ready') == 'true'", "timeout": 30],
                ["eval": """
                    (function(){var s=document.getElementById('seek');s.value=s.max;s.dispatchEvent(new Event('input'));
                    var d=document.getElementById('replay-frame').contentDocument,q=function(x){return d.querySelector(x)};
                    return {title:d.title,name:q('.customer-name').textContent,erased:q('#erased').textContent,img:q('#portrait').getAttribute('src'),
                    imgWidth:q('#portrait').style.width,blockedChildren:q('#blocked').childNodes.length,blockedWidth:q('#blocked').style.width,
                    email:q('#email').value,card:q('#card').value,pw:q('#pw').value,phone:q('#phone').textContent,later:q('#later').textContent,
                    placeholder:q('#email').getAttribute('placeholder')}})()
                    """, "as": "state"],
            ], cookies: cookies)
            #expect(outcome.error == nil && outcome.exceptions.isEmpty, "\(outcome.error ?? "") \(outcome.exceptions)")
            let raw = try #require(outcome.results["state"] as? [String: Any], "\(outcome.results)")
            let state = raw.mapValues { "\($0)" }
            #expect(state["title"] == "Replay canary page")
            #expect(state["name"] == "******* *******", "erase selector: \(state["name"] ?? "")")
            #expect(state["erased"]?.allSatisfy { $0 == "*" || $0.isWhitespace } == true, "data-veil-erase: \(state["erased"] ?? "")")
            #expect(raw["img"] is NSNull, "the erased image keeps no source")
            #expect(state["imgWidth"]?.hasSuffix("px") == true, "the erased image keeps its size")
            #expect(state["blockedChildren"] == "0" && state["blockedWidth"] == "220px", "blocked element: \(state)")
            #expect(state["email"] == "******" && state["card"] == "******" && state["pw"] == "******", "inputs: \(state)")
            #expect(state["phone"]?.contains("555") == false && state["later"]?.contains("@") == false, "PII in text: \(state)")
            #expect(state["placeholder"] == "Your e-mail", "non-personal attributes stay")
        }
    }
}

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
                    ["sleep": 1.0],
                    ["eval": Self.hostileChecks, "as": "state"],
                ])
                try Self.assertHarmless(outcome, evilHits: hits.withLock { $0 }, "player alone")
            }
            // 2. The same recording POSTed to Veil and played in the dashboard.
            var lines: [JSONValue] = []
            for line in Self.hostileEvents(port: port, start: TestData.midnight).split(separator: "\n") { lines.append(try JSONParser.parse(Array(line.utf8), maxDepth: 100)) }
            let r = try await client.post("/api/replay", bytes: SharedFixtures.body(site: "localhost", page: "hostile-page-1", seq: 0, events: lines))
            #expect(r.status == .accepted, "\(r.text)")
            let db = try VeilDatabase(folder: dir.path)
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
                ["sleep": 1.0],
                ["eval": Self.hostileChecks, "as": "state"],
            ], cookies: cookies)
            try Self.assertHarmless(outcome, evilHits: 0, "dashboard player")
        }
    }
}

extension ReplayBrowserTests {
    /// rrweb's own scripts from the django-rrweb wheel on PyPI (fetched at test time by
    /// `scripts/fetch-rrweb.py` into the git-ignored `.build-rrweb/`), or nil when
    /// they cannot be fetched outside CI.
    static func rrwebScripts() async throws -> URL? {
        let dest = SharedFixtures.projectRoot.appendingPathComponent(".build-rrweb")
        if !FileManager.default.fileExists(atPath: dest.appendingPathComponent("rrweb-player-0-7-14.js").path) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", SharedFixtures.projectRoot.appendingPathComponent("scripts/fetch-rrweb.py").path]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            while process.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        }
        guard FileManager.default.fileExists(atPath: dest.appendingPathComponent("rrweb-player-0-7-14.js").path) else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("could not fetch django-rrweb from PyPI (scripts/fetch-rrweb.py)") }
            return nil
        }
        return dest
    }

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func veilsRecordingPlaysInRrwebPlayer() async throws {
        guard let rrweb = try await Self.rrwebScripts() else {
            print("skipped: rrweb-player could not be fetched from PyPI (scripts/fetch-rrweb.py); CI requires it")
            return
        }
        let playerJS = try Data(contentsOf: rrweb.appendingPathComponent("rrweb-player-0-7-14.js"))
        let dir = TempDir()
        try await withLiveVeil(replayConfig(dataDir: dir.path, erase: [".customer-name"])) { client in
            let port = try #require(client.port)
            let db = try VeilDatabase(folder: dir.path)
            let recording = try await Self.recordCanaryVisit(veilPort: port, db: db)
            // The events exactly as the recordings API hands them out.
            let r = try await client.execute(uri: "/api/recordings/\(recording.id)/events", method: .get, headers: [.authorization: "Bearer \(TestData.apiToken)"])
            #expect(r.status == .ok && r.headers[.contentType]?.hasPrefix("application/x-ndjson") == true)
            let array = "[" + r.text.split(separator: "\n").joined(separator: ",") + "]"
            let html = """
                <!doctype html><html><head><title>rrweb-player harness</title><script src="/rrweb-player.js"></script></head><body>
                <script type="application/json" id="events">\(array)</script>
                <script>
                window.player = new rrwebPlayer({target: document.body, props: {events: JSON.parse(document.getElementById('events').textContent), autoPlay: false}});
                window.player.goto(window.player.getMetaData().totalTime);
                </script></body></html>
                """
            let router = Router()
            router.get("harness") { _, _ in Response.html(html) }
            router.get("rrweb-player.js") { _, _ in Response(status: .ok, headers: [.contentType: "text/javascript"], body: .init(byteBuffer: ByteBuffer(bytes: playerJS))) }
            try await withPageServer(router) { harnessPort in
                let outcome = try await CDP.run([
                    ["navigate": "http://127.0.0.1:\(harnessPort)/harness"],
                    ["wait": "window.player && window.player.getReplayer().iframe.contentDocument.title != ''", "timeout": 30],
                    ["sleep": 0.5],
                    ["eval": """
                        (function(){var d=window.player.getReplayer().iframe.contentDocument;
                        return {title:d.title,h1:(d.querySelector('h1')||{}).textContent,name:(d.querySelector('.customer-name')||{}).textContent,
                        total:window.player.getMetaData().totalTime}})()
                        """, "as": "state"],
                ])
                #expect(outcome.error == nil, "\(outcome.error ?? "")")
                #expect(outcome.exceptions.isEmpty, "rrweb-player threw: \(outcome.exceptions)")
                let state = try #require(outcome.results["state"] as? [String: Any], "\(outcome.results)")
                #expect(state["title"] as? String == "Replay canary page")
                #expect(state["h1"] as? String == "Checkout")
                #expect(state["name"] as? String == "******* *******")
                #expect((state["total"] as? Int ?? 0) > 0)
            }
        }
    }
}

extension ReplayBrowserTests {
    /// The first-run path: `/demo` records the visit (typed text masked, the
    /// `data-veil-erase` paragraph erased); the owner starts the picker from the
    /// dashboard, clicks the demo's button on the live page, and later recordings erase it.
    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func demoRecordsTheVisitAndThePickerErasesOnTheLivePage() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.sites = VeilConfig().sites  // the built-in localhost site, replay on
        try await withLiveVeil(config) { client in
            let port = try #require(client.port)
            let db = try VeilDatabase(folder: dir.path)
            let base = "http://127.0.0.1:\(port)"
            let visit = try await CDP.run([
                ["navigate": base + "/demo"],
                ["wait": "window.__veilRec === 1 && document.readyState == 'complete'", "timeout": 20],
                ["sleep": 1.0],
                ["click": "#demo-email"], ["type": "first.visitor@example.com"],
                ["click": "#demo-signup"], ["click": "#demo-nav"],
                ["sleep": 0.5],
                ["navigate": "about:blank"], ["sleep": 1.0],
            ])
            #expect(visit.error == nil && visit.exceptions.isEmpty, "\(visit.error ?? "") \(visit.exceptions)")
            var first: RecordingSummary?
            for _ in 0..<100 where first == nil {
                first = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first
                if first == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            let recording = try #require(first, "the demo visit was not recorded")
            #expect(recording.sessionID != nil, "the recording attaches to the visit")
            let stream = try await db.recordingEventLines(id: recording.id).joined(separator: "\n")
            #expect(!stream.contains("first.visitor"), "typed text is masked")
            #expect(!stream.contains("replays show only a placeholder"), "data-veil-erase text is erased")
            #expect(stream.contains("/demo/pricing") && stream.contains("Veil demo"), "the SPA navigation took a new snapshot")
            // The picker: a token from the dashboard, a click on the live page.
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            let list = try await client.execute(uri: "/sites/localhost/replays", method: .get, headers: jar.header)
            #expect(list.text.contains("/sites/localhost/replays/\(recording.id)"), "the list links the recording")
            var headers = jar.header
            headers[.contentType] = "application/x-www-form-urlencoded"
            let start = try await client.execute(uri: "/sites/localhost/replay/picker", method: .post, headers: headers, body: form(["csrf": hiddenCSRF(list.text), "url": "/demo"]))
            let location = try #require(start.headers[.location])
            let pick = try await CDP.run([
                ["navigate": base + location],
                ["wait": "document.body.textContent.indexOf('Veil magic erasure') >= 0 && location.hash == ''", "timeout": 20],
                ["sleep": 0.5],
                ["click": "#demo-signup"],
                ["wait": "document.body.textContent.indexOf('Erased #demo-signup') >= 0", "timeout": 10],
                ["eval": "document.getElementById('demo-status').textContent", "as": "status"],
            ])
            #expect(pick.error == nil && pick.exceptions.isEmpty, "\(pick.error ?? "") \(pick.exceptions)")
            #expect(pick.results["status"] as? String == "", "the click picked the element instead of pressing the button")
            #expect(try await db.pickedSelectors(site: "localhost") == ["#demo-signup"])
            let again = try await client.execute(uri: "/sites/localhost/replays", method: .get, headers: jar.header)
            #expect(again.text.contains("<code>#demo-signup</code>"))
        }
    }
}

extension ReplayBrowserTests {
    static func stormPage(veilPort: Int) -> String {
        """
        <!doctype html><html><head><title>Storm</title>
        <script defer src="http://127.0.0.1:\(veilPort)/v.js" data-site="localhost" data-replay="1"></script></head>
        <body><h1>Storm</h1><ul id="list"></ul><p id="ticker">0</p>
        <script>
        window.addEventListener('load', function () {
          setTimeout(function () {
            var list = document.getElementById('list'), t = document.getElementById('ticker'), i;
            // 5,000 separate insertions in one task: above the recorder's per-batch cap.
            for (i = 0; i < 5000; i++) { var li = document.createElement('li'); li.textContent = 'Row ' + i; list.appendChild(li); }
            // Then 400 changes of one node in one task: above its per-node budget.
            for (i = 1; i <= 400; i++) { t.textContent = 'tick ' + i; t.setAttribute('data-n', String(i)); }
            window.__stormDone = true;
          }, 1500);
        });
        </script></body></html>
        """
    }

    /// A mutation storm is absorbed (a fresh snapshot replaces the over-cap batch, a busy
    /// node is sampled) and the replay still ends in the page's final state.
    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func recorderAbsorbsAMutationStorm() async throws {
        let dir = TempDir()
        try await withLiveVeil(replayConfig(dataDir: dir.path)) { client in
            let port = try #require(client.port)
            let router = Router()
            router.get("storm") { _, _ in Response.html(Self.stormPage(veilPort: port)) }
            try await withPageServer(router) { pagePort in
                let outcome = try await CDP.run([
                    ["navigate": "http://127.0.0.1:\(pagePort)/storm"],
                    ["wait": "window.__stormDone === true", "timeout": 30],
                    ["sleep": 1.0],
                    ["navigate": "about:blank"], ["sleep": 1.0],
                ])
                #expect(outcome.error == nil && outcome.exceptions.isEmpty, "\(outcome.error ?? "") \(outcome.exceptions)")
            }
            let db = try VeilDatabase(folder: dir.path)
            var lines: [String] = []
            for _ in 0..<100 {
                if let r = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first {
                    lines = try await db.recordingEventLines(id: r.id)
                    if lines.contains(where: { $0.contains("tick 400") }) { break }
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            let snapshots = lines.filter { $0.hasPrefix("{\"type\":2") }.count
            #expect(snapshots >= 2, "the over-cap batch was replaced by a fresh snapshot (\(snapshots) snapshots)")
            #expect(lines.contains { $0.contains("tick 400") }, "the busy node's final value is recorded")
            #expect(!lines.contains { $0.contains("\"tick 200\"") }, "the busy node was sampled, not recorded 400 times")
            let cookies = try await sessionCookie(client, port: port)
            let rec = try #require(try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first)
            let played = try await CDP.run([
                ["navigate": "http://127.0.0.1:\(port)/sites/localhost/replays/\(rec.id)"],
                ["wait": "document.getElementById('player').getAttribute('data-ready') == 'true'", "timeout": 30],
                ["eval": """
                    (function(){var s=document.getElementById('seek');s.value=s.max;s.dispatchEvent(new Event('input'));
                    var d=document.getElementById('replay-frame').contentDocument;return [d.querySelectorAll('#list li').length, d.getElementById('ticker').textContent]})()
                    """, "as": "end"],
            ], cookies: cookies)
            #expect(played.error == nil && played.exceptions.isEmpty, "\(played.error ?? "") \(played.exceptions)")
            let end = played.results["end"] as? [Any] ?? []
            #expect(end.first as? Int == 5000 && end.last as? String == "tick 400", "final state: \(end)")
        }
    }
}
