import Privacy

/// Data-subject requests on ClickHouse: every event row of a person, and their erasure,
/// confirmed before it is reported done.
public struct ClickHouseSubjects: Sendable {
    let client: ClickHouseClient
    /// How long an erasure waits for ClickHouse to finish its mutation.
    let confirmTimeout: Duration

    public init(client: ClickHouseClient, confirmTimeout: Duration = .seconds(120)) {
        self.client = client
        self.confirmTimeout = confirmTimeout
    }

    /// The subject's rows as a condition: a visitor's events under either daily hash; a
    /// user's identified events and every visitor they were seen as. Sessions are not
    /// stored in ClickHouse (they are computed), so a session number names nothing here.
    /// Survey rows (`feedback`) carry the same visitor columns, without a user hash.
    private func condition(site: String, subject: Subject, table: String = "events") -> String? {
        let s = ClickHouseSQL.string(site)
        switch subject {
        case .session: return nil
        case .visitor(let hash):
            let h = ClickHouseSQL.string(hash.hexString)
            return "site = \(s) AND (visitor = \(h) OR visitor_prev = \(h))"
        case .user(let hash):
            let h = ClickHouseSQL.string(hash.hexString)
            let seenAs = "visitor IN (SELECT visitor FROM events WHERE site = \(s) AND user_hash = \(h))"
            return table == "events" ? "site = \(s) AND (user_hash = \(h) OR \(seenAs))" : "site = \(s) AND \(seenAs)"
        }
    }

    /// Every event row held about the subject, one JSON object each, oldest first.
    public func events(site: String, subject: Subject) async throws(StorageError) -> [String] {
        try await rows(table: "events", site: site, subject: subject)
    }

    /// Every survey row (answers and showings) held about the subject, oldest first.
    public func feedback(site: String, subject: Subject) async throws(StorageError) -> [String] {
        try await rows(table: "feedback", site: site, subject: subject)
    }

    private func rows(table: String, site: String, subject: Subject) async throws(StorageError) -> [String] {
        guard let condition = condition(site: site, subject: subject, table: table) else { return [] }
        let text = try await client.text("SELECT * FROM \(table) WHERE \(condition) ORDER BY ts, node, seq FORMAT JSONEachRow")
        return text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Deletes the subject's events and survey rows, and returns how many of each there
    /// were (`clickhouse_events`, `clickhouse_feedback`), once ClickHouse no longer returns
    /// any of them.
    public func erase(site: String, subject: Subject) async throws(StorageError) -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in ["events", "feedback"] {
            counts["clickhouse_" + table] = try await erase(table: table, site: site, subject: subject)
        }
        return counts
    }

    private func erase(table: String, site: String, subject: Subject) async throws(StorageError) -> Int {
        guard let condition = condition(site: site, subject: subject, table: table) else { return 0 }
        // Every row of the subject carries one of these visitor hashes; naming them before
        // the mutation keeps its condition fixed while it runs (a user's rows name visitors).
        let visitors = try await client.rows("SELECT DISTINCT visitor FROM \(table) WHERE \(condition)").compactMap(\.first)
        let count = Int(try await client.rows("SELECT count() FROM \(table) WHERE \(condition)").first?.first ?? "0") ?? 0
        guard count > 0 else { return 0 }
        // One mutation, however many hashes (the client lets a long statement through): a
        // queue of several mutations on 18.16 was seen to outlast the confirmation wait.
        let fixed = "site = \(ClickHouseSQL.string(site)) AND visitor IN (\(visitors.map(ClickHouseSQL.string).joined(separator: ", ")))"
        try await client.delete(from: table, where: fixed)
        let deadline = ContinuousClock.now + confirmTimeout
        while ContinuousClock.now < deadline {
            let left = Int(try await client.rows("SELECT count() FROM \(table) WHERE \(fixed)").first?.first ?? "1") ?? 1
            if left == 0 { return count }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw .database("ClickHouse has not finished erasing \(count) rows of \(table) within \(confirmTimeout); the request can be repeated")
    }

    /// Deletes a site's events and survey rows older than `cutoff` (retention); returns how
    /// many events there were. The mutations run in the background; the next pass finds
    /// nothing left to count.
    public func purgeExpired(site: String, cutoff: Int64) async throws(StorageError) -> Int {
        let condition = "site = \(ClickHouseSQL.string(site)) AND ts < \(cutoff)"
        var events = 0
        for table in ["events", "feedback"] {
            let count = Int(try await client.rows("SELECT count() FROM \(table) WHERE \(condition)").first?.first ?? "0") ?? 0
            if count > 0 { try await client.delete(from: table, where: condition) }
            if table == "events" { events = count }
        }
        return events
    }
}
