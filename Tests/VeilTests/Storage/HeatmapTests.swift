import Foundation
import Testing
import Privacy
import Storage

struct HeatmapTestError: Error { var what: String }

@Suite("Heatmaps: cells, dead and rage clicks, depth, and exact removal")
struct HeatmapTests {
    static let site = SiteRules(domain: "example.com")

    static func events(_ json: String) throws -> [JSONValue] {
        guard case .array(let list) = try JSONParser.parse(Array(json.utf8), maxDepth: 64) else { throw HeatmapTestError(what: "events") }
        return list
    }
    static func click(_ ts: Int64, _ element: String, rx: Int = 500, ry: Int = 500, x: Int = 100, y: Int = 100) -> String {
        #"{"type":3,"timestamp":\#(ts),"data":{"source":2,"type":2,"id":5,"x":\#(x),"y":\#(y),"p":"\#(element)","rx":\#(rx),"ry":\#(ry)}}"#
    }
    static func mutation(_ ts: Int64) -> String {
        #"{"type":3,"timestamp":\#(ts),"data":{"source":0,"texts":[{"id":7,"value":"Added"}],"attributes":[],"removes":[],"adds":[]}}"#
    }
    static func move(_ ts: Int64) -> String { #"{"type":3,"timestamp":\#(ts),"data":{"source":1,"positions":[{"x":1,"y":1,"id":5,"timeOffset":0}]}}"# }
    static func scroll(_ ts: Int64, y: Int) -> String { #"{"type":3,"timestamp":\#(ts),"data":{"source":3,"id":1,"x":0,"y":\#(y),"dh":4000,"vh":800}}"# }
    static func start(_ ts: Int64, href: String) -> [String] {
        [#"{"type":4,"timestamp":\#(ts),"data":{"href":"\#(href)","width":1280,"height":800}}"#,
         #"{"type":2,"timestamp":\#(ts),"data":{"node":{"type":0,"id":1,"childNodes":[]},"initialOffset":{"left":0,"top":0}}}"#]
    }

    static func store(_ db: VeilDatabase, visitor: UInt8, page: String, seq: Int, _ lines: [String], at ts: Int64) async throws -> Int64 {
        let (chunk, _) = ReplayChunk.prepared(try events("[" + lines.joined(separator: ",") + "]"), site: site, page: page, seq: seq, picked: [],
                                              visitors: [Array(repeating: visitor, count: 16)], receivedAt: ts, rawBytes: 100)
        guard case .stored(let id, _) = try await db.appendReplayChunk(chunk, sessionTimeoutMillis: 1_800_000) else { throw HeatmapTestError(what: "chunk") }
        return id
    }

    func heat(_ db: VeilDatabase) async throws -> HeatmapReport {
        try await db.heatmap(site: "example.com", path: "/pricing", device: "desktop", from: 0, to: .max)
    }

    @Test func chunksAddCellsDecideDeadClicksAcrossChunksAndRemovalIsExact() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let t = TestData.midnight + 3_600_000
        let button = "body>main:nth-of-type(1)>button:nth-of-type(1)", plain = "body>main:nth-of-type(1)>div:nth-of-type(2)"
        // A live click (the page changes 200 ms later), a dead one (nothing for 1.5 s), a hostile
        // element path (ignored), a rage burst, and a click the chunk ends too soon to decide.
        let first = Self.start(t, href: "https://example.com/pricing?email=a@b.c") + [
            Self.scroll(t + 10, y: 0),
            Self.click(t + 100, button, rx: 260), Self.mutation(t + 300),
            Self.click(t + 2000, plain), Self.move(t + 3500),
            Self.click(t + 3600, "body><img src=x onerror=alert(1)>"),
            Self.click(t + 4000, plain, x: 300, y: 300), Self.click(t + 4200, plain, x: 302, y: 301), Self.click(t + 4400, plain, x: 301, y: 299),
            Self.click(t + 6000, plain, rx: 100, ry: 900), Self.move(t + 6200),
        ]
        let a = try await Self.store(db, visitor: 1, page: "page-one-aaaa", seq: 0, first, at: t + 6300)
        var report = try await heat(db)
        var byElement = Dictionary(uniqueKeysWithValues: report.elements.map { ($0.element, $0) })
        #expect(report.elements.count == 2, "the hostile path is not kept: \(report.elements.map(\.element))")
        #expect(byElement[button]?.clicks == 1 && byElement[button]?.dead == 0 && byElement[button]?.cells == [.init(x: 5, y: 10, clicks: 1)])
        // The 3 burst clicks are dead too (nothing followed them within 1 s); the last click waits.
        #expect(byElement[plain]?.clicks == 5 && byElement[plain]?.dead == 4 && byElement[plain]?.rage == 3, "\(byElement[plain]!)")
        // The next chunk shows nothing within 1 s of the last click: it was dead as well.
        _ = try await Self.store(db, visitor: 1, page: "page-one-aaaa", seq: 1, [Self.move(t + 7200), Self.scroll(t + 7300, y: 3200)], at: t + 7400)
        report = try await heat(db)
        byElement = Dictionary(uniqueKeysWithValues: report.elements.map { ($0.element, $0) })
        #expect(byElement[plain]?.dead == 5 && byElement[plain]?.deadRecordings == [a])
        #expect(report.pageViews == 1 && report.reached == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], "scrolled to the bottom: \(report.reached)")
        let alone = report

        // A second visitor: one live click and a view of the first half of the page.
        let second = Self.start(t + 10_000, href: "https://example.com/pricing") + [Self.scroll(t + 10_010, y: 1200), Self.click(t + 10_100, button), Self.mutation(t + 10_200)]
        let b = try await Self.store(db, visitor: 2, page: "page-two-bbbb", seq: 0, second, at: t + 10_300)
        report = try await heat(db)
        #expect(report.pageViews == 2 && report.reached == [2, 2, 2, 2, 2, 1, 1, 1, 1, 1])
        #expect(report.elements.first { $0.element == button }?.clicks == 2)
        #expect(report.snapshot?.recording == b, "the latest page view is drawn")
        // Deleting the second recording takes away exactly its contribution.
        #expect(try await db.deleteRecording(id: b))
        #expect(try await heat(db) == alone)
        // Erasing the first visitor leaves nothing.
        _ = try await db.erase(site: "example.com", subject: .visitor(Array(repeating: 1, count: 16)), rules: AnalyticsRules())
        let empty = try await heat(db)
        #expect(empty.elements.isEmpty && empty.pageViews == 0 && empty.snapshot == nil)
        #expect(try await db.heatmapPages(site: "example.com", from: 0, to: .max).isEmpty)
        // Expiry (replay retention) goes the same way.
        _ = try await Self.store(db, visitor: 3, page: "page-three-cc", seq: 0, second, at: t + 20_000)
        #expect(try await heat(db).pageViews == 1)
        #expect(try await db.purgeRecordings(site: "example.com", cutoff: t + 30_000) == 1)
        #expect(try await heat(db) == HeatmapReport())
    }

    @Test func elementPathsAndDeviceClasses() {
        #expect(HeatmapFacts.isElementPath("body>div:nth-of-type(2)>a:nth-of-type(1)"))
        #expect(!HeatmapFacts.isElementPath("body>div#secret") && !HeatmapFacts.isElementPath("html>body") && !HeatmapFacts.isElementPath("body>p[title=x]"))
        #expect(!HeatmapFacts.isElementPath("body" + String(repeating: ">div:nth-of-type(1)", count: 40)))
        #expect(HeatmapFacts.device(width: 390) == "mobile" && HeatmapFacts.device(width: 800) == "tablet" && HeatmapFacts.device(width: 1280) == "desktop")
        #expect(HeatmapFacts.decide(click: 100, activity: [50, 1100], lastTimestamp: 5000) == .live)
        #expect(HeatmapFacts.decide(click: 100, activity: [50, 1101], lastTimestamp: 5000) == .dead)
        #expect(HeatmapFacts.decide(click: 100, activity: [], lastTimestamp: 900) == .pending)
    }
}
