import Privacy

/// The Feedback tab on ClickHouse: every node's survey answers, shipped through the outbox.
extension ClickHouseStats {
    /// Quarter hours: every time zone's day starts on one, so counting answers per quarter
    /// hour and giving each its site-calendar day in Swift splits days exactly as SQLite's
    /// per-answer pass does, with rows bounded by distinct (kind, score, page, quarter).
    static let quarterHourMillis: Int64 = 900_000

    /// The `WHERE` of a feedback query. `band` narrows to the visitors (by visitor hash) whose
    /// NPS answer in the range was in it; on SQLite it is the visits, the same for one visit
    /// per visitor and range (README "Scaling out").
    static func feedbackWhere(site: String, from: Int64, to: Int64, filter: FeedbackFilter) -> String {
        let s = ClickHouseSQL.string(site)
        var sql = "site = \(s) AND ts >= \(from) AND ts < \(to)"
        if let path = filter.path { sql += " AND path = \(ClickHouseSQL.string(path))" }
        if let device = filter.device { sql += " AND device = \(ClickHouseSQL.string(device))" }
        if let country = filter.country { sql += " AND country = \(ClickHouseSQL.string(country))" }
        if let band = filter.band {
            sql += """
                 AND visitor IN (SELECT visitor FROM feedback WHERE site = \(s) AND kind = 'nps' AND score >= \(band.scores.lowerBound)
                 AND score <= \(band.scores.upperBound) AND ts >= \(from) AND ts < \(to))
                """
        }
        return sql
    }

    public func feedbackReport(site: String, from: Int64, to: Int64, calendar: DayCalendar, filter: FeedbackFilter,
                               commentLimit: Int) async throws(StorageError) -> FeedbackReport {
        let whereSQL = Self.feedbackWhere(site: site, from: from, to: to, filter: filter)
        var report = FeedbackReport()
        var days: [Int64: NPSDay] = [:], pages: [String: SentimentRow] = [:]
        let counts = try await client.rows("""
            SELECT kind, score, path, intDiv(ts, \(Self.quarterHourMillis)) AS quarter, count() FROM feedback
            WHERE \(whereSQL) GROUP BY kind, score, path, quarter
            """)
        for r in counts where r.count == 5 {
            guard let kind = FeedbackKind(rawValue: r[0]), let score = Int(r[1]), let quarter = Int64(r[3]), let n = Int(r[4]) else { continue }
            guard score >= 0 else {
                if kind == .nps { report.npsShown += n } else { report.sentimentShown += n }
                continue
            }
            switch kind {
            case .nps:
                let day = calendar.day(of: quarter * Self.quarterHourMillis)
                var d = days[day] ?? NPSDay(day: day)
                switch NPSBand(score: score) {
                case .promoter: d.promoters += n
                case .passive: d.passives += n
                case .detractor: d.detractors += n
                }
                days[day] = d
            case .sentiment:
                guard (1...5).contains(score) else { continue }
                report.sentiment.counts[score - 1] += n
                pages[r[2], default: SentimentRow(path: r[2])].counts[score - 1] += n
            }
        }
        report.days = days.values.sorted { $0.day < $1.day }
        report.sentimentPages = pages.values.sorted { ($0.answers, $1.path) > ($1.answers, $0.path) }
        let comments = try await client.rows("""
            SELECT ts, kind, score, comment, path, device, country FROM feedback
            WHERE \(whereSQL) AND has_comment = 1 AND score >= 0 ORDER BY ts DESC, seq DESC LIMIT \(max(0, commentLimit))
            """)
        // Recordings are not on ClickHouse yet, so a comment has no replay link here.
        report.comments = comments.compactMap { r in
            guard r.count == 7, let at = Int64(r[0]), let kind = FeedbackKind(rawValue: r[1]), let score = Int(r[2]) else { return nil }
            return FeedbackComment(at: at, kind: kind, score: score, comment: r[3], path: r[4], device: r[5], country: r[6], sessionID: nil, recordingID: nil)
        }
        return report
    }
}
