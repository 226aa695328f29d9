import Foundation
import GRDB
import Privacy

/// `veil migrate --to clickhouse`: copies a SQLite data folder's events (then its survey
/// rows) into ClickHouse.
///
/// Rows go in event-id order as node `migrate-<id>` with the SQLite event id as their
/// sequence, so a second run resumes after the last id ClickHouse holds (checking the
/// batch in flight when it stopped, as the shipper does) and never stores a row twice.
/// Each event carries its visit's attributes from the `sessions` table; ClickHouse
/// recomputes visits from the events, as for events shipped by nodes.
public struct ClickHouseMigration: Sendable {
    public struct Progress: Sendable {
        public var copied: Int
        public var total: Int
    }

    /// A count that differs between the two stores after the copy.
    public struct Mismatch: Sendable, CustomStringConvertible {
        public var site: String
        public var day: String
        public var sqlite: Int
        public var clickhouse: Int
        public var description: String { "\(site) \(day): SQLite \(sqlite), ClickHouse \(clickhouse)" }
    }

    let database: VeilDatabase
    let client: ClickHouseClient
    /// The node name migrated rows carry (one per source folder).
    public let node: String
    let batch: Int

    public init(database: VeilDatabase, client: ClickHouseClient, node: String, batch: Int = 10_000) {
        self.database = database
        self.client = client
        self.node = node
        self.batch = batch
    }

    /// Copies what is not yet copied; `progress` after every batch.
    public func run(progress: (Progress) -> Void) async throws(StorageError) -> Progress {
        _ = try await ClickHouseSchema(settings: client.settings).migrate(client)
        let n = ClickHouseSQL.string(node)
        var after = Int64(try await client.rows("SELECT max(seq) FROM events WHERE node = \(n)").first?.first ?? "0") ?? 0
        let total = try await database.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0 }
        var copied = try await database.read { [after] db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE id <= ?", arguments: [after]) ?? 0 }
        var verify = true
        while true {
            let rows = try await database.read { [batch, after] db in try Self.rows(db, after: after, limit: batch) }
            guard let last = rows.last else { break }
            var present = Set<Int64>()
            if verify {
                // The batch after the last id found may have landed in part before a stop.
                let found = try await client.rows("SELECT seq FROM events WHERE node = \(n) AND seq > \(after) AND seq <= \(last.id)")
                present = Set(found.compactMap { $0.first.flatMap { Int64($0) } })
                verify = false
            }
            var body: [UInt8] = []
            for row in rows where !present.contains(row.id) { ClickHouseRow.line(node: node, seq: row.id, row: row.json, into: &body) }
            if !body.isEmpty { try await client.insert(table: "events", jsonLines: body) }
            after = last.id
            copied += rows.count
            progress(Progress(copied: copied, total: total))
        }
        try await copyFeedback()
        return Progress(copied: copied, total: total)
    }

    /// Survey rows (answers and showings), after the events, resumable the same way. They
    /// are few next to events, so they report no progress of their own.
    func copyFeedback() async throws(StorageError) {
        let n = ClickHouseSQL.string(node)
        var after = Int64(try await client.rows("SELECT max(seq) FROM feedback WHERE node = \(n)").first?.first ?? "0") ?? 0
        var verify = true
        while true {
            let rows = try await database.read { [batch, after] db in try Self.feedbackRows(db, after: after, limit: batch) }
            guard let last = rows.last else { break }
            var present = Set<Int64>()
            if verify {
                let found = try await client.rows("SELECT seq FROM feedback WHERE node = \(n) AND seq > \(after) AND seq <= \(last.id)")
                present = Set(found.compactMap { $0.first.flatMap { Int64($0) } })
                verify = false
            }
            var body: [UInt8] = []
            for row in rows where !present.contains(row.id) { ClickHouseRow.line(node: node, seq: row.id, row: row.json, into: &body) }
            if !body.isEmpty { try await client.insert(table: "feedback", jsonLines: body) }
            after = last.id
        }
    }

    static func feedbackRows(_ db: Database, after: Int64, limit: Int) throws -> [Source] {
        try Row.fetchAll(db, sql: """
            SELECT id, site, visitor, received_at, kind, score, comment, path, device, country FROM feedback WHERE id > ? ORDER BY id LIMIT ?
            """, arguments: [after, limit]).map { r in
            let entry = FeedbackEntry(site: r["site"], visitorCandidates: [[UInt8]((r["visitor"] as Data?) ?? Data())], receivedAt: r["received_at"],
                                      kind: FeedbackKind(rawValue: r["kind"]) ?? .nps, score: r["score"], comment: r["comment"], path: r["path"],
                                      device: r["device"], country: r["country"])
            return Source(id: r["id"], json: ClickHouseRow.encode(entry))
        }
    }

    /// Events, and survey rows, per site and UTC day in both stores; the days whose counts
    /// differ (a survey day's site reads `site (feedback)`).
    public func check() async throws(StorageError) -> (days: Int, mismatches: [Mismatch]) {
        let events = try await check(table: "events", time: "ts", label: "")
        let feedback = try await check(table: "feedback", time: "received_at", label: " (feedback)")
        return (events.days, (events.mismatches + feedback.mismatches).sorted { ($0.site, $0.day) < ($1.site, $1.day) })
    }

    private func check(table: String, time: String, label: String) async throws(StorageError) -> (days: Int, mismatches: [Mismatch]) {
        struct SiteDay: Hashable { var site: String; var day: String }
        let local = try await database.read { db in
            try Row.fetchAll(db, sql: "SELECT site, \(time) / 86400000 AS day, count(*) AS n FROM \(table) GROUP BY site, day").map {
                (SiteDay(site: $0["site"], day: DayCalendar.dateString($0["day"])), $0["n"] as Int)
            }
        }
        let remote = try await client.rows("SELECT site, toString(toDate(toDateTime(intDiv(ts, 1000)))) AS day, count() FROM \(table) WHERE node = \(ClickHouseSQL.string(node)) GROUP BY site, day")
        var theirs: [SiteDay: Int] = [:]
        for r in remote where r.count == 3 { theirs[SiteDay(site: r[0], day: r[1])] = Int(r[2]) ?? 0 }
        var mismatches: [Mismatch] = []
        for (key, n) in local where theirs[key] != n {
            mismatches.append(Mismatch(site: key.site + label, day: key.day, sqlite: n, clickhouse: theirs[key] ?? 0))
        }
        let ours = Set(local.map(\.0))
        for (key, n) in theirs where !ours.contains(key) { mismatches.append(Mismatch(site: key.site + label, day: key.day, sqlite: 0, clickhouse: n)) }
        return (local.count, mismatches)
    }

    struct Source {
        var id: Int64
        var json: [UInt8]
    }

    static func rows(_ db: Database, after: Int64, limit: Int) throws -> [Source] {
        try Row.fetchAll(db, sql: """
            SELECT e.id, e.site, e.ts, e.name, e.host, e.path, e.query, e.referrer_host, e.referrer_path, e.props, e.visitor, e.browser, e.os, e.device,
                   e.client_id, e.user_hash, s.channel, s.utm_source, s.utm_medium, s.utm_campaign, s.utm_term, s.utm_content, s.screen, s.language, s.country
            FROM events e LEFT JOIN sessions s ON s.id = e.session_id WHERE e.id > ? ORDER BY e.id LIMIT ?
            """, arguments: [after, limit]).map { r in
            var e = CleanEvent(site: r["site"], timestamp: r["ts"], name: r["name"], host: r["host"], path: r["path"],
                               query: VeilDatabase.decodeProps(r["query"]), referrerHost: r["referrer_host"], referrerPath: r["referrer_path"],
                               props: VeilDatabase.decodeProps(r["props"]), clientID: r["client_id"],
                               visitorCandidates: [[UInt8]((r["visitor"] as Data?) ?? Data())], browser: r["browser"], os: r["os"], device: r["device"])
            e.userHash = (r["user_hash"] as Data?).map { [UInt8]($0) }
            e.visit.channel = r["channel"] ?? Acquisition.Channel.direct.rawValue
            e.visit.utmSource = r["utm_source"] ?? ""
            e.visit.utmMedium = r["utm_medium"] ?? ""
            e.visit.utmCampaign = r["utm_campaign"] ?? ""
            e.visit.utmTerm = r["utm_term"] ?? ""
            e.visit.utmContent = r["utm_content"] ?? ""
            e.visit.screen = r["screen"] ?? ""
            e.visit.language = r["language"] ?? ""
            e.visit.country = r["country"] ?? ""
            return Source(id: r["id"], json: ClickHouseRow.encode(e))
        }
    }
}
