import Hummingbird
import Privacy
import Storage

/// Dashboard pages for privacy: the site's policy, data-subject export and erasure
/// (CSRF-protected, erasure behind a confirmation step) and the audit log.
struct PrivacyPagesController: Sendable {
    let catalog: SiteCatalog
    let database: VeilDatabase
    let auth: DashboardAuth
    let counters: IngestCounters
    let requests: PrivacyRequests
    let pages: PageRenderer

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        routes.get("stored", use: stored)
        let owner = routes.group("sites/:domain/privacy").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog, redirectPosts: true, adminOnly: true))
        owner.get(use: show)
        owner.post("export", use: export)
        owner.post("erase", use: erase)
        return routes
    }

    @Sendable func stored(_ request: Request, context: VeilRequestContext) async throws -> Response {
        guard let signed = try await auth.signedIn(request) else { return .seeOther("/login") }
        return .html(pages.render(StoredPage(csrf: signed.csrf, username: signed.user.username, isAdmin: signed.user.isAdmin), template: "stored"))
    }

    @Sendable func show(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let signed = try context.siteAccess()
        let before = request.uri.queryParameters.get("audit_before").flatMap { Int64($0) }
        return try await page(signed.site, signed: signed, auditBefore: before)
    }

    @Sendable func export(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let signed = try context.siteAccess()
        let site = signed.site
        let form = try await auth.verifiedForm(request, csrf: signed.csrf)
        let subject: Subject
        do { subject = try subjectFrom(form, site: site) } catch { return try await page(site, signed: signed, error: error.detail, status: .badRequest) }
        let file = try await requests.export(site: site.key, subject: subject, actor: signed.username)
        return exportResponse(file, site: site.key, subject: subject, logger: context.logger)
    }

    @Sendable func erase(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let signed = try context.siteAccess()
        let site = signed.site
        let form = try await auth.verifiedForm(request, csrf: signed.csrf)
        let subject: Subject
        do { subject = try subjectFrom(form, site: site) } catch { return try await page(site, signed: signed, error: error.detail, status: .badRequest) }
        let domain = site.key
        guard form["confirm"] == "yes" else {
            // First step: show what would be deleted and ask again.
            let records = try await database.records(site: domain, subject: subject)
            let confirm = PrivacyPage.Confirm(events: records.events.count, sessions: records.sessions.count,
                                              subjectLabel: "this \(form["kind"] ?? "subject")", kind: form["kind"] ?? "", value: form["value"] ?? "")
            return try await page(site, signed: signed, confirm: confirm)
        }
        let counts = try await requests.erase(site: domain, subject: subject, actor: signed.username)
        context.logger.notice("erased a data subject", metadata: ["site": "\(domain)", "user": "\(signed.username)"])
        return try await page(site, signed: signed, message: "Erased \(counts["events"] ?? 0) events, \(counts["sessions"] ?? 0) sessions and \(counts["recordings"] ?? 0) recordings.")
    }

    private func subjectFrom(_ form: [String: String], site: SiteRules) throws(APIError) -> Subject {
        let value = (form["value"] ?? "").trimmingCharacters(in: .whitespaces)
        let domain = site.key
        switch form["kind"] {
        case "session": return try requests.subject(site: domain, session: value, visitor: nil, user: nil)
        case "visitor" where site.hasPersonIDs: return try requests.subject(site: domain, session: nil, visitor: value, user: nil)
        case "user" where site.hasPersonIDs: return try requests.subject(site: domain, session: nil, visitor: nil, user: value)
        default: throw APIError(.badRequest, "invalid_subject", "Choose a kind of identifier this site supports.")
        }
    }

    /// Audit entries per page of the privacy page.
    static let auditPage = 50

    private func page(_ site: SiteRules, signed: SiteAccess, message: String? = nil, error: String? = nil,
                      confirm: PrivacyPage.Confirm? = nil, status: HTTPResponse.Status = .ok, auditBefore: Int64? = nil) async throws -> Response {
        let domain = site.key
        // One more than a page tells whether an older page exists.
        var audit = try await database.auditLog(site: domain, limit: Self.auditPage + 1, before: auditBefore)
        let older = audit.count > Self.auditPage ? audit[Self.auditPage - 1].id : nil
        audit = Array(audit.prefix(Self.auditPage))
        let sessions = try await database.recentSessions(site: domain, limit: 20)
        let model = PrivacyPage(site: site, oldestEvent: try await database.firstEventTime(site: domain), scrubbed: await counters.scrubbedCounts(site: domain),
                                audit: audit, auditOlder: older,
                                sessions: sessions, recorded: try await database.recordedSessions(ids: sessions.map(\.id)), csrf: signed.csrf, username: signed.username,
                                message: message, error: error, confirm: confirm)
        return .html(status: status, pages.render(model, template: "privacy"))
    }
}

import Foundation
