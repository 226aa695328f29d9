import Foundation
import Hummingbird
import Privacy
import Storage

/// Dashboard users: the admin-only Users page (add, remove, reset a password, change role
/// and sites) and every user's own Account page (change their password). Every form is
/// CSRF-checked; every change is written to the audit log and the server log. A new or
/// reset password is generated here and shown once; only its hash is stored.
struct AccountsController: Sendable {
    let catalog: SiteCatalog
    let database: VeilDatabase
    let auth: DashboardAuth
    let passwords: PasswordHasher
    let pages: PageRenderer
    let clock: TimeSource
    let random: @Sendable (Int) -> [UInt8]

    static let minimumPasswordLength = AccountsRules.minimumPasswordLength

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("users", use: users)
        routes.post("users/add", use: add)
        routes.post("users/update", use: update)
        routes.post("users/reset", use: reset)
        routes.post("users/remove", use: remove)
        routes.get("account", use: account)
        routes.post("account/password", use: changePassword)
        return routes
    }

    // MARK: Users (admins)

    /// A signed-in admin, or a redirect to sign in (nil) / a 403 page for a viewer.
    private func admin(_ request: Request) async throws -> DashboardAuth.SignedIn? {
        guard let signed = try await auth.signedIn(request) else { return nil }
        try DashboardAuth.allow(signed.user, site: nil, admin: true)
        return signed
    }

    @Sendable func users(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await admin(request) else { return .seeOther("/login") }
        return try await usersPage(signed, notice: nil)
    }

    private func usersPage(_ signed: DashboardAuth.SignedIn, notice: UsersPage.Notice?, status: HTTPResponse.Status = .ok) async throws -> Response {
        var rows: [UsersPage.User] = []
        for user in try await database.users() {
            rows.append(UsersPage.User(
                username: user.username, isAdmin: user.isAdmin, isYou: user.id == signed.user.id,
                access: user.isAdmin ? "every site" : (user.sites.isEmpty ? "no site yet" : user.sites.joined(separator: ", ")),
                sessions: Format.count(try await database.loginSessionCount(username: user.username, nowMillis: clock.nowMillis()), "session", "sessions"),
                sites: catalog.sites.map { .init(key: $0.key, domain: $0.domain, checked: user.sites.contains($0.key)) }))
        }
        let page = UsersPage(users: rows, notice: notice, hasNotice: notice != nil, allSites: catalog.sites.map { .init(key: $0.key, domain: $0.domain, checked: false) },
                             isAdmin: true, username: signed.user.username, csrf: signed.csrf)
        return .html(status: status, pages.render(page, template: "users"))
    }

    @Sendable func add(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await admin(request) else { return .seeOther("/login") }
        let form = try verified(try await formBody(request), csrf: signed.csrf)
        let username = (form.first["username"] ?? "").trimmingCharacters(in: .whitespaces)
        guard AccountsRules.validUsername(username) else {
            return try await usersPage(signed, notice: .init(error: true, text: "A username is 1 to 64 letters, digits, dots, dashes, underscores or @."), status: .badRequest)
        }
        let role = UserRole(rawValue: form.first["role"] ?? "") ?? .viewer
        let sites = role == .admin ? [] : catalog.sites.map(\.key).filter { form.all("site").contains($0) }
        let password = AccountsRules.newPassword(random: random)
        do {
            try await database.addUser(username: username, passwordHash: try hash(password), role: role, sites: sites, nowMillis: clock.nowMillis())
        } catch StorageError.conflict(let message) {
            return try await usersPage(signed, notice: .init(error: true, text: message), status: .conflict)
        }
        try await audit(signed, "user.add", username, ["role": role.rawValue, "sites": sites.joined(separator: ",")], context)
        return try await usersPage(signed, notice: .init(error: false, text: "Added \(username). Their password, shown only this once: \(password)"))
    }

    @Sendable func update(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await admin(request) else { return .seeOther("/login") }
        let form = try verified(try await formBody(request), csrf: signed.csrf)
        let username = form.first["username"] ?? ""
        let role = UserRole(rawValue: form.first["role"] ?? "") ?? .viewer
        let sites = role == .admin ? [] : catalog.sites.map(\.key).filter { form.all("site").contains($0) }
        do {
            guard try await database.setAccess(username: username, role: role, sites: sites) else {
                return try await usersPage(signed, notice: .init(error: true, text: "There is no user \(username)."), status: .notFound)
            }
        } catch StorageError.conflict(let message) {
            return try await usersPage(signed, notice: .init(error: true, text: message), status: .conflict)
        }
        try await audit(signed, "user.update", username, ["role": role.rawValue, "sites": sites.joined(separator: ",")], context)
        return try await usersPage(signed, notice: .init(error: false, text: "\(username) is now \(role == .admin ? "an admin" : "a viewer of " + (sites.isEmpty ? "no site" : sites.joined(separator: ", ")))."))
    }

    @Sendable func reset(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await admin(request) else { return .seeOther("/login") }
        let form = try verified(try await formBody(request), csrf: signed.csrf)
        let username = form.first["username"] ?? ""
        let password = AccountsRules.newPassword(random: random)
        // Resetting one's own password here keeps this session; anyone else is signed out everywhere.
        guard try await database.setPassword(username: username, passwordHash: try hash(password),
                                             keeping: username == signed.user.username ? signed.sessionHash : nil) else {
            return try await usersPage(signed, notice: .init(error: true, text: "There is no user \(username)."), status: .notFound)
        }
        try await audit(signed, "user.reset_password", username, [:], context)
        return try await usersPage(signed, notice: .init(error: false, text: "New password for \(username), shown only this once: \(password). Their other sessions have ended."))
    }

    @Sendable func remove(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await admin(request) else { return .seeOther("/login") }
        let form = try verified(try await formBody(request), csrf: signed.csrf)
        let username = form.first["username"] ?? ""
        do {
            guard try await database.removeUser(username: username) else {
                return try await usersPage(signed, notice: .init(error: true, text: "There is no user \(username)."), status: .notFound)
            }
        } catch StorageError.conflict(let message) {
            return try await usersPage(signed, notice: .init(error: true, text: message), status: .conflict)
        }
        try await audit(signed, "user.remove", username, [:], context)
        if username == signed.user.username { return .seeOther("/login") }
        return try await usersPage(signed, notice: .init(error: false, text: "Removed \(username) and ended their sessions."))
    }

    // MARK: Account (everyone)

    @Sendable func account(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await auth.signedIn(request) else { return .seeOther("/login") }
        return accountPage(signed, notice: nil)
    }

    private func accountPage(_ signed: DashboardAuth.SignedIn, notice: UsersPage.Notice?, status: HTTPResponse.Status = .ok) -> Response {
        let user = signed.user
        let page = AccountPage(role: user.isAdmin ? "admin (every site)" : "viewer of " + (user.sites.isEmpty ? "no site yet" : user.sites.joined(separator: ", ")),
                               minimum: Self.minimumPasswordLength, notice: notice, hasNotice: notice != nil, isAdmin: user.isAdmin, username: user.username, csrf: signed.csrf)
        return .html(status: status, pages.render(page, template: "account"))
    }

    @Sendable func changePassword(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await auth.signedIn(request) else { return .seeOther("/login") }
        let form = try verified(try await formBody(request), csrf: signed.csrf).first
        guard await passwords.verifyOffloaded(form["current"] ?? "", against: signed.user.passwordHash) else {
            return accountPage(signed, notice: .init(error: true, text: "The current password is wrong."), status: .forbidden)
        }
        let new = form["new"] ?? ""
        guard new.count >= Self.minimumPasswordLength else {
            return accountPage(signed, notice: .init(error: true, text: "Choose a password of at least \(Self.minimumPasswordLength) characters."), status: .badRequest)
        }
        guard new == form["confirm"] else {
            return accountPage(signed, notice: .init(error: true, text: "The two new passwords differ."), status: .badRequest)
        }
        try await database.setPassword(username: signed.user.username, passwordHash: try hash(new), keeping: signed.sessionHash)
        try await audit(signed, "user.change_password", signed.user.username, [:], context)
        return accountPage(signed, notice: .init(error: false, text: "Password changed. Your other sessions have ended; this one stays signed in."))
    }

    // MARK: Helpers

    private func hash(_ password: String) throws -> String {
        try passwords.hash(password, salt: random(16))
    }

    private func formBody(_ request: Request) async throws -> String {
        String(buffer: try await request.body.collect(upTo: 16 * 1024))
    }

    /// The form's fields once its CSRF token matches (403 otherwise); repeated fields kept.
    private func verified(_ body: String, csrf: String) throws -> FormFields {
        let fields = FormFields(body)
        guard auth.verifyCSRF(fields.first["csrf"], expected: csrf) else {
            throw APIError(.forbidden, "csrf", "The form expired; reload the page and try again.")
        }
        return fields
    }

    private func audit(_ signed: DashboardAuth.SignedIn, _ action: String, _ username: String, _ detail: [String: String], _ context: VeilRequestContext) async throws {
        try await database.auditUserChange(actor: signed.user.username, action: action, username: username, detail: detail, nowMillis: clock.nowMillis())
        context.logger.notice("dashboard user changed", metadata: ["action": "\(action)", "user": "\(LogText.clean(username))", "by": "\(signed.user.username)"])
    }
}

/// What a user name and a password must be, for the Users page and `veil user` alike.
public enum AccountsRules {
    public static let minimumPasswordLength = 10

    /// A new password: 15 random bytes, 20 URL-safe characters, shown once.
    public static func newPassword(random: (Int) -> [UInt8]) -> String {
        Data(random(15)).base64URLEncoded
    }

    public static func validUsername(_ name: String) -> Bool {
        (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-@".contains($0)) }
    }
}

/// A form body with repeated fields (the site checkboxes).
struct FormFields {
    let pairs: [(String, String)]

    init(_ body: String) {
        pairs = body.split(separator: "&").map { part in
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (URLParts.percentDecode(String(kv[0])), kv.count > 1 ? URLParts.percentDecode(String(kv[1])) : "")
        }
    }

    /// The first value of each field.
    var first: [String: String] { Dictionary(pairs, uniquingKeysWith: { a, _ in a }) }

    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
}
