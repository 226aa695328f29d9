import Hummingbird
import Logging
import NIOCore
import Privacy
import ServiceLifecycle
import Storage

/// `POST /api/event`, `POST /api/batch` and their CORS preflights.
struct IngestController: Sendable {
    let limits: IngestLimits
    let parser: EventParser
    let gate: IngestGate
    let runner: IngestRunner

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("event", use: single)
        routes.post("batch", use: batch)
        for path in ["event", "batch"] { gate.ingestRoute(routes, RouterPath(path)) }
        return routes
    }

    @Sendable func single(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.eventBodyBytes) { body in
            let events: [RawEvent]
            do { events = try parser.parseEventBody(body) } catch let error as IngestRejection { throw await gate.reject(error) }
            let (accepted, dropped, reason) = try await ingest(events, request: request, context: context)
            var json = "{\"accepted\":\(accepted)"
            if dropped > 0 { json += ",\"dropped\":\(dropped)" }
            if let reason { json += ",\"reason\":\"\(reason.rawValue)\"" }
            json += "}"
            return .json(status: .accepted, json, headers: gate.cors(request, site: events.first?.site))
        }
    }

    @Sendable func batch(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.batchBodyBytes) { body in
            let events: [RawEvent]
            do { events = try parser.parseBatch(body) } catch let error as IngestRejection { throw await gate.reject(error) }
            let (accepted, dropped, _) = try await ingest(events, request: request, context: context)
            return .json(status: .accepted, "{\"accepted\":\(accepted),\"dropped\":\(dropped)}", headers: gate.cors(request, site: events.first?.site))
        }
    }

    /// Runs the pipeline over each event and hands the survivors to the writer.
    /// Returns (accepted, dropped, the drop reason when exactly one event was sent).
    private func ingest(_ events: [RawEvent], request: Request, context: VeilRequestContext) async throws -> (Int, Int, DropReason?) {
        let outcomes = try await runner.run(events.map(SDKItem.event), request: request, context: context)
        let accepted = outcomes.filter(\.isAccepted).count
        var reason: DropReason?
        if events.count == 1, case .dropped(let r) = outcomes[0] { reason = r }
        return (accepted, outcomes.count - accepted, reason)
    }
}
