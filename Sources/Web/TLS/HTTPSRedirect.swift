import Hummingbird

/// The plain-HTTP listener next to TLS (`tls.redirect_listen`): every request is sent to
/// the same path over HTTPS, and nothing else is served on it. 301 for GET and HEAD, 308
/// (which keeps the method and body) for the rest.
func makeRedirectRouter(publicURL: String, httpsPort: Int) -> Router<VeilRequestContext> {
    let router = Router(context: VeilRequestContext.self)
    let base = publicURL.lowercased().hasPrefix("https://") ? String(publicURL.dropLast(publicURL.hasSuffix("/") ? 1 : 0)) : nil
    let redirect: @Sendable (Request, VeilRequestContext) async throws -> Response = { request, _ in
        let target: String
        if let base {
            target = base + request.uri.description
        } else {
            guard let host = request.head.authority.flatMap(redirectHost) else {
                return APIError(.badRequest, "bad_host", "this address only redirects to HTTPS; send a Host header naming the server").response
            }
            target = "https://" + host + (httpsPort == 443 ? "" : ":\(httpsPort)") + request.uri.description
        }
        let status: HTTPResponse.Status = request.method == .get || request.method == .head ? .movedPermanently : .permanentRedirect
        return Response(status: status, headers: [.location: target, .contentLength: "0"])
    }
    for path in ["/", "**"] {
        for method: HTTPRequest.Method in [.get, .head, .post, .put, .delete, .patch, .options] {
            router.on(RouterPath(path), method: method, use: redirect)
        }
    }
    return router
}

/// The host part of a Host header, if it is a plain name or address (no port, nothing a
/// Location header could be bent with).
func redirectHost(_ authority: String) -> String? {
    var host = Substring(authority)
    if host.hasPrefix("[") {
        guard let close = host.firstIndex(of: "]") else { return nil }
        host = host[...close]
        return host.dropFirst().dropLast().allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) ? String(host) : nil
    }
    if let colon = host.firstIndex(of: ":") { host = host[..<colon] }
    guard !host.isEmpty, host.count <= 253, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-") }) else { return nil }
    return String(host)
}
