/// Goals, funnels and click definitions a site declares in the config.
///
/// They are applied to stored events when counting, never at collection, so changing
/// them re-interprets history ("retroactive", Heap's idea): nothing is re-collected.
public struct AnalyticsRules: Sendable, Equatable {
    public var goals: [Goal] = []
    public var funnels: [Funnel] = []
    public var clickEvents: [ClickDefinition] = []
    /// The snippet records clicks on links, buttons and `data-veil-event` elements.
    public var autocapture = false
    /// The site's days and hours (`timezone:`): every bucket, range and date is on its clock.
    public var calendar = DayCalendar.utc

    public init(goals: [Goal] = [], funnels: [Funnel] = [], clickEvents: [ClickDefinition] = [], autocapture: Bool = false) {
        self.goals = goals
        self.funnels = funnels
        self.clickEvents = clickEvents
        self.autocapture = autocapture
    }

    /// Changes whenever a change of rules changes what the rollups hold.
    public var fingerprint: String {
        var parts: [String] = []
        for g in goals { parts.append("g|\(g.name)|\(g.page ?? "")|\(g.event ?? "")|" + g.props.map { "\($0.0)=\($0.1)" }.joined(separator: "&")) }
        for c in clickEvents { parts.append("c|\(c.name)|\(c.selector ?? "")|\(c.href ?? "")") }
        // Day buckets follow the zone. UTC adds nothing, so rollups built before zones
        // existed stay current.
        if calendar != .utc { parts.append("z|" + calendar.identifier) }
        return parts.joined(separator: "\n")
    }

    /// The event name analytics counts: an autocaptured click matching a definition
    /// counts under the definition's name.
    public func effectiveName(name: String, props: [(String, String)]) -> String {
        guard name == ClickDefinition.autocaptureName, !clickEvents.isEmpty else { return name }
        for definition in clickEvents where definition.matches(props: props) { return definition.name }
        return name
    }

    /// Names of the goals an event completes.
    public func goalsMet(name: String, path: String, props: [(String, String)]) -> [String] {
        goals.filter { $0.matches(name: name, path: path, props: props) }.map(\.name)
    }

    public func goal(named name: String) -> Goal? { goals.first { $0.name == name } }
}

/// A conversion: a pageview on a path pattern, or a custom event (optionally with
/// property values).
public struct Goal: Sendable, Equatable {
    public var name: String
    /// Path pattern; `*` matches any run of characters (including `/`).
    public var page: String?
    public var event: String?
    public var props: [(String, String)]

    public init(name: String, page: String? = nil, event: String? = nil, props: [(String, String)] = []) {
        self.name = name
        self.page = page
        self.event = event
        self.props = props
    }

    public static func == (a: Goal, b: Goal) -> Bool {
        a.name == b.name && a.page == b.page && a.event == b.event && a.props.map { $0.0 + "=" + $0.1 } == b.props.map { $0.0 + "=" + $0.1 }
    }

    /// `name` is the effective event name (click definitions applied).
    public func matches(name: String, path: String, props: [(String, String)]) -> Bool {
        if let page {
            return name == "pageview" && Wildcard.matches(pattern: page, text: path)
        }
        guard let event, event == name else { return false }
        for (key, value) in self.props where !props.contains(where: { $0.0 == key && $0.1 == value }) { return false }
        return true
    }
}

/// Ordered goals completed within one session, each after the previous.
public struct Funnel: Sendable, Equatable {
    public var name: String
    public var steps: [String]
    /// When set, the whole funnel must be completed within this many minutes of step 1.
    public var windowMinutes: Int?

    public init(name: String, steps: [String], windowMinutes: Int? = nil) {
        self.name = name
        self.steps = steps
        self.windowMinutes = windowMinutes
    }
}

/// Names autocaptured clicks. Matching uses what the snippet recorded: a simple
/// selector (`tag`, `#id`, `.class`, combined like `button#buy.primary`) and/or a link
/// path pattern with `*`.
public struct ClickDefinition: Sendable, Equatable {
    public static let autocaptureName = "$click"
    public var name: String
    public var selector: String?
    public var href: String?

    public init(name: String, selector: String? = nil, href: String? = nil) {
        self.name = name
        self.selector = selector
        self.href = href
    }

    /// The selector, when it is one autocapture can match: tag, `#id` and `.class` parts
    /// (autocapture records no other attributes).
    public static func parse(selector: String) -> SimpleSelector? {
        guard let parsed = SimpleSelector(selector), parsed.attributes.isEmpty else { return nil }
        return parsed
    }

    public func matches(props: [(String, String)]) -> Bool {
        func prop(_ key: String) -> String? { props.first { $0.0 == key }?.1 }
        if let selector {
            guard let parts = Self.parse(selector: selector),
                  parts.matches(tag: prop("tag") ?? "", attribute: { $0 == "class" ? prop("classes") : prop($0) }) else { return false }
        }
        if let href {
            guard let link = prop("href"), Wildcard.matches(pattern: href, text: link) else { return false }
        }
        return selector != nil || href != nil
    }
}

/// `*` wildcards (any run of characters); everything else is literal.
public enum Wildcard {
    public static func matches(pattern: String, text: String) -> Bool {
        // Byte-wise over UTF-8 (a `*` never splits a character's bytes incorrectly because
        // literal bytes must match exactly); no allocation on the hot path.
        if !pattern.utf8.contains(UInt8(ascii: "*")) { return pattern == text }
        return pattern.utf8.withContiguousStorageIfAvailable { p in
            text.utf8.withContiguousStorageIfAvailable { t in match(p, t) }
        }.flatMap { $0 } ?? match(Array(pattern.utf8)[...], Array(text.utf8)[...])
    }

    static func match<P: RandomAccessCollection<UInt8>, T: RandomAccessCollection<UInt8>>(_ p: P, _ t: T) -> Bool where P.Index == Int, T.Index == Int {
        var pi = p.startIndex, ti = t.startIndex, star = -1, mark = 0
        let star8 = UInt8(ascii: "*")
        while ti < t.endIndex {
            if pi < p.endIndex && p[pi] != star8 && p[pi] == t[ti] {
                pi += 1; ti += 1
            } else if pi < p.endIndex && p[pi] == star8 {
                star = pi; mark = ti; pi += 1
            } else if star >= 0 {
                pi = star + 1; mark += 1; ti = mark
            } else {
                return false
            }
        }
        while pi < p.endIndex && p[pi] == star8 { pi += 1 }
        return pi == p.endIndex
    }
}
