import Hummingbird
import Privacy

/// The `<script>` tag a site pastes: where Veil is reached, and the site's choices as
/// data attributes.
struct Snippet: Sendable {
    /// `public_url`; when empty, the request's Host (or the listen address).
    var publicURL: String
    var fallbackHost: String
    /// Served over HTTPS (`secure_cookies`).
    var secure: Bool
    var trackerPath: String

    func tag(for site: SiteRules, request: Request) -> String {
        var base = publicURL
        if base.isEmpty {
            let host = request.head.authority ?? fallbackHost
            base = (secure ? "https://" : "http://") + host
        }
        while base.hasSuffix("/") { base.removeLast() }
        var tag = "<script defer src=\"\(base)\(trackerPath)\" data-site=\"\(site.domain)\""
        if site.identity == .persistent {
            tag += " data-identity=\"persistent\""
            if !site.consentRequired { tag += " data-consent=\"not_required\"" }
        }
        if site.analytics.autocapture { tag += " data-autocapture=\"true\"" }
        if site.replay.enabled { tag += " data-replay=\"\(site.replay.sampleRate)\"" }
        if site.feedback.enabled { tag += " data-feedback=\"true\"" }
        if !site.honorDNT { tag += " data-honor-dnt=\"false\"" }
        if !site.honorGPC { tag += " data-honor-gpc=\"false\"" }
        return tag + "></script>"
    }
}
