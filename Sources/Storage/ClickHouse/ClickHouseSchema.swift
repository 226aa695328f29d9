/// ClickHouse tables and their append-only migrations, recorded in `veil_migrations`.
///
/// `events` is a ReplacingMergeTree ordered by (site, ts, node, seq): a row shipped twice
/// (a retry whose first attempt did land) collapses on merge, and the shipper checks a
/// retried batch first, so queries need no FINAL. With `cluster`, each table is a
/// Replicated* table on every shard plus a Distributed table of the same name over them.
public struct ClickHouseSchema {
    let settings: ClickHouseSettings

    public init(settings: ClickHouseSettings) {
        self.settings = settings
    }

    struct Migration {
        let name: String
        let statements: [String]
    }

    /// Columns of `events` after every migration, in order.
    static let eventColumns = """
        site String, ts Int64, name String, host String, path String, query String,
        referrer_host String, referrer_path String, prop_keys Array(String), prop_values Array(String),
        visitor String, visitor_prev String, browser String, os String, device String,
        channel String, utm_source String, utm_medium String, utm_campaign String, utm_term String, utm_content String,
        screen String, language String, country String, client_id String, user_hash String,
        node String, seq UInt64
        """

    /// Columns of `feedback`.
    static let feedbackColumns = """
        site String, ts Int64, visitor String, visitor_prev String, kind String, score Int16,
        comment String, has_comment UInt8, path String, device String, country String, node String, seq UInt64
        """

    var migrations: [Migration] {
        [
            Migration(name: "2026-12-10 events", statements: table(name: "events", columns: Self.eventColumns, engine: "ReplacingMergeTree",
                                                                   partition: "toYYYYMM(toDate(toDateTime(intDiv(ts, 1000))))", order: "(site, ts, node, seq)")),
            // Daily salts every node hashes with (SharedSalts): proposals; the earliest wins.
            Migration(name: "2026-12-10 salts", statements: table(name: "salts", columns: "day Int64, salt String, proposed_at DateTime", engine: "MergeTree",
                                                                  partition: "tuple()", order: "(day, proposed_at, salt)")),
            // Survey answers and showings (score -1: shown, not answered), shipped like events.
            Migration(name: "2026-12-11 feedback", statements: table(name: "feedback", columns: Self.feedbackColumns, engine: "ReplacingMergeTree",
                                                                     partition: "toYYYYMM(toDate(toDateTime(intDiv(ts, 1000))))", order: "(site, ts, node, seq)")),
        ]
    }

    private func table(name: String, columns: String, engine: String, partition: String, order: String) -> [String] {
        let db = settings.database
        guard let cluster = settings.cluster else {
            return ["CREATE TABLE IF NOT EXISTS \(db).\(name) (\(columns)) ENGINE = \(engine)() PARTITION BY \(partition) ORDER BY \(order)"]
        }
        return [
            "CREATE TABLE IF NOT EXISTS \(db).\(name)_local ON CLUSTER \(cluster) (\(columns)) ENGINE = Replicated\(engine)('/clickhouse/tables/{shard}/\(db)/\(name)', '{replica}') PARTITION BY \(partition) ORDER BY \(order)",
            "CREATE TABLE IF NOT EXISTS \(db).\(name) ON CLUSTER \(cluster) AS \(db).\(name)_local ENGINE = Distributed(\(cluster), \(db), \(name)_local, rand())",
        ]
    }

    /// Creates the database and applies the migrations not yet recorded. Safe to run from
    /// several nodes at once: every statement is IF NOT EXISTS and recording twice is harmless.
    public func migrate(_ client: ClickHouseClient) async throws(StorageError) -> [String] {
        let db = settings.database
        if let cluster = settings.cluster {
            guard ClickHouseSQL.isIdentifier(cluster) else { throw .cannotOpen(path: settings.url, reason: "clickhouse.cluster must be letters, digits and _") }
        }
        let onCluster = settings.cluster.map { " ON CLUSTER \($0)" } ?? ""
        try await client.execute("CREATE DATABASE IF NOT EXISTS \(db)\(onCluster)", database: false)
        if settings.cluster == nil {
            try await client.execute("CREATE TABLE IF NOT EXISTS \(db).veil_migrations (name String, applied_at DateTime) ENGINE = TinyLog", database: false)
        } else {
            // Replicated, so a node on any server sees what another node applied.
            for statement in table(name: "veil_migrations", columns: "name String, applied_at DateTime", engine: "MergeTree", partition: "tuple()", order: "name") {
                try await client.execute(statement, database: false)
            }
        }
        let done = Set(try await client.rows("SELECT name FROM \(db).veil_migrations").compactMap(\.first))
        var applied: [String] = []
        for migration in migrations where !done.contains(migration.name) {
            for statement in migration.statements { try await client.execute(statement, database: false) }
            // On a cluster the record goes straight to this shard's replicated table (an insert
            // through the distributed table would be forwarded later); reads see every shard.
            let record = settings.cluster == nil ? "veil_migrations" : "veil_migrations_local"
            try await client.execute("INSERT INTO \(db).\(record) VALUES (\(ClickHouseSQL.string(migration.name)), now())", database: false)
            applied.append(migration.name)
        }
        return applied
    }
}
