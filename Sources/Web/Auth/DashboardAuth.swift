import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Privacy
import Storage

/// Dashboard sign-in state: an opaque random cookie whose HMAC with the server secret is
/// stored server-side (a stolen database does not yield live cookies, and a new secret
/// ends every session), and CSRF tokens derived from it with the server secret.
struct DashboardAuth: Sendable {
    static let cookieName = "veil_session"
    static let loginCSRFCookie = "veil_login_csrf"
    static let sessionLifetimeMillis: Int64 = 14 * DayCalendar.millisPerDay

    let database: VeilDatabase
    let secret: [UInt8]
    let secureCookies: Bool
    /// `api.token`: the bearer token of the JSON API (empty: bearer access is off).
    let apiToken: String
    let clock: TimeSource
    let random: @Sendable (Int) -> [UInt8]

    struct SignedIn: Sendable {
        var user: StoredUser
        var csrf: String
        /// What the database keeps of this session (a password change keeps it).
        var sessionHash: [UInt8]
    }

    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let token = request.cookies[Self.cookieName]?.value, let raw = Data(base64URL: token) else { return nil }
        let hash = tokenHash(raw)
        guard let user = try await database.userForLoginSession(tokenHash: hash, nowMillis: clock.nowMillis()) else { return nil }
        return SignedIn(user: user, csrf: csrf(for: token), sessionHash: hash)
    }

    /// Starts a session; returns the cookie to set.
    func startSession(for user: StoredUser) async throws -> Cookie {
        let raw = random(32)
        let now = clock.nowMillis()
        try await database.createLoginSession(tokenHash: tokenHash(raw), userID: user.id, nowMillis: now, expiresAt: now + Self.sessionLifetimeMillis)
        return Cookie(name: Self.cookieName, value: Data(raw).base64URLEncoded, maxAge: Int(Self.sessionLifetimeMillis / 1000), path: "/",
                      secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    func endSession(_ request: Request) async throws -> Cookie {
        if let token = request.cookies[Self.cookieName]?.value, let raw = Data(base64URL: token) {
            try await database.deleteLoginSession(tokenHash: tokenHash(raw))
        }
        return Cookie(name: Self.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// What the database keeps of a session cookie.
    func tokenHash<D: DataProtocol>(_ raw: D) -> [UInt8] {
        var mac = HMAC<SHA256>(key: SymmetricKey(data: secret))
        mac.update(data: Array("session:".utf8))
        mac.update(data: raw)
        return Array(mac.finalize())
    }

    func csrf(for sessionToken: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(("csrf:" + sessionToken).utf8), using: SymmetricKey(data: secret))
        return Data(mac).base64URLEncoded
    }

    /// A signed-in form post's fields, once its CSRF token matches (403 otherwise).
    func verifiedForm(_ request: Request, csrf expected: String) async throws -> [String: String] {
        let form = parseForm(String(buffer: try await request.body.collect(upTo: 16 * 1024)))
        guard verifyCSRF(form["csrf"], expected: expected) else {
            throw APIError(.forbidden, "csrf", "The form expired; reload the page and try again.")
        }
        return form
    }

    func verifyCSRF(_ submitted: String?, expected: String) -> Bool {
        guard let submitted else { return false }
        return constantTimeEqual(Array(submitted.utf8), Array(expected.utf8))
    }

    /// A fresh login-form token (double-submit cookie: the form field must match it).
    func loginCSRF() -> (token: String, cookie: Cookie) {
        let token = Data(random(18)).base64URLEncoded
        return (token, Cookie(name: Self.loginCSRFCookie, value: token, maxAge: 3600, path: "/login", secure: secureCookies, httpOnly: true, sameSite: .strict))
    }

    /// API access: the configured bearer token, or (without an Authorization header) a
    /// signed-in dashboard session. Throws a 401 JSON error otherwise.
    /// With `site`, a signed-in viewer must have been given that site (403 otherwise);
    /// with `admin`, the user must be an admin. The token has every right.
    func requireAPIAccess(_ request: Request, site: String? = nil, admin: Bool = false) async throws {
        try await requireAPIAccess(request, csrf: false, site: site, admin: admin)
    }

    /// The site a read-only API call names in `?site=`, once the caller may read it
    /// (400 without it, 401/403 before saying whether it exists, then 404 if unknown).
    func apiSite(_ request: Request, query q: [String: String], catalog: SiteCatalog) async throws -> SiteRules {
        guard let domain = q["site"], !domain.isEmpty else { throw APIError(.badRequest, "missing_site", "site is required") }
        try await requireAPIAccess(request, site: catalog.site(domain)?.key ?? "")
        return try catalog.dashboardSite(domain)
    }

    /// Access for API calls that delete or export: the bearer token, or a signed-in
    /// session that also sends its CSRF token in `X-CSRF-Token`. A cookie alone is not
    /// enough, so a page (or a recording playing in the player) cannot make the admin's
    /// browser delete or export anything.
    func requireAPIAccessForChange(_ request: Request, site: String? = nil, admin: Bool = false) async throws {
        try await requireAPIAccess(request, csrf: true, site: site, admin: admin)
    }

    /// A user's right to a site or to admin-only work, as a 403 when missing.
    static func allow(_ user: StoredUser, site: String?, admin: Bool) throws(APIError) {
        if admin && !user.isAdmin {
            throw APIError(.forbidden, "admin_only", "only an admin may do this; ask one of Veil's admins")
        }
        if let site, !user.canSee(site: site) {
            throw APIError(.forbidden, "site_not_allowed", "your account has not been given this site")
        }
    }

    /// Whether the request carries the configured API token.
    func hasAPIToken(_ request: Request) -> Bool { Self.bearerMatches(request, token: apiToken) }

    private func requireAPIAccess(_ request: Request, csrf: Bool, site: String?, admin: Bool) async throws {
        if hasAPIToken(request) { return }
        if request.headers[.authorization] == nil, let signed = try await signedIn(request) {
            guard !csrf || verifyCSRF(request.headers[.xCSRFToken], expected: signed.csrf) else {
                throw APIError(.forbidden, "csrf", "send the session's CSRF token in X-CSRF-Token, or use Authorization: Bearer <api.token>")
            }
            try Self.allow(signed.user, site: site, admin: admin)
            return
        }
        throw APIError(.unauthorized, "unauthorized", "send Authorization: Bearer <api.token> or sign in", headers: [.wwwAuthenticate: "Bearer"])
    }

    /// Whether the `Authorization: Bearer` header carries the configured API token.
    static func bearerMatches(_ request: Request, token: String) -> Bool {
        guard !token.isEmpty, let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return constantTimeEqual(Array(header.dropFirst(7).utf8), Array(token.utf8))
    }
}

extension HTTPField.Name {
    static let xCSRFToken = Self("X-CSRF-Token")!
}

extension Data {
    var base64URLEncoded: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    init?(base64URL: String) {
        guard base64URL.count <= 128 else { return nil }
        var s = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while s.count % 4 != 0 { s += "=" }
        self.init(base64Encoded: s)
    }
}

/// Parses an `application/x-www-form-urlencoded` body.
func parseForm(_ body: String) -> [String: String] {
    FormFields(body).first
}
