import Foundation
import GRDB
import Privacy

// Heatmaps are kept per recording (cells by element and position, depth per page view)
// as chunks arrive, so a heatmap of many recordings is one grouped read, and deleting,
// erasing or expiring a recording removes exactly its rows.

extension VeilDatabase {
    /// Adds one stored chunk's clicks and scroll depths to its recording's heatmap rows,
    /// and decides the page's earlier undecided clicks with this chunk's events.
    static func addHeatmap(_ db: Database, recording: Int64, site: String, page: String, facts: HeatmapFacts, fallbackWidth: Int) throws {
        let state = try Row.fetchOne(db, sql: "SELECT path, width FROM heatmap_pages WHERE recording_id = ? AND page = ?", arguments: [recording, page])
        let startPath: String = state?["path"] ?? "", startWidth: Int = state?["width"] ?? fallbackWidth
        // Clicks the previous chunk could not decide.
        for row in try Row.fetchAll(db, sql: "SELECT ts, path, device, element, cx, cy FROM heatmap_pending WHERE recording_id = ? AND page = ?", arguments: [recording, page]) {
            let ts: Int64 = row["ts"]
            switch HeatmapFacts.decide(click: ts, activity: facts.activity, lastTimestamp: facts.lastTimestamp) {
            case .pending: continue
            case .dead:
                try db.execute(sql: "UPDATE heatmap_cells SET dead = dead + 1 WHERE recording_id = ? AND path = ? AND device = ? AND element = ? AND cx = ? AND cy = ?",
                               arguments: [recording, row["path"], row["device"], row["element"], row["cx"], row["cy"]])
            case .live: break
            }
            try db.execute(sql: "DELETE FROM heatmap_pending WHERE recording_id = ? AND page = ? AND ts = ? AND element = ? AND cx = ? AND cy = ?",
                           arguments: [recording, page, ts, row["element"], row["cx"], row["cy"]])
        }
        let cell = try db.cachedStatement(sql: """
            INSERT INTO heatmap_cells(recording_id, site, path, device, element, cx, cy, clicks, dead, rage, last_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
            ON CONFLICT(recording_id, path, device, element, cx, cy) DO UPDATE SET
                clicks = clicks + 1, dead = dead + excluded.dead, rage = rage + excluded.rage, last_at = max(last_at, excluded.last_at)
            """)
        for click in facts.clicks {
            let path = click.href.isEmpty ? startPath : click.href
            guard !path.isEmpty else { continue }
            let device = HeatmapFacts.device(width: click.width > 0 ? click.width : startWidth)
            try cell.execute(arguments: [recording, site, path, device, click.element, click.cellX, click.cellY, click.state == .dead ? 1 : 0, click.rage ? 1 : 0, click.timestamp])
            if click.state == .pending {
                try db.execute(sql: "INSERT OR IGNORE INTO heatmap_pending(recording_id, page, ts, path, device, element, cx, cy) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                               arguments: [recording, page, click.timestamp, path, device, click.element, click.cellX, click.cellY])
            }
        }
        for (href, depth) in facts.depths {
            let path = href.isEmpty ? startPath : href
            guard !path.isEmpty else { continue }
            let width = facts.widths[href].flatMap { $0 > 0 ? $0 : nil } ?? startWidth
            try db.execute(sql: """
                INSERT INTO heatmap_depths(recording_id, page, path, site, device, depth, last_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(recording_id, page, path) DO UPDATE SET depth = max(depth, excluded.depth), last_at = max(last_at, excluded.last_at)
                """, arguments: [recording, page, path, site, HeatmapFacts.device(width: width), depth, facts.lastTimestamp])
        }
        let endPath = facts.endHref.isEmpty ? startPath : facts.endHref
        let endWidth = facts.endWidth > 0 ? facts.endWidth : startWidth
        try db.execute(sql: "INSERT OR REPLACE INTO heatmap_pages(recording_id, page, path, width) VALUES (?, ?, ?, ?)", arguments: [recording, page, endPath, endWidth])
    }

    static func deleteHeatmap(_ db: Database, recording: Int64) throws {
        for table in ["heatmap_cells", "heatmap_depths", "heatmap_pending", "heatmap_pages"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE recording_id = ?", arguments: [recording])
        }
    }

    /// One page's heatmap for a device class over `[from, to)`.
    public func heatmap(site: String, path: String, device: String, from: Int64, to: Int64, recordingsPerElement: Int = 5) async throws(StorageError) -> HeatmapReport {
        try await read { db in
            var report = HeatmapReport()
            let args: StatementArguments = [site, path, device, from, to]
            var elements: [String: HeatmapReport.Element] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT element, cx, cy, sum(clicks), sum(dead), sum(rage) FROM heatmap_cells
                WHERE site = ? AND path = ? AND device = ? AND last_at >= ? AND last_at < ? GROUP BY element, cx, cy
                """, arguments: args)
            while let row = try rows.next() {
                let name: String = row[0]
                var e = elements[name] ?? HeatmapReport.Element(element: name)
                let clicks: Int = row[3], dead: Int = row[4], rage: Int = row[5]
                e.cells.append(.init(x: row[1], y: row[2], clicks: clicks))
                e.clicks += clicks
                e.dead += dead
                e.rage += rage
                elements[name] = e
            }
            // A few recordings per element with dead or rage clicks, newest first: each a short
            // backwards walk of the page's index, however many recordings there are.
            let recent = try db.cachedStatement(sql: """
                SELECT DISTINCT recording_id FROM heatmap_cells INDEXED BY heatmap_cells_by_page
                WHERE site = ? AND path = ? AND device = ? AND last_at >= ? AND last_at < ? AND element = ? AND (CASE ? WHEN 1 THEN dead ELSE rage END) > 0
                ORDER BY last_at DESC LIMIT ?
                """)
            for (name, e) in elements {
                if e.dead > 0 { elements[name]?.deadRecordings = try Int64.fetchAll(recent, arguments: args + [name, 1, recordingsPerElement]) }
                if e.rage > 0 { elements[name]?.rageRecordings = try Int64.fetchAll(recent, arguments: args + [name, 0, recordingsPerElement]) }
            }
            report.elements = elements.values.sorted { ($0.clicks, $1.element) > ($1.clicks, $0.element) }
            var reached = [Int](repeating: 0, count: 10)
            let depths = try Row.fetchCursor(db, sql: "SELECT depth FROM heatmap_depths WHERE site = ? AND path = ? AND device = ? AND last_at >= ? AND last_at < ?", arguments: args)
            while let row = try depths.next() {
                let depth: Int = row[0]
                report.pageViews += 1
                for k in 0..<10 where depth >= (k + 1) * 100 { reached[k] += 1 }
            }
            report.reached = reached
            if let row = try Row.fetchOne(db, sql: """
                SELECT d.recording_id, p.started_at - r.started_at FROM heatmap_depths d
                JOIN replay_pages p ON p.recording_id = d.recording_id AND p.page = d.page JOIN recordings r ON r.id = d.recording_id
                WHERE d.site = ? AND d.path = ? AND d.device = ? AND d.last_at >= ? AND d.last_at < ? ORDER BY d.last_at DESC LIMIT 1
                """, arguments: args) {
                report.snapshot = HeatmapReport.Snapshot(recording: row[0], offsetMillis: max(0, row[1]))
            }
            return report
        }
    }

    /// The pages with heatmap data in `[from, to)`, by clicks.
    public func heatmapPages(site: String, from: Int64, to: Int64, limit: Int = 50) async throws(StorageError) -> [HeatmapPage] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT path, device, sum(clicks) AS clicks FROM heatmap_cells WHERE site = ? AND last_at >= ? AND last_at < ?
                GROUP BY path, device ORDER BY clicks DESC, path LIMIT ?
                """, arguments: [site, from, to, limit]).map { HeatmapPage(path: $0["path"], device: $0["device"], clicks: $0["clicks"]) }
        }
    }
}

public struct HeatmapPage: Sendable, Equatable {
    public var path: String
    public var device: String
    public var clicks: Int

    public init(path: String, device: String, clicks: Int) {
        self.path = path
        self.device = device
        self.clicks = clicks
    }
}

/// One page's clicks by element, dead and rage clicks, and scroll depth.
public struct HeatmapReport: Sendable, Equatable {
    public struct Cell: Sendable, Equatable {
        /// 0…19 across and down the element's box.
        public var x: Int
        public var y: Int
        public var clicks: Int

        public init(x: Int, y: Int, clicks: Int) {
            self.x = x
            self.y = y
            self.clicks = clicks
        }
    }
    public struct Element: Sendable, Equatable {
        public var element: String
        public var clicks = 0
        public var dead = 0
        public var rage = 0
        public var cells: [Cell] = []
        /// Recordings with a dead / rage click on it, newest first.
        public var deadRecordings: [Int64] = []
        public var rageRecordings: [Int64] = []
    }
    /// The recording whose page view is drawn under the heatmap, and where in it that page view starts.
    public struct Snapshot: Sendable, Equatable {
        public var recording: Int64
        public var offsetMillis: Int64
    }
    public var elements: [Element] = []
    public var pageViews = 0
    /// Page views whose viewport reached each tenth of the page (index 0: the first tenth).
    public var reached = [Int](repeating: 0, count: 10)
    public var snapshot: Snapshot?

    public init() {}

    /// `n` per page view (0 without page views): an element's clicks, or the views reaching a tenth.
    public func perPageView(_ n: Int) -> Double { pageViews > 0 ? Double(n) / Double(pageViews) : 0 }
    /// The share of page views that reached each tenth of the page.
    public var depthShares: [Double] { reached.map(perPageView) }

    public var deadClicks: Int { elements.reduce(0) { $0 + $1.dead } }
    public var rageClicks: Int { elements.reduce(0) { $0 + $1.rage } }
}
