import Hummingbird
import Logging
import Privacy
import Storage

/// Sign-in, sign-out, the sites list and the site overview.
struct DashboardController: Sendable {
    let catalog: SiteCatalog
    let snippet: Snippet
    let database: VeilDatabase
    /// Every question a page shows the answer to.
    let stats: any StatsStore
    let auth: DashboardAuth
    let throttle: LoginThrottle
    let passwords: PasswordHasher
    let pages: PageRenderer
    let addresses: ClientAddressResolver
    let clock: TimeSource
    /// Checked for unknown usernames, so sign-in takes as long whether a user exists or not.
    let dummyHash: String

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("/", use: home)
        routes.get("login", use: loginForm)
        routes.post("login", use: login)
        routes.post("logout", use: logout)
        routes.get("sites", use: sites)
        return routes
    }

    @Sendable func home(_ request: Request, context: VeilRequestContext) async throws -> Response {
        .seeOther(try await auth.signedIn(request) == nil ? "/login" : "/sites")
    }

    @Sendable func loginForm(_ request: Request, context: VeilRequestContext) async throws -> Response {
        if try await auth.signedIn(request) != nil { return .seeOther("/sites") }
        return loginPage(error: nil, username: "")
    }

    @Sendable func login(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 * 1024)
        let form = parseForm(String(buffer: body))
        let username = form["username"] ?? ""
        guard let expected = request.cookies[DashboardAuth.loginCSRFCookie]?.value, auth.verifyCSRF(form["csrf"], expected: expected) else {
            return loginPage(error: "The form expired; please try again.", username: username, status: .forbidden)
        }
        let ip = addresses.clientIP(peer: context.remoteAddress, headers: request.headers)
        let reservation: LoginThrottle.Reservation
        switch await throttle.reserve(ip: ip, username: username) {
        case .wait(let seconds):
            return loginPage(error: "Too many failed attempts. Try again in \(seconds) seconds.", username: username, status: .tooManyRequests,
                             extra: [.retryAfter: String(seconds)])
        case .allowed(let r):
            reservation = r
        }
        let found: StoredUser?
        do { found = try await database.user(named: username) } catch {
            await throttle.finish(reservation, succeeded: false)
            throw error
        }
        let matches = await passwords.verifyOffloaded(form["password"] ?? "", against: found?.passwordHash ?? dummyHash)
        guard let user = found, matches else {
            await throttle.finish(reservation, succeeded: false)
            context.logger.notice("failed sign-in")
            return loginPage(error: "Wrong username or password.", username: username, status: .unauthorized)
        }
        await throttle.finish(reservation, succeeded: true)
        var response = Response.seeOther("/sites")
        response.setCookie(try await auth.startSession(for: user))
        response.setCookie(Cookie(name: DashboardAuth.loginCSRFCookie, value: "", maxAge: 0, path: "/login", secure: auth.secureCookies, httpOnly: true, sameSite: .strict))
        context.logger.info("signed in", metadata: ["user": "\(user.username)"])
        return response
    }

    @Sendable func logout(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await auth.signedIn(request) else { return .seeOther("/login") }
        _ = try await auth.verifiedForm(request, csrf: signed.csrf)
        var response = Response.seeOther("/login")
        response.setCookie(try await auth.endSession(request))
        return response
    }

    @Sendable func sites(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await auth.signedIn(request) else { return .seeOther("/login") }
        let week = try DateRange.resolve(range: "7d", from: nil, to: nil, now: clock.nowMillis())
        var list: [SitesPage.Site] = []
        for site in catalog.sites(for: signed.user) {
            let totals = try await stats.totals(StatsScope(site: site.key, fromDay: week.fromDay, toDay: week.toDay, rules: site.analytics))
            list.append(SitesPage.Site(domain: site.domain, domainPath: pathComponent(site.domain), hasData: totals.pageviews > 0,
                                       visitors: Format.count(totals.visitors, "visitor", "visitors"), pageviews: Format.count(totals.pageviews, "pageview", "pageviews"),
                                       snippet: snippet.tag(for: site, request: request)))
        }
        return .html(pages.render(SitesPage(sites: list, isAdmin: signed.user.isAdmin, username: signed.user.username, csrf: signed.csrf), template: "sites"))
    }

    private func loginPage(error: String?, username: String, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) -> Response {
        let (token, cookie) = auth.loginCSRF()
        var response = Response.html(status: status, pages.render(LoginPage(error: error, username: username, csrf: token), template: "login"), headers: extra)
        response.setCookie(cookie)
        return response
    }

    private func pathComponent(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? s }
}
