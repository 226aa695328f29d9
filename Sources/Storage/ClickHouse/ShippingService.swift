import Logging
import Privacy
import ServiceLifecycle
import Synchronization

/// What the outbox holds now (metrics, admission): shared by the writer, which adds,
/// and the shipper, which removes.
public final class OutboxGauge: Sendable {
    /// Unshipped events.
    public let depth = Atomic<Int>(0)
    /// Commit time (ms) of the oldest unshipped event; 0 when the outbox is empty.
    public let oldestAt = Atomic<Int64>(0)
    /// Events ClickHouse confirmed, and failed shipping attempts, since start.
    public let shipped = Atomic<Int>(0)
    public let failures = Atomic<Int>(0)
    /// Rows a retried batch found already in ClickHouse (not sent again).
    public let alreadyStored = Atomic<Int>(0)
    /// Events whose client-sent ID ClickHouse already held for the site (a retried
    /// request, on this node or another): not sent, as SQLite drops them at ingest.
    public let duplicates = Atomic<Int>(0)

    public init() {}
}

/// Moves committed outbox rows to ClickHouse, oldest first, exactly once.
///
/// A batch is deleted from the outbox only after ClickHouse answered 200 to its insert.
/// When an attempt fails (or after a restart, when the last attempt's fate is unknown),
/// the next attempt first asks ClickHouse which of the batch's (node, seq) it already has
/// and sends only the others; ReplacingMergeTree on the same key is the backstop. While
/// ClickHouse is unreachable the shipper backs off (doubling up to `maxBackoff`); ingest
/// goes on into the outbox until its bound.
public struct ShippingService: Service {
    let database: VeilDatabase
    let client: ClickHouseClient
    let gauge: OutboxGauge
    let logger: Logger
    let pollInterval: Duration
    let maxBackoff: Duration

    public init(database: VeilDatabase, client: ClickHouseClient, gauge: OutboxGauge, logger: Logger,
                pollInterval: Duration = .milliseconds(200), maxBackoff: Duration = .seconds(30)) {
        self.database = database
        self.client = client
        self.gauge = gauge
        self.logger = logger
        self.pollInterval = pollInterval
        self.maxBackoff = maxBackoff
    }

    public func run() async throws {
        var verify = true   // the fate of an attempt before this start is unknown
        var backoff = pollInterval
        var failing: String?
        var migrated = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if !migrated {
                    let applied = try await ClickHouseSchema(settings: client.settings).migrate(client)
                    if !applied.isEmpty { logger.notice("ClickHouse schema migrated", metadata: ["applied": "\(applied.joined(separator: ", "))"]) }
                    migrated = true
                }
                let shipped = try await shipOnce(verify: verify)
                verify = false
                backoff = pollInterval
                if let reason = failing {
                    logger.notice("shipping to ClickHouse resumed", metadata: ["after": "\(reason)"])
                    failing = nil
                }
                if shipped > 0 { continue }
                try? await Task.sleep(for: pollInterval)
            } catch {
                verify = true
                gauge.failures.add(1, ordering: .relaxed)
                if failing == nil {
                    logger.error("shipping to ClickHouse fails; events wait in the outbox", metadata: ["error": "\(error)"])
                }
                failing = "\(error)"
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, maxBackoff)
            }
        }
    }

    /// Ships one batch; returns how many rows left the outbox (0: it was empty).
    @discardableResult
    public func shipOnce(verify: Bool) async throws(StorageError) -> Int {
        let batch = try await database.outboxBatch(limit: client.settings.shipBatchEvents)
        guard let last = batch.last else {
            try await refreshGauge()
            return 0
        }
        let node = client.settings.node
        // Each destination table is checked and written on its own; rows keep their order
        // within it, and the batch leaves the outbox only after every table confirmed.
        for destination in OutboxRow.Destination.allCases {
            let rows = batch.filter { $0.destination == destination }
            guard let lo = rows.first?.seq, let hi = rows.last?.seq else { continue }
            var present = Set<Int64>()
            if verify {
                let stored = try await client.rows("SELECT seq FROM \(destination.rawValue) WHERE node = \(ClickHouseSQL.string(node)) AND seq >= \(lo) AND seq <= \(hi)")
                present = Set(stored.compactMap { $0.first.flatMap { Int64($0) } })
                gauge.alreadyStored.add(present.count, ordering: .relaxed)
            }
            var repeated = Set<Int64>()
            if destination == .events {
                repeated = try await duplicates(rows.filter { !present.contains($0.seq) })
                gauge.duplicates.add(repeated.count, ordering: .relaxed)
            }
            var body: [UInt8] = []
            body.reserveCapacity(rows.reduce(0) { $0 + $1.row.count + 40 })
            for row in rows where !present.contains(row.seq) && !repeated.contains(row.seq) {
                ClickHouseRow.line(node: node, seq: row.seq, row: row.row, into: &body)
            }
            if !body.isEmpty { try await client.insert(table: destination.rawValue, jsonLines: body) }
        }
        try await database.deleteShipped(upTo: last.seq)
        gauge.shipped.add(batch.count, ordering: .relaxed)
        try await refreshGauge()
        return batch.count
    }

    /// Rows (by seq) whose client-sent event ID repeats one earlier in the batch, or one
    /// ClickHouse already holds for the same site. Retries carry the ID and a time close to
    /// the first copy's, so ClickHouse is searched within a day of the batch's events
    /// (through the (site, ts) key), not through all history. Two nodes shipping copies of
    /// one event in the same instant can both miss each other's; that race is not closed.
    func duplicates(_ rows: [OutboxRow]) async throws(StorageError) -> Set<Int64> {
        var repeated = Set<Int64>()
        var firsts: [ClientEventID: Int64] = [:]
        var lo = Int64.max, hi = Int64.min
        for row in rows {
            // A stored row is the members of a JSON object, without its braces (`ClickHouseRow`).
            guard let json = try? JSONParser.parse([UInt8(ascii: "{")] + row.row + [UInt8(ascii: "}")]), let id = json["client_id"]?.stringValue, !id.isEmpty,
                  let site = json["site"]?.stringValue, case .number(let ts)? = json["ts"] else { continue }
            let key = ClientEventID(site: site, id: id)
            if firsts[key] != nil { repeated.insert(row.seq); continue }
            firsts[key] = row.seq
            lo = min(lo, Int64(ts)); hi = max(hi, Int64(ts))
        }
        guard !firsts.isEmpty else { return repeated }
        let day = DayCalendar.millisPerDay
        let sites = Set(firsts.keys.map(\.site)).map(ClickHouseSQL.string).joined(separator: ", ")
        // IDs are up to 64 characters and a batch holds thousands: the list is split so
        // that no statement nears ClickHouse's max_query_size.
        for ids in ClickHouseSQL.lists(Set(firsts.keys.map(\.id)).map(ClickHouseSQL.string)) {
            let stored = try await client.rows("""
                SELECT DISTINCT site, client_id FROM events
                WHERE site IN (\(sites)) AND ts >= \(lo - day) AND ts <= \(hi + day) AND client_id IN (\(ids))
                """)
            for r in stored where r.count == 2 {
                if let seq = firsts[ClientEventID(site: r[0], id: r[1])] { repeated.insert(seq) }
            }
        }
        return repeated
    }

    /// The outbox's depth and oldest row, from SQLite (the writer adds to `depth` between
    /// refreshes, so admission sees new rows at once).
    private func refreshGauge() async throws(StorageError) {
        let state = try await database.outboxState()
        gauge.depth.store(state.depth, ordering: .relaxed)
        gauge.oldestAt.store(state.oldestAt ?? 0, ordering: .relaxed)
    }
}

/// An event ID a client sent, within its site.
struct ClientEventID: Hashable {
    var site: String
    var id: String
}
