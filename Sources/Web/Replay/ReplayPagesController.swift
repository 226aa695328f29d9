import Crypto
import Foundation
import Hummingbird
import Privacy
import Storage

/// The owner's replay pages: the recordings list (with magic-erasure settings), the
/// player, deleting a recording, and starting the picker on the live site.
struct ReplayPagesController: Sendable {
    let catalog: SiteCatalog
    let database: VeilDatabase
    /// Every question a page shows the answer to.
    let stats: any StatsStore
    let auth: DashboardAuth
    let pages: PageRenderer
    let clock: TimeSource
    let random: @Sendable (Int) -> [UInt8]
    let secret: [UInt8]

    /// The player's policy: the recorded page may bring its styles, images and fonts,
    /// never a script (the frame is sandboxed without scripts as well).
    static let playerCSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline' http: https:; img-src 'self' data: blob: http: https:; "
        + "font-src data: http: https:; media-src http: https:; connect-src 'self'; frame-src 'self'; child-src 'self'; form-action 'self'; "
        + "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    static let pickerMinutes: Int64 = 30

    var endpoints: RouteCollection<VeilRequestContext> {
        let routes = RouteCollection(context: VeilRequestContext.self)
        let owner = routes.group("sites/:domain").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog))
        owner.get("replays", use: list)
        owner.get("replays/:id", use: player)
        // Deleting recordings and choosing what to erase are an admin's.
        let admin = routes.group("sites/:domain").add(middleware: OwnerAccessMiddleware(auth: auth, catalog: catalog, adminOnly: true))
        admin.post("replays/:id/delete", use: delete)
        admin.post("replay/picker", use: startPicker)
        admin.post("replay/selectors/remove", use: removeSelector)
        return routes
    }

    /// The signed-in owner and the site (set by the group's middleware).
    typealias Owner = SiteAccess

    private func verified(_ request: Request, _ context: VeilRequestContext) async throws -> (Owner, [String: String]) {
        let owner = try context.siteAccess()
        return (owner, try await auth.verifiedForm(request, csrf: owner.csrf))
    }

    @Sendable func list(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let owner = try context.siteAccess()
        let q = SitePagesController.query(request)
        var filter = try RecordingQuery.filter(q, now: clock.nowMillis())
        let pageSize = filter.limit
        filter.limit = pageSize + 1
        let screen = try await stats.replayListScreen(site: owner.domain, filter: filter, rules: owner.site.analytics)
        let hasNext = screen.recordings.count > pageSize
        let rows = Array(screen.recordings.prefix(pageSize))
        let picked = screen.pickedSelectors
        let days = q["days"] ?? "30"
        func option(_ v: String, _ l: String, _ current: String?) -> ReplaysPage.Option { .init(value: v, label: l, selected: v == (current ?? "")) }
        var next = q
        next["offset"] = String(filter.offset + pageSize)
        var page = ReplaysPage(
            domain: owner.site.domain, base: owner.base, tabs: StatsHeader.tabs(base: owner.base, current: "replays", query: "", readOnly: false),
            rows: rows.map { r in
                ReplaysPage.Row(href: owner.base + "/replays/\(r.id)", started: DayCalendar.utc.dateTime(r.startedAt), duration: Format.duration(seconds: Double(r.durationMillis) / 1000),
                                pages: r.pages, entry: r.entryPath.isEmpty ? Self.path(r.entryURL) : r.entryPath,
                                device: [r.device, r.browser, r.os].filter { !$0.isEmpty }.joined(separator: " · "), country: r.country,
                                clicks: r.clicks, rageClicks: r.rageClicks, hasRage: r.rageClicks > 0, size: ReplayFormat.bytes(r.storedBytes), capped: r.cappedAt != nil)
            },
            hasRows: !rows.isEmpty,
            days: [("1", "Last 24 hours"), ("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days")].map { option($0.0, $0.1, days) },
            devices: [("", "Any device"), ("desktop", "Desktop"), ("mobile", "Mobile"), ("tablet", "Tablet")].map { option($0.0, $0.1, q["device"]) },
            goals: [option("", "Any", q["goal"])] + owner.site.analytics.goals.map { option($0.name, $0.name, q["goal"]) },
            hasGoals: !owner.site.analytics.goals.isEmpty,
            page: q["page"] ?? "", event: q["event"] ?? "", minSeconds: q["min_seconds"] ?? "", rage: filter.rageClicksOnly,
            filtered: ["page", "event", "goal", "without_goal", "device", "min_seconds", "rage", "session"].contains { !(q[$0] ?? "").isEmpty },
            nextHref: owner.base + "/replays?" + next.sorted { $0.key < $1.key }.map { "\(StatsRequest.encode($0.key))=\(StatsRequest.encode($0.value))" }.joined(separator: "&"),
            hasNext: hasNext,
            enabled: owner.site.replay.enabled, sampleRate: "\(Int((owner.site.replay.sampleRate * 100).rounded())) %", maskText: owner.site.replay.maskText.rawValue,
            configured: owner.site.replay.eraseSelectors, blockSelectors: owner.site.replay.blockSelectors, picked: picked, hasPicked: !picked.isEmpty,
            pickerURL: owner.domain == "localhost" ? "/demo" : "https://\(owner.site.domain)/",
            username: owner.username, csrf: owner.csrf)
        page.isAdmin = owner.isAdmin
        return .html(pages.render(page, template: "replays"))
    }

    static func path(_ url: String) -> String {
        guard let parts = URLComponents(string: url) else { return url }
        return parts.path.isEmpty ? "/" : parts.path
    }

    @Sendable func player(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let owner = try context.siteAccess()
        guard let idText = context.parameters.get("id"), let id = Int64(idText),
              let screen = try await stats.replayPlayerScreen(site: owner.domain, id: id, rules: owner.site.analytics) else {
            throw APIError(.notFound, "not_found", "There is no such recording; it may have been deleted or expired.")
        }
        // Markers come from the server-side session: custom events and goal conversions.
        let r = screen.recording, pagesList = screen.pages, markers = screen.markers
        let marks = markers.map { "{\"ts\":\($0.timestamp),\"kind\":\"\($0.kind.rawValue)\",\"label\":\(JSONWriter.string($0.label))}" }
        let facts: [PlayerPage.Fact] = [
            .init(label: "Started", value: DayCalendar.utc.dateTime(r.startedAt) + " UTC"),
            .init(label: "Duration", value: Format.duration(seconds: Double(r.durationMillis) / 1000)),
            // A page load can hold several pageviews (client-side navigations): both are named.
            .init(label: "Page loads recorded", value: "\(r.pages)"),
            .init(label: "Device", value: [r.device, r.browser, r.os].filter { !$0.isEmpty }.joined(separator: " · ").ifEmpty("unknown")),
            .init(label: "Country", value: r.country.ifEmpty("unknown")),
            .init(label: "Channel", value: r.channel.ifEmpty("unknown")),
            .init(label: "Visit", value: r.sessionID.map { _ in "\(Format.count(r.pageviews, "pageview", "pageviews")) in the visit, entry \(r.entryPath)" } ?? "not attached to a visit"),
            .init(label: "Clicks", value: "\(r.clicks) (\(r.rageClicks) rage)"),
            .init(label: "Stored", value: "\(ReplayFormat.bytes(r.storedBytes)) for \(ReplayFormat.bytes(r.rawBytes)) received, \(r.events) events"),
        ] + (r.cappedAt.map { [.init(label: "Capped", value: "Reached its size limit at \(DayCalendar.utc.dateTime($0)) UTC; later activity was not recorded")] } ?? [])
        var page = PlayerPage(domain: owner.site.domain, base: owner.base, id: id, eventsURL: "/api/recordings/\(id)/events", marksJSON: "[" + marks.joined(separator: ",") + "]",
                              facts: facts, pages: pagesList.map(\.url), deleteAction: owner.base + "/replays/\(id)/delete", username: owner.username, csrf: owner.csrf)
        page.isAdmin = owner.isAdmin
        return .html(pages.render(page, template: "player"), headers: [.contentSecurityPolicy: Self.playerCSP])
    }

    @Sendable func delete(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (owner, _) = try await verified(request, context)
        guard let idText = context.parameters.get("id"), let id = Int64(idText) else { throw APIError(.notFound, "not_found", "no such recording") }
        _ = try await database.deleteRecording(id: id, site: owner.domain)
        context.logger.notice("recording deleted", metadata: ["site": "\(owner.domain)", "id": "\(id)", "user": "\(owner.username)"])
        return .seeOther(owner.base + "/replays")
    }

    /// Creates a signed one-time picker link (only its SHA-256 is stored; valid 30
    /// minutes; one per site) and opens the site with it in the URL fragment, which
    /// never reaches a server.
    @Sendable func startPicker(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (owner, form) = try await verified(request, context)
        let expiresAt = clock.nowMillis() + Self.pickerMinutes * 60_000
        let token = PickerLink.mint(site: owner.domain, expiresAt: expiresAt, nonce: random(24), secret: secret)
        try await database.createPickerLink(site: owner.domain, tokenHash: Array(SHA256.hash(data: Array(token.utf8))), expiresAt: expiresAt)
        var target = Self.pickerTarget(form["url"] ?? "", site: owner.site)
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        context.logger.notice("magic erasure picker started", metadata: ["site": "\(owner.domain)", "user": "\(owner.username)"])
        return .seeOther(target + "#veil-pick=" + token)
    }

    /// Where the picker may open: a page of the site itself (an http(s) URL whose host the
    /// site owns, without credentials, backslashes or control characters), or Veil's own
    /// `/demo`. Anything else (another host, `//evil`, `/\\evil`) opens the site's home.
    static func pickerTarget(_ requested: String, site: SiteRules) -> String {
        let fallback = site.key == "localhost" ? "/demo" : "https://\(site.domain)/"
        let text = requested.trimmingCharacters(in: .whitespaces)
        if text == "/demo" || text.hasPrefix("/demo?") { return text }
        guard !text.contains("\\"), !text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }),
              let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              url.user == nil, url.password == nil, let host = url.host, site.owns(host: host) else { return fallback }
        return text
    }

    @Sendable func removeSelector(_ request: Request, context: VeilRequestContext) async throws -> Response {
        let (owner, form) = try await verified(request, context)
        try await database.removePickedSelector(site: owner.domain, selector: form["selector"] ?? "")
        return .seeOther(owner.base + "/replays")
    }
}

extension String {
    func ifEmpty(_ fallback: String) -> String { isEmpty ? fallback : self }
}
