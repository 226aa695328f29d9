/// The admin-only Users page.
struct UsersPage: Sendable {
    struct Notice: Sendable {
        var error: Bool
        var text: String
    }
    struct SiteChoice: Sendable {
        var key: String
        var domain: String
        var checked: Bool
    }
    struct User: Sendable {
        var username: String
        var isAdmin: Bool
        var isYou: Bool
        /// "every site", or the viewer's sites.
        var access: String
        var sessions: String
        var sites: [SiteChoice]
    }
    var users: [User]
    var notice: Notice?
    var hasNotice: Bool
    var allSites: [SiteChoice]
    var isAdmin: Bool
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string
}

/// Every user's own Account page.
struct AccountPage: Sendable {
    var role: String
    var minimum: Int
    var notice: UsersPage.Notice?
    var hasNotice: Bool
    var isAdmin: Bool
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string
}
