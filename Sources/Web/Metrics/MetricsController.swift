import Hummingbird
import Privacy
import Storage

/// `GET /metrics` in the Prometheus text format. On the main listener it needs
/// `metrics.token` (or, when that is empty, `api.token` or a signed-in session); on the
/// separate `metrics.listen` address it is open, for a scraper on a private network.
struct MetricsController: Sendable {
    /// Who may read: nil on the separate listener (anyone who can reach it).
    let auth: DashboardAuth?
    let metricsToken: String
    let metrics: VeilMetrics
    let database: VeilDatabase
    let counters: IngestCounters
    let writer: EventWriter
    let outbox: OutboxGauge?
    let gate: AdmissionGate
    let connections: ConnectionStats
    let queries: QueryLimiter
    let deadlines: DeadlineStats
    let clock: TimeSource

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("metrics", use: scrape)
        routes.onlyAllow("metrics", [.get])
        return routes
    }

    @Sendable func scrape(_ request: Request, context: VeilRequestContext) async throws -> Response {
        if let auth {
            if metricsToken.isEmpty {
                // Every site's figures: a token or an admin's session, not a viewer's.
                try await auth.requireAPIAccess(request, admin: true)
            } else if !DashboardAuth.bearerMatches(request, token: metricsToken) {
                throw APIError(.unauthorized, "unauthorized", "send Authorization: Bearer <metrics.token>", headers: [.wwwAuthenticate: "Bearer"])
            }
        }
        let scrape = MetricsScrape()
        await counters.emit(into: scrape)
        scrape.gauge("veil_write_queue_events", "Events waiting for the writer's next commit.", Double(await writer.queuedEvents))
        scrape.counter("veil_commits_failed_total", "Writer commits that failed (disk full, read-only, locked).", writer.failedCommits.load(ordering: .relaxed))
        if let outbox {
            scrape.gauge("veil_outbox_events", "Events committed on this node and not yet confirmed by ClickHouse.", Double(outbox.depth.load(ordering: .relaxed)))
            let oldest = outbox.oldestAt.load(ordering: .relaxed)
            let lag = oldest == 0 ? 0 : max(0, Double(clock.nowMillis() - oldest) / 1000)
            scrape.gauge("veil_outbox_lag_seconds", "Age of the oldest event waiting in the outbox (0 when empty).", lag)
            scrape.counter("veil_outbox_shipped_events_total", "Events ClickHouse confirmed from this node's outbox.", outbox.shipped.load(ordering: .relaxed))
            scrape.counter("veil_outbox_ship_failures_total", "Shipping attempts that failed (ClickHouse unreachable or refusing).", outbox.failures.load(ordering: .relaxed))
            scrape.counter("veil_outbox_duplicates_total", "Events not shipped because ClickHouse already held their client-sent ID for the site (retries).",
                           outbox.duplicates.load(ordering: .relaxed))
        }
        let flight = gate.inFlight
        scrape.gauge("veil_ingest_in_flight_requests", "Ingest requests admitted and not yet answered.", Double(flight.requests))
        scrape.gauge("veil_ingest_in_flight_bytes", "Body bytes announced by ingest requests admitted and not yet answered.", Double(flight.bytes))
        let conns = connections.snapshot
        scrape.gauge("veil_http_connections_open", "HTTP connections open now.", Double(conns.open))
        scrape.gauge("veil_http_connections_peak", "The most HTTP connections open at once since start.", Double(conns.peak))
        scrape.counter("veil_http_connection_cap_reached_total", "Times server.max_connections was reached.", conns.capHits)
        let timeouts = deadlines.snapshot
        for phase in DeadlineStats.Phase.allCases {
            scrape.counter("veil_http_deadline_closed_total", "Connections closed because a request's head or body was not complete in time.",
                           timeouts[phase] ?? 0, labels: [("phase", phase.rawValue)])
        }
        let q = queries.stats
        scrape.gauge("veil_queries_running", "Dashboard and stats queries running now.", Double(q.running))
        scrape.gauge("veil_queries_waiting", "Dashboard and stats queries waiting for a slot.", Double(q.waiting))
        for reason in [QueryRefusal.site, .shareLink, .busy] {
            scrape.counter("veil_queries_refused_total", "Queries refused with 429/503, by the limit reached.", q.refused[reason] ?? 0, labels: [("reason", reason.rawValue)])
        }
        scrape.counter("veil_queries_cancelled_total", "Queries cancelled because their client went away.", q.cancelled)
        scrape.gauge("veil_database_bytes", "Bytes the database takes on disk (file and write-ahead log).", Double(database.fileBytes))
        let process = ProcessMetrics.read()
        for (name, help, value) in [
            ("process_resident_memory_bytes", "Resident memory size in bytes.", process.residentBytes),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes.", process.virtualBytes),
            ("process_open_fds", "Open file descriptors.", process.openFiles),
            ("process_max_fds", "The open file descriptor limit.", process.maxFiles),
            ("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", process.startTimeSeconds),
        ] {
            if let value { scrape.gauge(name, help, value) }
        }
        if let cpu = process.cpuSeconds {
            scrape.registry.makeCounter(descriptor: VeilMetrics.name("process_cpu_seconds_total", "User and system CPU time spent, in seconds."), labels: []).increment(by: cpu)
        }
        var body = metrics.live.emitToBuffer()
        scrape.registry.emit(into: &body)
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: .init(bytes: body)))
    }
}
