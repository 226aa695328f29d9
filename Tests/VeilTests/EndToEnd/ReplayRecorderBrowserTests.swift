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
        <script>document.getElementById('card').addEventListener('focus',function(){document.getElementById('later').textContent='Mutation text with later.canary@example.net'})</script>
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
            // The page changes once more and leaves in the same task: leaving must flush
            // that last change too. The browser stays open until it is stored.
            let outcome = try await CDP.run([
                ["navigate": "http://127.0.0.1:\(pagePort)/page"],
                ["wait": "window.__veilRec === 2", "timeout": 30],
                ["click": "#email"], ["type": "canary.typist@example.org"],
                ["click": "#card"], ["type": "4111 1111 1111 1111"],
                ["eval": "document.body.appendChild(document.createElement('p')).textContent = 'Last words before leaving'; location.href = 'about:blank'; true"],
            ], until: {
                guard let r = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first else { return false }
                let lines = try await db.recordingEventLines(id: r.id)
                return lines.contains { $0.contains("Mutation text with") } && lines.contains { $0.contains("Last words before leaving") }
            })
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
            let db = try VeilDatabase.open(folder: dir.path)
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
                    return {title:d.title,name:q('.customer-name').textContent,nameWidth:q('.customer-name').style.width,erased:q('#erased').textContent,img:q('#portrait').getAttribute('src'),
                    imgWidth:q('#portrait').style.width,blockedChildren:q('#blocked').childNodes.length,blockedWidth:q('#blocked').style.width,
                    email:q('#email').value,card:q('#card').value,pw:q('#pw').value,phone:q('#phone').textContent,later:q('#later').textContent,
                    placeholder:q('#email').getAttribute('placeholder')}})()
                    """, "as": "state"],
            ], cookies: cookies)
            #expect(outcome.error == nil && outcome.exceptions.isEmpty, "\(outcome.error ?? "") \(outcome.exceptions)")
            let raw = try #require(outcome.results["state"] as? [String: Any], "\(outcome.results)")
            let state = raw.mapValues { "\($0)" }
            #expect(state["title"] == "Replay canary page")
            // Erased text keeps its length in a fixed pattern (not the words' shapes), and the
            // element its measured box.
            #expect(state["name"] == "***** ***** ***", "erase selector: \(state["name"] ?? "")")
            #expect(state["nameWidth"]?.hasSuffix("px") == true && state["nameWidth"] != "0px", "the erased element keeps its width: \(state)")
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
            let db = try VeilDatabase.open(folder: dir.path)
            let base = "http://127.0.0.1:\(port)"
            let visit = try await CDP.run([
                ["navigate": base + "/demo"],
                ["wait": "window.__veilRec === 2", "timeout": 30],
                ["click": "#demo-email"], ["type": "first.visitor@example.com"],
                ["click": "#demo-signup"], ["click": "#demo-nav"],
                ["navigate": "about:blank"],
            ], until: {
                guard let r = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first else { return false }
                return try await db.recordingEventLines(id: r.id).contains { $0.contains("/demo/pricing") }
            })
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
                // The bar and the click handler are installed together.
                ["wait": "document.body.textContent.indexOf('Veil magic erasure') >= 0 && location.hash == ''", "timeout": 20],
                // The visit's answer rewrites the line above the button (one line becomes two),
                // which moves the button: click once it is in its final place.
                ["wait": "document.getElementById('demo-visit').textContent.indexOf('Sending') != 0", "timeout": 30],
                ["click": "#demo-signup"],
                ["wait": "document.body.textContent.indexOf('Erased #demo-signup') >= 0", "timeout": 60],
                ["eval": "document.getElementById('demo-status').textContent", "as": "status"],
            ])
            #expect(pick.error == nil && pick.exceptions.isEmpty, "\(pick.error ?? "") \(pick.exceptions)")
            if pick.error == nil { #expect(pick.results["status"] as? String == "", "the click pressed the button instead of picking it") }
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
        // The storm starts once the recorder records (so it is a storm of mutations, not part of the first snapshot).
        var wait = setInterval(function () {
          if (window.__veilRec !== 2) return;
          clearInterval(wait);
          (function () {
            var list = document.getElementById('list'), t = document.getElementById('ticker'), i;
            // 5,000 separate insertions in one task: above the recorder's per-batch cap.
            for (i = 0; i < 5000; i++) { var li = document.createElement('li'); li.textContent = 'Row ' + i; list.appendChild(li); }
            // Then 400 changes of one node in one task: above its per-node budget.
            for (i = 1; i <= 400; i++) { t.textContent = 'tick ' + i; t.setAttribute('data-n', String(i)); }
            window.__stormDone = true;
          })();
        }, 50);
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
            let db = try VeilDatabase.open(folder: dir.path)
            let router = Router()
            router.get("storm") { _, _ in Response.html(Self.stormPage(veilPort: port)) }
            try await withPageServer(router) { pagePort in
                let outcome = try await CDP.run([
                    ["navigate": "http://127.0.0.1:\(pagePort)/storm"],
                    ["wait": "window.__stormDone === true", "timeout": 30],
                    ["navigate": "about:blank"],
                ], until: {
                    guard let r = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first else { return false }
                    return try await db.recordingEventLines(id: r.id).contains { $0.contains("tick 400") }
                })
                #expect(outcome.error == nil && outcome.exceptions.isEmpty, "\(outcome.error ?? "") \(outcome.exceptions)")
            }
            let stored = try #require(try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first)
            let lines = try await db.recordingEventLines(id: stored.id)
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
