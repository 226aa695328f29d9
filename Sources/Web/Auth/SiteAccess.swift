import Crypto
import Hummingbird
import Privacy
import Storage

/// Who is looking at a site's pages, and where their links point: the signed-in owner,
/// or anyone holding a public read-only link. Put on the request context by the route
/// group's middleware, so handlers never check access themselves.
struct SiteAccess: Sendable {
    var site: SiteRules
    /// `site.key`: what Storage is asked about.
    var domain: String
    /// `/sites/<domain>` for the owner, `/share/<token>` for a public link.
    var base: String
    var readOnly: Bool
    /// A signed-in admin: the privacy tools, replay deletion, the picker and links show.
    var isAdmin: Bool
    var username: String
    var csrf: String
    /// The report shares this view counts against: its site, and its link when public.
    var queryKeys: [QueryLimiter.Key]
}

extension VeilRequestContext {
    /// The access the route group's middleware established.
    func siteAccess() throws -> SiteAccess {
        guard let access else { throw APIError(.internalServerError, "internal", "site access was not established for this route") }
        return access
    }
}

/// `/sites/:domain/…`: a signed-in user and a configured site the user was given, or
/// sign in first (pages redirect to the sign-in form; form posts get 401 unless
/// `redirectPosts`). A site a viewer was not given is answered like an unknown one;
/// `adminOnly` routes answer a viewer 403.
struct OwnerAccessMiddleware: RouterMiddleware {
    typealias Context = VeilRequestContext
    let auth: DashboardAuth
    let catalog: SiteCatalog
    var redirectPosts = false
    var adminOnly = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let signed = try await auth.signedIn(request) else {
            if request.method == .get || request.method == .head || redirectPosts { return .seeOther("/login") }
            throw APIError(.unauthorized, "unauthorized", "sign in first")
        }
        let site = try catalog.dashboardSite(context.parameters.get("domain") ?? "", for: signed.user)
        if adminOnly { try DashboardAuth.allow(signed.user, site: nil, admin: true) }
        var context = context
        context.access = SiteAccess(site: site, domain: site.key, base: "/sites/" + StatsRequest.encode(site.domain), readOnly: false, isAdmin: signed.user.isAdmin,
                                    username: signed.user.username, csrf: signed.csrf, queryKeys: [.site(site.key)])
        return try await next(request, context)
    }
}

/// `/share/:token/…`: a public link that exists and has not been revoked (404 otherwise).
struct ShareAccessMiddleware: RouterMiddleware {
    typealias Context = VeilRequestContext
    let database: VeilDatabase
    let catalog: SiteCatalog

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let hash = Array(SHA256.hash(data: Array(token.utf8)))
        guard token.count <= 128, let domain = try await database.shareLinkSite(tokenHash: hash), let site = catalog.site(domain) else {
            throw APIError(.notFound, "unknown_link", "This public link does not exist or was revoked.")
        }
        var context = context
        context.access = SiteAccess(site: site, domain: domain, base: "/share/" + StatsRequest.encode(token), readOnly: true, isAdmin: false, username: "", csrf: "",
                                    queryKeys: [.site(domain), .shareLink(hash.hexString)])
        return try await next(request, context)
    }
}
