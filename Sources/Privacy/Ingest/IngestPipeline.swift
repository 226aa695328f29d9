/// The salts in use at one instant: today's, and yesterday's when it still exists.
public struct ActiveSalts: Sendable {
    public var current: [UInt8]
    public var previous: [UInt8]?

    public init(current: [UInt8], previous: [UInt8]?) {
        self.current = current
        self.previous = previous
    }
}

/// The ingest pipeline: a named list of `drop_*` checks and `put_*` enrichments run in
/// order over one event. The first drop wins and names its reason.
public struct IngestPipeline: Sendable {
    /// Facts about the request, computed once however many events it carries.
    public struct RequestMemo: Sendable {
        var agent: ReducedUserAgent?
        /// nil: not looked up yet; "": unknown.
        var country: String?
        var visitorsBySite: [String: [[UInt8]]] = [:]
        /// Bytes of text the scrubber may still read for this request (`limits.scrub_bytes`).
        public var scrubBudget: ScrubBudget

        public init(scrubBudget: ScrubBudget = .unlimited) {
            self.scrubBudget = scrubBudget
        }
    }

    /// Work in progress through the steps.
    public struct Work: Sendable {
        public let raw: RawEvent
        public let context: IngestContext
        public var memo: RequestMemo
        public var site: SiteRules?
        public var agent: ReducedUserAgent?
        public var url: URLParts.Cleaned?
        public var referrerHost: String?
        public var referrerPath: String?
        public var visitors: [[UInt8]] = []
        public var name: String = ""
        public var props: [(String, String)] = []
        public var scrubbed: [PIIScrubber.Kind: Int] = [:]
        public var userHash: [UInt8]?
        public var visit = VisitAttributes()

        /// An SDK call from a server (no browser Origin): the request's address and agent
        /// are the server's, not the person's.
        var isServerSideCall: Bool { raw.sdkIdentity != nil && context.origin == nil }
    }

    public struct Step: Sendable {
        public let name: String
        public let run: @Sendable (inout Work, IngestPipeline) -> DropReason?
    }

    public let sites: [String: SiteRules]
    public let allowedQuery: Set<String>
    public let salts: ActiveSalts
    /// Keys the persistent-identity HMACs.
    public let secret: [UInt8]
    /// Country lookup; the address is looked up and then forgotten.
    public let geo: MMDB?
    /// How far SDK timestamps are believed.
    public let clientTimes: ClientTimeWindow

    public init(sites: [SiteRules], allowedQuery: Set<String>, salts: ActiveSalts, secret: [UInt8] = [], geo: MMDB? = nil, clientTimes: ClientTimeWindow = ClientTimeWindow()) {
        var byDomain: [String: SiteRules] = [:]
        for site in sites { byDomain[site.key] = site }
        self.sites = byDomain
        self.allowedQuery = allowedQuery
        self.salts = salts
        self.secret = secret
        self.geo = geo
        self.clientTimes = clientTimes
    }

    /// The steps, in order. Names show up in logs and docs.
    public static let steps: [Step] = [
        Step(name: "drop_unknown_site") { work, pipeline in
            guard let site = pipeline.sites[work.raw.site.lowercased()] else { return .unknownSite }
            work.site = site
            return nil
        },
        Step(name: "drop_origin_not_allowed") { work, _ in
            // Server-to-server senders have no Origin; browsers always send one on a POST.
            guard let origin = work.context.origin, origin != "null" else { return nil }
            return work.site!.allows(origin: origin) ? nil : .originNotAllowed
        },
        Step(name: "drop_dnt") { work, _ in
            work.site!.honorDNT && work.context.doNotTrack ? .doNotTrack : nil
        },
        Step(name: "drop_gpc") { work, _ in
            work.site!.honorGPC && work.context.globalPrivacyControl ? .globalPrivacyControl : nil
        },
        Step(name: "drop_bot") { work, _ in
            if work.isServerSideCall {
                // The request's agent is the caller's SDK library, not the person's browser:
                // only an agent named in the payload is reduced (and can be a bot).
                let agent = work.raw.payloadUserAgent.map(ReducedUserAgent.reduce) ?? .serverSide
                work.agent = agent
                return agent.isBot ? .bot : nil
            }
            let agent = work.memo.agent ?? ReducedUserAgent.reduce(work.context.userAgent)
            work.memo.agent = agent
            work.agent = agent
            return agent.isBot ? .bot : nil
        },
        Step(name: "put_url") { work, pipeline in
            guard let url = URLParts.clean(work.raw.url, allowedQuery: pipeline.allowedQuery) else { return .invalidURL }
            work.url = url
            return nil
        },
        Step(name: "put_referrer") { work, pipeline in
            guard let raw = work.raw.referrer, let ref = URLParts.clean(raw, allowedQuery: []) else { return nil }
            // A self-referral (navigation within the site) is not a referrer.
            guard ref.host != work.url!.host else { return nil }
            work.referrerHost = ref.host
            work.referrerPath = ref.path == "/" ? nil : ref.path
            return nil
        },
        Step(name: "put_scrubbed") { work, _ in
            // Personal data in any free-text field becomes a typed placeholder before storage.
            let site = work.site!
            let scrubber = PIIScrubber()
            var counts: [PIIScrubber.Kind: Int] = [:]
            var budget = work.memo.scrubBudget
            func clean(_ text: String) -> String {
                // Beyond the request's budget, text is replaced unread.
                let r = scrubber.scrub(text, extraPatterns: site.scrubPatterns, budget: &budget) { _ in PIIScrubber.Kind.unscanned.placeholder }
                for (kind, n) in r.counts { counts[kind, default: 0] += n }
                return r.text
            }
            defer { work.memo.scrubBudget = budget }
            // The page's host is the site's own address, not the visitor's data: kept as
            // is when it belongs to the site (an IP-addressed dev site stays `127.0.0.1`).
            if !site.owns(host: work.url!.host) { work.url!.host = clean(work.url!.host) }
            work.url!.path = clean(work.url!.path)
            work.url!.query = work.url!.query.map { ($0.0, clean($0.1)) }
            work.referrerHost = work.referrerHost.map(clean)
            work.referrerPath = work.referrerPath.map(clean)
            work.name = clean(work.raw.name)
            let allow = Set(site.propertyAllowlist)
            work.props = work.raw.props.filter { allow.isEmpty || allow.contains($0.0) }.map { (clean($0.0), clean($0.1)) }
            work.scrubbed = counts
            return nil
        },
        Step(name: "put_visit") { work, pipeline in
            // Coarse attributes only: a channel, a screen class, a language, a country.
            var visit = VisitAttributes()
            let url = work.url!
            func utm(_ key: String) -> String { url.query.first { $0.0 == key }?.1 ?? "" }
            visit.utmSource = utm("utm_source")
            visit.utmMedium = utm("utm_medium")
            visit.utmCampaign = utm("utm_campaign")
            visit.utmTerm = utm("utm_term")
            visit.utmContent = utm("utm_content")
            visit.channel = Acquisition.channel(referrerHost: work.referrerHost, utmMedium: visit.utmMedium, utmSource: visit.utmSource).rawValue
            visit.screen = Acquisition.screenClass(width: work.raw.screenWidth)
            visit.language = Acquisition.language(work.raw.language)
            if let geo = pipeline.geo {
                if let ip = work.raw.payloadIP {
                    // An address named in an SDK payload: looked up, then forgotten.
                    visit.country = geo.country(ip: ip) ?? ""
                } else if !work.isServerSideCall {
                    let country = work.memo.country ?? geo.country(ip: work.context.clientIP) ?? ""
                    work.memo.country = country
                    visit.country = country
                }
            }
            work.visit = visit
            return nil
        },
        Step(name: "put_visitor") { work, pipeline in
            let site = work.site!.key
            if let id = work.raw.sdkIdentity, !id.isEmpty, !pipeline.secret.isEmpty {
                // SDK protocols: the caller's own ID for the person, keyed with the server
                // secret (a server's calls share one IP and agent, which would merge everyone).
                work.visitors = [IdentityHasher.visitor(secret: pipeline.secret, site: site, visitorID: id)]
                if let uid = work.raw.userID, !uid.isEmpty {
                    work.userHash = IdentityHasher.user(secret: pipeline.secret, site: site, userID: uid)
                }
                return nil
            }
            if work.site!.identity == .persistent, !pipeline.secret.isEmpty {
                if let uid = work.raw.userID, !uid.isEmpty {
                    work.userHash = IdentityHasher.user(secret: pipeline.secret, site: site, userID: uid)
                }
                // Without an ID (no consent yet) the visitor is counted the cookieless way.
                if let vid = work.raw.visitorID, !vid.isEmpty {
                    work.visitors = [IdentityHasher.visitor(secret: pipeline.secret, site: site, visitorID: vid)]
                    return nil
                }
            }
            if let known = work.memo.visitorsBySite[site] {
                work.visitors = known
                return nil
            }
            var candidates = [VisitorHasher.hash(salt: pipeline.salts.current, site: site, clientIP: work.context.clientIP, userAgent: work.context.userAgent)]
            if let previous = pipeline.salts.previous {
                candidates.append(VisitorHasher.hash(salt: previous, site: site, clientIP: work.context.clientIP, userAgent: work.context.userAgent))
            }
            work.visitors = candidates
            work.memo.visitorsBySite[site] = candidates
            return nil
        },
    ]

    /// The checks a session-replay chunk goes through, by step name: the same site,
    /// origin, DNT/GPC and bot rules as events, then the visitor hash that attaches the
    /// recording to the visitor's session.
    static let admissionSteps: Set<String> = ["drop_unknown_site", "drop_origin_not_allowed", "drop_dnt", "drop_gpc", "drop_bot", "put_visitor"]

    /// Admits a replay chunk for `raw.site` (and `raw.visitorID` for persistent identity):
    /// the site's rules and the visitor hash candidates, or why it is dropped.
    public func admit(_ raw: RawEvent, context: IngestContext) -> Result<(SiteRules, [[UInt8]]), DropReason> {
        var work = Work(raw: raw, context: context, memo: RequestMemo())
        for step in Self.steps where Self.admissionSteps.contains(step.name) {
            if let reason = step.run(&work, self) { return .failure(reason) }
        }
        guard work.site!.replay.enabled else { return .failure(.replayDisabled) }
        return .success((work.site!, work.visitors))
    }

    /// Runs every step over one event.
    public func run(_ raw: RawEvent, context: IngestContext) -> Result<CleanEvent, DropReason> {
        var memo = RequestMemo()
        return run(raw, context: context, memo: &memo)
    }

    /// Runs every step over one event of a request, reusing per-request work in `memo`.
    public func run(_ raw: RawEvent, context: IngestContext, memo: inout RequestMemo) -> Result<CleanEvent, DropReason> {
        var work = Work(raw: raw, context: context, memo: memo)
        defer { memo = work.memo }
        for step in Self.steps {
            if let reason = step.run(&work, self) { return .failure(reason) }
        }
        let agent = work.agent!
        let url = work.url!
        let clientTime = raw.clientTime.flatMap { clientTimes.accept($0, receivedAt: context.receivedAt) }
        var event = CleanEvent(
            site: work.site!.key,
            timestamp: clientTime ?? context.receivedAt,
            name: work.name,
            host: url.host,
            path: url.path,
            query: url.query,
            referrerHost: work.referrerHost,
            referrerPath: work.referrerPath,
            props: work.props,
            clientID: raw.clientID,
            visitorCandidates: work.visitors,
            browser: agent.browser,
            os: agent.os,
            device: agent.device
        )
        event.scrubbed = work.scrubbed
        event.userHash = work.userHash
        event.visit = work.visit
        event.clockSkew = raw.clientTime != nil && clientTime == nil
        return .success(event)
    }
}
