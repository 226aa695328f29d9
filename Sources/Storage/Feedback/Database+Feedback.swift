import Foundation
import GRDB
import Privacy

extension VeilDatabase {
    /// Stores one survey row, attached to the visitor's live session (found as recordings
    /// find theirs), whose device and country it takes. Returns the session, if any.
    @discardableResult
    public func insertFeedback(_ entry: FeedbackEntry, sessionTimeoutMillis: Int64) async throws(StorageError) -> Int64? {
        try await Self.wrap {
            try await pool.write { db in
                var session: SessionFacts?, visitor = entry.visitorCandidates.first ?? []
                for candidate in entry.visitorCandidates {
                    if let live = try Self.liveSession(db, site: entry.site, visitor: candidate, at: entry.receivedAt, timeout: sessionTimeoutMillis) {
                        session = live
                        visitor = candidate
                        break
                    }
                }
                let facts = try session.flatMap { s in
                    try Row.fetchOne(db, sql: "SELECT device, country FROM sessions WHERE id = ?", arguments: [s.id])
                }
                try db.execute(sql: """
                    INSERT INTO feedback(site, visitor, session_id, received_at, kind, score, comment, path, device, country)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """, arguments: [entry.site, Data(visitor), session?.id, entry.receivedAt, entry.kind.rawValue, entry.score, entry.comment, entry.path,
                                     (facts?["device"] as String?) ?? entry.device, (facts?["country"] as String?) ?? entry.country])
                return session?.id
            }
        }
    }

    /// The `WHERE` of a feedback query: site, time, and the filter (band is session-level).
    private static func feedbackWhere(site: String, from: Int64, to: Int64, filter: FeedbackFilter) -> (String, StatementArguments) {
        var sql = "f.site = ? AND f.received_at >= ? AND f.received_at < ?"
        var args: StatementArguments = [site, from, to]
        if let path = filter.path { sql += " AND f.path = ?"; args += [path] }
        if let device = filter.device { sql += " AND f.device = ?"; args += [device] }
        if let country = filter.country { sql += " AND f.country = ?"; args += [country] }
        if let band = filter.band {
            sql += """
                 AND f.session_id IN (SELECT b.session_id FROM feedback b WHERE b.site = ? AND b.kind = 'nps' AND b.score BETWEEN ? AND ?
                 AND b.received_at >= ? AND b.received_at < ? AND b.session_id IS NOT NULL)
                """
            args += [site, band.scores.lowerBound, band.scores.upperBound, from, to]
        }
        return (sql, args)
    }

    /// The Feedback tab for `[from, to)`: NPS by day on the site's calendar, sentiment
    /// overall and by page, and the latest `commentLimit` comments with their replay.
    public func feedbackReport(site: String, from: Int64, to: Int64, calendar: DayCalendar, filter: FeedbackFilter = FeedbackFilter(),
                               commentLimit: Int = 200) async throws(StorageError) -> FeedbackReport {
        let (whereSQL, args) = Self.feedbackWhere(site: site, from: from, to: to, filter: filter)
        return try await read { db in
            var report = FeedbackReport()
            var days: [Int64: NPSDay] = [:], pages: [String: SentimentRow] = [:]
            // One pass over the range's rows; answers are few next to events.
            let rows = try Row.fetchCursor(db, sql: "SELECT f.kind, f.score, f.received_at, f.path FROM feedback f WHERE \(whereSQL)", arguments: args)
            while let row = try rows.next() {
                let kind = FeedbackKind(rawValue: row[0]) ?? .nps
                let score: Int? = row[1]
                guard let score else {
                    if kind == .nps { report.npsShown += 1 } else { report.sentimentShown += 1 }
                    continue
                }
                switch kind {
                case .nps:
                    let day = calendar.day(of: row[2])
                    var d = days[day] ?? NPSDay(day: day)
                    switch NPSBand(score: score) {
                    case .promoter: d.promoters += 1
                    case .passive: d.passives += 1
                    case .detractor: d.detractors += 1
                    }
                    days[day] = d
                case .sentiment:
                    guard (1...5).contains(score) else { continue }
                    let path: String = row[3]
                    report.sentiment.counts[score - 1] += 1
                    pages[path, default: SentimentRow(path: path)].counts[score - 1] += 1
                }
            }
            report.days = days.values.sorted { $0.day < $1.day }
            report.sentimentPages = pages.values.sorted { ($0.answers, $1.path) > ($1.answers, $0.path) }
            report.comments = try Row.fetchAll(db, sql: """
                SELECT f.received_at, f.kind, f.score, f.comment, f.path, f.device, f.country, f.session_id,
                       (SELECT r.id FROM recordings r WHERE r.session_id = f.session_id ORDER BY r.id LIMIT 1) AS recording
                FROM feedback f WHERE \(whereSQL) AND f.comment IS NOT NULL AND f.score IS NOT NULL
                ORDER BY f.received_at DESC, f.id DESC LIMIT ?
                """, arguments: args + [commentLimit]).map { row in
                FeedbackComment(at: row[0], kind: FeedbackKind(rawValue: row[1]) ?? .nps, score: row[2], comment: row[3], path: row[4], device: row[5],
                                country: row[6], sessionID: row[7], recordingID: row[8])
            }
            return report
        }
    }

    /// Sessions of a site whose NPS answer in `[from, to)` was in `band` (the replay list's
    /// "visitors who answered 0–6").
    public func sessionsAnswering(site: String, band: NPSBand, from: Int64, to: Int64, limit: Int = 10_000) async throws(StorageError) -> Set<Int64> {
        try await read { db in
            Set(try Int64.fetchAll(db, sql: """
                SELECT DISTINCT session_id FROM feedback WHERE site = ? AND kind = 'nps' AND score BETWEEN ? AND ? AND received_at >= ? AND received_at < ?
                AND session_id IS NOT NULL LIMIT ?
                """, arguments: [site, band.scores.lowerBound, band.scores.upperBound, from, to, limit]))
        }
    }
}
