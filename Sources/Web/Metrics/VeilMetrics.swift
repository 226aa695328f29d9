import Prometheus

/// Veil's Prometheus series, written by swift-prometheus (HELP and TYPE on every family,
/// label escaping, histogram buckets). Two registries: `live` holds what is counted as
/// it happens (HTTP requests and their latency, commits, build info) and lives as long as
/// the process; a scrape adds a fresh registry for values others already hold (ingest
/// counters, queue depth, database and process figures), so nothing is counted twice.
///
/// Every label is bounded: routes are the router's own patterns, methods a fixed set,
/// statuses classes, sites only configured ones.
final class VeilMetrics: Sendable {
    let live = PrometheusCollectorRegistry()

    static let latencyBuckets: [Duration] = [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                             .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10)]
    private static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    init(version: String) {
        live.makeGauge(descriptor: Self.name("veil_build_info", "Veil's version; the value is always 1."), labels: [("version", version)]).set(to: 1.0)
    }

    /// One answered request. `route` is the matched route pattern (Hummingbird names a
    /// request no route matched `NotFound`; nil only before routing).
    func recordRequest(route: String?, method: String, status: Int, duration: Duration) {
        let route = route ?? "unmatched"
        let method = Self.methods.contains(method) ? method : "other"
        live.makeCounter(descriptor: Self.name("veil_http_requests_total", "HTTP requests answered, by route pattern, method and status class."),
                         labels: [("route", route), ("method", method), ("status", "\(status / 100)xx")]).increment()
        live.makeDurationHistogram(descriptor: Self.name("veil_http_request_duration_seconds", "Time from a request's head to its answer, by route pattern."),
                                   labels: [("route", route)], buckets: Self.latencyBuckets).record(duration)
    }

    /// One writer commit of `events` events that took `duration`.
    func recordCommit(duration: Duration, events: Int) {
        live.makeDurationHistogram(descriptor: Self.name("veil_writer_commit_duration_seconds", "Time one group commit of events took, including its sync to disk."),
                                   buckets: Self.latencyBuckets).record(duration)
        live.makeCounter(descriptor: Self.name("veil_writer_committed_events_total", "Events committed by the writer.")).increment(by: Int64(events))
    }

    /// A family's full name and its HELP text.
    static func name(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}

/// A scrape's own registry: values read now from where they are kept.
struct MetricsScrape {
    let registry = PrometheusCollectorRegistry()

    func counter(_ name: String, _ help: String, _ value: Int, labels: [(String, String)] = []) {
        registry.makeCounter(descriptor: VeilMetrics.name(name, help), labels: labels).increment(by: Int64(value))
    }

    func gauge(_ name: String, _ help: String, _ value: Double, labels: [(String, String)] = []) {
        registry.makeGauge(descriptor: VeilMetrics.name(name, help), labels: labels).set(to: value)
    }
}
