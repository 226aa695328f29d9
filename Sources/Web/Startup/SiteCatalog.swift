import Privacy
import Storage

/// The configured sites, as the controllers and middleware look them up: the one thing
/// about the configuration most of them need.
struct SiteCatalog: Sendable {
    let sites: [SiteRules]

    /// The site with this domain (any case), if configured.
    func site(_ domain: String) -> SiteRules? { sites.site(domain) }

    /// The site a dashboard URL names, or a 404 page saying it is not configured.
    func dashboardSite(_ domain: String) throws(APIError) -> SiteRules {
        guard let site = site(domain) else { throw Self.unknown(domain) }
        return site
    }

    /// The same, for a user: a site a viewer was not given is answered like an unknown one.
    func dashboardSite(_ domain: String, for user: StoredUser) throws(APIError) -> SiteRules {
        let site = try dashboardSite(domain)
        guard user.canSee(site: site.key) else { throw Self.unknown(domain) }
        return site
    }

    private static func unknown(_ domain: String) -> APIError {
        APIError(.notFound, "unknown_site", "There is no site \"\(domain)\" in the config.")
    }

    /// The sites a user may see, in config order.
    func sites(for user: StoredUser) -> [SiteRules] { sites.filter { user.canSee(site: $0.key) } }
}
