/// A person-update call made storable: keyed hashes and scrubbed, allow-listed properties.
public struct IdentityLink: Sendable, Equatable {
    public var site: String
    public var visitor: [UInt8]
    public var userHash: [UInt8]
    public var props: [(String, String)]
    public var at: Int64

    public init(site: String, visitor: [UInt8], userHash: [UInt8], props: [(String, String)], at: Int64) {
        self.site = site
        self.visitor = visitor
        self.userHash = userHash
        self.props = props
        self.at = at
    }

    public static func == (a: IdentityLink, b: IdentityLink) -> Bool {
        a.site == b.site && a.visitor == b.visitor && a.userHash == b.userHash && a.at == b.at
            && a.props.map { $0.0 + "=" + $0.1 } == b.props.map { $0.0 + "=" + $0.1 }
    }
}

extension IngestPipeline {
    /// The checks a person update goes through, by step name: the site's and the browser's.
    static let personSteps: Set<String> = ["drop_unknown_site", "drop_origin_not_allowed", "drop_dnt", "drop_gpc"]

    /// A person update (identify, alias, person properties) made storable: the site's
    /// origin, DNT and GPC rules as for events, then both IDs as HMACs with the server
    /// secret and only the site's `person_properties`, scrubbed. The raw IDs end here.
    public func person(_ update: PersonUpdate, context: IngestContext, memo: inout RequestMemo) -> Result<IdentityLink, DropReason> {
        let raw = RawEvent(site: update.site, name: "", url: "")
        var work = Work(raw: raw, context: context, memo: memo)
        defer { memo = work.memo }
        for step in Self.steps where Self.personSteps.contains(step.name) {
            if let reason = step.run(&work, self) { return .failure(reason) }
        }
        let site = work.site!
        // Without a secret there is no way to store the link without the raw IDs.
        guard !secret.isEmpty else { return .failure(.notAnEvent) }
        let allowed = Set(site.personProperties)
        var budget = work.memo.scrubBudget
        let scrubber = PIIScrubber()
        let props = update.properties.filter { allowed.contains($0.0) }.map { key, value in
            (key, scrubber.scrub(value, extraPatterns: site.scrubPatterns, budget: &budget) { _ in PIIScrubber.Kind.unscanned.placeholder }.text)
        }
        work.memo.scrubBudget = budget
        return .success(IdentityLink(site: site.key,
                                     visitor: IdentityHasher.visitor(secret: secret, site: site.key, visitorID: update.anonymousID ?? update.userID),
                                     userHash: IdentityHasher.user(secret: secret, site: site.key, userID: update.userID),
                                     props: props, at: context.receivedAt))
    }
}
