/// Where the shared event store lives (`storage.backend: clickhouse`).
public struct ClickHouseSettings: Sendable, Equatable {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123`.
    public var url: String
    public var user: String
    /// Secret: `check-config` prints it as `(redacted)`.
    public var password: String
    public var database: String
    /// When set, tables are replicated (`Replicated*MergeTree` on every shard of this
    /// cluster, macros `{shard}` and `{replica}`) with a `Distributed` table over them.
    public var cluster: String?
    /// The outbox's bound: past this many unshipped events ingest answers 503.
    public var outboxMaxEvents: Int
    /// Events per shipped insert.
    public var shipBatchEvents: Int
    /// This node's name in shipped rows (with the outbox sequence, an event's identity).
    public var node: String

    public init(url: String, user: String = "default", password: String = "", database: String = "veil", cluster: String? = nil,
                outboxMaxEvents: Int = 1_000_000, shipBatchEvents: Int = 5_000, node: String = "") {
        self.url = url
        self.user = user
        self.password = password
        self.database = database
        self.cluster = cluster
        self.outboxMaxEvents = outboxMaxEvents
        self.shipBatchEvents = shipBatchEvents
        self.node = node
    }
}

/// Which engine answers the dashboards.
public enum StorageBackend: String, Sendable, CaseIterable {
    case sqlite, clickhouse
}
