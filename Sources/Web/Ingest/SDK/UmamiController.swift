import Hummingbird
import Privacy
import Storage

/// Umami's `POST /api/send`, so Umami's tracker script counts into Veil by pointing its
/// `data-host-url` here. `website` selects the site through `umami.website_id`.
struct UmamiController: Sendable {
    let limits: IngestLimits
    let adapter: UmamiAdapter
    let gate: IngestGate
    let runner: IngestRunner

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.post("send", use: receive)
        gate.ingestRoute(routes, "send")
        return routes
    }

    @Sendable func receive(_ request: Request, context: VeilRequestContext) async throws -> Response {
        try await gate.admitted(request, context, limit: limits.eventBodyBytes) { body in
            let root: JSONValue
            do { root = try JSONParser.parse(body) } catch {
                throw await gate.reject(IngestRejection(.invalidJSON, "the body is not valid JSON: \(error)"))
            }
            let items: [SDKItem]
            do { items = try adapter.items(root) } catch let rejection as IngestRejection { throw await gate.reject(rejection) }
            let outcomes = try await runner.run(items, request: request, context: context)
            let accepted = outcomes.filter(\.isAccepted).count
            return .json(status: .accepted, "{\"accepted\":\(accepted),\"dropped\":\(outcomes.count - accepted)}", headers: gate.cors(request, site: items.first?.site))
        }
    }
}
