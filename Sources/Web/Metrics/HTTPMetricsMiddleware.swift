import Hummingbird

/// Counts every request and times it, by the route that answered (outermost, so errors
/// turned into pages and JSON by the inner middleware are counted with their status).
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = VeilRequestContext
    let metrics: VeilMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            metrics.recordRequest(route: context.endpointPath, method: request.method.rawValue, status: response.status.code, duration: ContinuousClock.now - start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.recordRequest(route: context.endpointPath, method: request.method.rawValue, status: status, duration: ContinuousClock.now - start)
            throw error
        }
    }
}
