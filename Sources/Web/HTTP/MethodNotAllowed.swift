import Hummingbird

extension RouteCollection where Context == VeilRequestContext {
    /// Answers the methods `path` does not serve with 405 and an `Allow` header, rather
    /// than the router's 404 (which would claim the path does not exist).
    func onlyAllow(_ path: RouterPath, _ allowed: [HTTPRequest.Method]) {
        let allow = (allowed + (allowed.contains(.get) ? [.head] : [])).map(\.rawValue).joined(separator: ", ")
        for method in [HTTPRequest.Method.get, .post, .put, .delete, .patch] where !allowed.contains(method) {
            on(path, method: method) { _, _ -> Response in
                throw APIError(.methodNotAllowed, "method_not_allowed", "use \(allow)", headers: [.allow: allow])
            }
        }
    }
}
