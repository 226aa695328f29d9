import Mustache
import VeilAssets

/// Renders typed page models with the embedded Mustache templates. `{{ }}` escapes
/// HTML (including quotes); templates never use triple braces.
public struct PageRenderer: Sendable {
    let library: MustacheLibrary

    public init() throws {
        var library = MustacheLibrary()
        for (name, bytes) in EmbeddedAssets.templates {
            try library.register(String(decoding: bytes, as: UTF8.self), named: name)
        }
        self.library = library
    }

    public func render(_ page: some Sendable, template: String) -> String {
        // Templates are embedded and registered at init, so a miss is a programming error
        // caught by the template test; still answer with text rather than crash.
        library.render(page, withTemplate: template) ?? "template \(template) is missing"
    }
}

struct ErrorPage: Sendable {
    var status: Int
    var title: String
    var message: String
    var version = VeilVersion.string
    var signedIn = false
}

struct LoginPage: Sendable {
    var error: String?
    var username: String
    var csrf: String
    var version = VeilVersion.string
    var signedIn = false
}

struct SitesPage: Sendable {
    struct Site: Sendable {
        var domain: String
        var domainPath: String
        var hasData: Bool
        var visitors: String
        var pageviews: String
        var snippet: String
    }
    var sites: [Site]
    /// An admin is signed in: the nav shows Users; admin-only tools show.
    var isAdmin = false
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string
}

struct DemoPage: Sendable {
    var trackerPath: String
    var replay: Bool
    var replayRate: String
    var feedback = false
}

public enum VeilVersion {
    public static let string = "0.1.0"
}
