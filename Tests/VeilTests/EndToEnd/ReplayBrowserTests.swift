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
            for (seq, chunk) in ReplayTimeline.chunks(file.events).enumerated() {
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
            let db = try VeilDatabase.open(folder: dir.path)
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
    /// rrweb's own scripts from the django-rrweb wheel on PyPI (fetched by
    /// `scripts/fetch-rrweb.py` into the git-ignored `.build-rrweb/`, once per run), or nil
    /// when they cannot be fetched. Outside CI the test is then reported as skipped; in CI
    /// it runs and fails.
    static let rrwebScripts: URL? = {
        let dest = SharedFixtures.projectRoot.appendingPathComponent(".build-rrweb")
        let player = dest.appendingPathComponent("rrweb-player-0-7-14.js").path
        if !FileManager.default.fileExists(atPath: player) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", SharedFixtures.projectRoot.appendingPathComponent("scripts/fetch-rrweb.py").path]
            process.standardOutput = FileHandle.nullDevice
            try? process.run()
            process.waitUntilExit()
        }
        return FileManager.default.fileExists(atPath: player) ? dest : nil
    }()

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"),
          .enabled(if: rrwebScripts != nil || ProcessInfo.processInfo.environment["CI"] != nil,
                   "rrweb-player could not be fetched from PyPI (scripts/fetch-rrweb.py); CI requires it"))
    func veilsRecordingPlaysInRrwebPlayer() async throws {
        let rrweb = try #require(Self.rrwebScripts, "could not fetch django-rrweb from PyPI (scripts/fetch-rrweb.py)")
        let playerJS = try Data(contentsOf: rrweb.appendingPathComponent("rrweb-player-0-7-14.js"))
        let dir = TempDir()
        try await withLiveVeil(replayConfig(dataDir: dir.path, erase: [".customer-name"])) { client in
            let port = try #require(client.port)
            let db = try VeilDatabase.open(folder: dir.path)
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
                    // Rendered: the snapshot's heading and the masked name are in the replay's document.
                    ["wait": "(function(){var d=window.player&&window.player.getReplayer().iframe.contentDocument;return !!(d&&d.title!=''&&d.querySelector('h1')&&d.querySelector('.customer-name'))})()", "timeout": 30],
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
                #expect(state["name"] as? String == "***** ***** ***")
                #expect((state["total"] as? Int ?? 0) > 0)
            }
        }
    }
}
