import Hummingbird

/// Marks every cookie `Secure` when the request arrived over HTTPS: Veil's own TLS, or a
/// trusted proxy that says `X-Forwarded-Proto: https`. (`secure_cookies: true` marks them
/// always, for a proxy that does not say.) A cookie that is Secure cannot leak over a
/// plain-HTTP request to the same host.
struct SecureCookieMiddleware: RouterMiddleware {
    typealias Context = VeilRequestContext
    /// Veil itself serves TLS on this listener.
    let tls: Bool
    let addresses: ClientAddressResolver

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        guard response.headers[.setCookie] != nil,
              tls || addresses.forwardedHTTPS(peer: context.remoteAddress, headers: request.headers) else { return response }
        let cookies = response.headers[values: .setCookie]
        response.headers[values: .setCookie] = cookies.map { cookie in
            cookie.lowercased().contains("; secure") ? cookie : cookie + "; Secure"
        }
        return response
    }
}
