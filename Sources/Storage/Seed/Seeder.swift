import Foundation
import GRDB
import Privacy

/// Generates a realistic dataset for demos and benchmarks (`veil seed`): Zipf-distributed
/// pages and referrers, diurnal and weekly traffic, sessions of realistic length, custom
/// events, autocaptured clicks and campaign tags. Deterministic for a given seed.
///
/// Rows are written straight into the tables day by day, with rollups computed by the
/// same accumulator the writer uses, so seeded data looks exactly like ingested data.
public struct Seeder: Sendable {
    public struct Options: Sendable {
        public var site: String
        public var events: Int
        public var days: Int
        public var endDay: Int64
        public var seed: UInt64 = 42
        public var persistent = false
        /// Nothing is generated after this instant (the end day is usually today).
        public var nowMillis: Int64 = .max

        public init(site: String, events: Int, days: Int, endDay: Int64) {
            self.site = site
            self.events = events
            self.days = days
            self.endDay = endDay
        }
    }

    let database: VeilDatabase
    /// The site's rules: what the seeded events count as in the rollups.
    let rules: AnalyticsRules

    public init(database: VeilDatabase, rules: AnalyticsRules = AnalyticsRules()) {
        self.database = database
        self.rules = rules
    }

    /// Writes the dataset; `progress` gets the events written so far.
    public func run(_ o: Options, progress: @escaping @Sendable (Int) -> Void) async throws(StorageError) {
        var rng = SplitMix(o.seed)
        let model = TrafficModel()
        // Events per day follow a weekly cycle; a slow growth trend makes charts realistic.
        let firstDay = o.endDay - Int64(o.days) + 1
        let weights = (0..<o.days).map { i -> Double in
            let weekday = ((firstDay + Int64(i)) + 3) % 7 // 0 = Monday
            return (weekday >= 5 ? 0.7 : 1.0) * (0.8 + 0.4 * Double(i) / Double(max(1, o.days)))
        }
        let totalWeight = weights.reduce(0, +)
        var written = 0
        var acc = RollupAccumulator(rules: rules)
        for (i, w) in weights.enumerated() {
            let day = firstDay + Int64(i)
            let target = i == o.days - 1 ? o.events - written : Int((Double(o.events) * w / totalWeight).rounded())
            guard target > 0 else { continue }
            var batch = model.day(day, events: target, site: o.site, persistent: o.persistent, rng: &rng)
            batch.drop(after: o.nowMillis)
            try await write(batch, rules: rules, accumulator: &acc)
            acc.seen.forget(before: day - 1)  // a zone behind UTC still counts the previous local day
            written += batch.events.count
            progress(written)
        }
        try await database.markRollupsCurrent(site: o.site, rules: rules)
    }

    private func write(_ batch: TrafficModel.Day, rules: AnalyticsRules, accumulator: inout RollupAccumulator) async throws(StorageError) {
        var acc = accumulator
        let site = batch.site
        acc = try await VeilDatabase.wrap {
            try await database.pool.write { [acc] db in
                var acc = acc
                let newSession = try db.cachedStatement(sql: """
                    INSERT INTO sessions(site, visitor, started_at, last_seen, entry_path, exit_path, pageviews, events, referrer_host, browser, os, device,
                                         channel, utm_source, utm_medium, utm_campaign, utm_term, utm_content, screen, language, country)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                let insertEvent = try db.cachedStatement(sql: """
                    INSERT INTO events(site, ts, name, host, path, query, referrer_host, referrer_path, props, visitor, session_id, browser, os, device, client_id, user_hash)
                    VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?, ?, ?, ?, ?, ?, NULL, NULL)
                    """)
                var eventIndex = 0
                for s in batch.sessions {
                    var v = s.values
                    for d in StatsDimension.sessionLevel where v[d] == nil { v[d] = "" }
                    try newSession.execute(arguments: [site, Data(s.visitor), s.start, s.end, s.entry, s.exit, s.pageviews, s.eventCount, v[.source]!.isEmpty ? nil : v[.source],
                                                       v[.browser], v[.os], v[.device], v[.channel], v[.utmSource], v[.utmMedium], v[.utmCampaign], v[.utmTerm], v[.utmContent],
                                                       v[.screen], v[.language], v[.country]])
                    let id = db.lastInsertedRowID
                    let facts = SessionFacts(columns: [s.entry, s.exit] + [StatsDimension.source, .channel, .utmSource, .utmMedium, .utmCampaign, .utmTerm, .utmContent,
                                                                           .browser, .os, .device, .screen, .language, .country].map { v[$0] ?? "" },
                                             id: id, startedAt: s.start, lastSeen: s.end, pageviews: s.pageviews)
                    acc.addSession(facts)
                    for _ in 0..<s.eventCount {
                        let e = batch.events[eventIndex]
                        eventIndex += 1
                        let referrer = e.first && !(v[.source] ?? "").isEmpty ? v[.source] : nil
                        try insertEvent.execute(arguments: [site, e.ts, e.name, site, e.path, referrer,
                                                            e.props.isEmpty ? nil : JSONWriter.object(e.props), Data(s.visitor), id, v[.browser], v[.os], v[.device]])
                        acc.addEvent(visitor: s.visitor, ts: e.ts, name: e.name, path: e.path, props: e.props, session: facts) { [] }
                    }
                }
                try VeilDatabase.apply(acc.takeDeltas(), site: site, db: db)
                return acc
            }
        }
        accumulator = acc
    }
}

/// A small deterministic PRNG (SplitMix64), so seeds reproduce exactly.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The shape of the generated traffic.
struct TrafficModel: Sendable {
    struct Session {
        var visitor: [UInt8]
        var start: Int64
        var end: Int64
        var entry: String
        var exit: String
        var pageviews: Int
        var eventCount: Int
        var values: [StatsDimension: String]
    }
    struct Event {
        var ts: Int64
        var name: String
        var path: String
        var props: [(String, String)]
        var first: Bool
    }
    struct Day {
        var site: String
        var sessions: [Session]
        var events: [Event]

        /// Removes sessions that would start in the future (or last into it).
        mutating func drop(after now: Int64) {
            guard sessions.contains(where: { $0.end > now }) else { return }
            var keptSessions: [Session] = [], keptEvents: [Event] = []
            var index = 0
            for s in sessions {
                if s.end <= now { keptSessions.append(s); keptEvents += events[index..<index + s.eventCount] }
                index += s.eventCount
            }
            sessions = keptSessions
            events = keptEvents
        }
    }

    let pages: [String]
    let referrers: [String]
    let pageCDF: [Double]
    let referrerCDF: [Double]

    init() {
        var pages = ["/", "/pricing", "/features", "/docs", "/blog", "/about", "/signup", "/login", "/contact", "/changelog"]
        for i in 1...120 { pages.append("/blog/post-\(i)") }
        for i in 1...70 { pages.append("/docs/page-\(i)") }
        self.pages = pages
        referrers = ["www.google.com", "news.ycombinator.com", "twitter.com", "www.reddit.com", "duckduckgo.com", "www.bing.com", "github.com",
                     "www.linkedin.com", "t.co", "lobste.rs", "dev.to", "medium.com", "www.facebook.com", "stackoverflow.com", "www.ecosia.org",
                     "mastodon.social", "indiehackers.com", "producthunt.com", "substack.com", "mail.google.com"]
        func zipf(_ n: Int, _ s: Double) -> [Double] {
            let w = (1...n).map { 1 / pow(Double($0), s) }
            let total = w.reduce(0, +)
            var acc = 0.0
            return w.map { acc += $0 / total; return acc }
        }
        pageCDF = zipf(pages.count, 1.1)
        referrerCDF = zipf(referrers.count, 1.2)
    }

    static func pick<T>(_ items: [T], cdf: [Double], _ rng: inout SplitMix) -> T {
        let r = Double.random(in: 0..<1, using: &rng)
        var lo = 0, hi = cdf.count - 1
        while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < r { lo = mid + 1 } else { hi = mid } }
        return items[lo]
    }

    static func weighted(_ items: [(String, Double)], _ rng: inout SplitMix) -> String {
        let total = items.reduce(0) { $0 + $1.1 }
        var r = Double.random(in: 0..<total, using: &rng)
        for (v, w) in items { r -= w; if r < 0 { return v } }
        return items.last!.0
    }

    func day(_ day: Int64, events target: Int, site: String, persistent: Bool, rng: inout SplitMix) -> Day {
        var sessions: [Session] = []
        var events: [Event] = []
        let dayStart = DayCalendar.utc.start(ofDay: day)
        // Diurnal curve: quiet at night (UTC), busiest mid-afternoon.
        let hourWeights = (0..<24).map { h in 0.25 + pow(max(0, sin(Double(h - 6) / 24 * 2 * .pi)), 1.5) }
        let hourTotal = hourWeights.reduce(0, +)
        var hourCDF: [Double] = []
        var acc = 0.0
        for w in hourWeights { acc += w / hourTotal; hourCDF.append(acc) }
        let poolSize = max(10, target / 6)
        while events.count < target {
            let hour = Int64(Self.pick(Array(0..<24), cdf: hourCDF, &rng))
            var ts = dayStart + hour * DayCalendar.millisPerHour + Int64.random(in: 0..<DayCalendar.millisPerHour, using: &rng)
            // Returning visitors come from a pool; with persistent identity their ID lasts.
            let who = UInt64.random(in: 0..<UInt64(poolSize), using: &rng)
            var h = SplitMix(who &* 0x9E37_79B9 &+ (persistent ? 0 : UInt64(bitPattern: day)))
            let visitor = (0..<16).map { _ in UInt8(truncatingIfNeeded: h.next()) }
            var values: [StatsDimension: String] = [:]
            let direct = Double.random(in: 0..<1, using: &rng) < 0.42
            let referrer = direct ? "" : Self.pick(referrers, cdf: referrerCDF, &rng)
            let tagged = Double.random(in: 0..<1, using: &rng) < 0.12
            if tagged {
                values[.utmSource] = Self.weighted([("newsletter", 4), ("google", 3), ("twitter", 2), ("partner", 1)], &rng)
                values[.utmMedium] = values[.utmSource] == "newsletter" ? "email" : values[.utmSource] == "google" ? "cpc" : "social"
                values[.utmCampaign] = Self.weighted([("spring-launch", 3), ("black-friday", 2), ("webinar", 1)], &rng)
                values[.utmContent] = Self.weighted([("hero", 1), ("footer", 1)], &rng)
                values[.utmTerm] = values[.utmMedium] == "cpc" ? Self.weighted([("analytics", 2), ("privacy analytics", 1)], &rng) : ""
            }
            values[.source] = referrer
            values[.channel] = Acquisition.channel(referrerHost: referrer.isEmpty ? nil : referrer, utmMedium: values[.utmMedium], utmSource: values[.utmSource]).rawValue
            let device = Self.weighted([("desktop", 55), ("mobile", 40), ("tablet", 5)], &rng)
            values[.device] = device
            values[.browser] = device == "desktop" ? Self.weighted([("Chrome", 60), ("Firefox", 15), ("Safari", 12), ("Edge", 12), ("Opera", 1)], &rng)
                : Self.weighted([("Chrome", 50), ("Safari", 45), ("Samsung Internet", 5)], &rng)
            values[.os] = device == "desktop" ? Self.weighted([("Windows", 55), ("macOS", 30), ("Linux", 15)], &rng) : Self.weighted([("Android", 55), ("iOS", 45)], &rng)
            values[.screen] = device == "desktop" ? Self.weighted([("Desktop", 55), ("Laptop", 45)], &rng) : device == "tablet" ? "Tablet" : "Mobile"
            values[.language] = Self.weighted([("en", 50), ("de", 12), ("fr", 9), ("es", 8), ("ja", 5), ("pt", 5), ("nl", 4), ("it", 4), ("pl", 3)], &rng)
            values[.country] = Self.weighted([("US", 30), ("DE", 11), ("GB", 9), ("FR", 8), ("IN", 7), ("CA", 5), ("NL", 4), ("BR", 4), ("JP", 4), ("ES", 4), ("PL", 3), ("AU", 3), ("SE", 2), ("CH", 2)], &rng)
            // Session length: 45 % bounce, otherwise geometric with a long tail.
            var pageviews = 1
            if Double.random(in: 0..<1, using: &rng) >= 0.45 { while pageviews < 30 && Double.random(in: 0..<1, using: &rng) < 0.7 { pageviews += 1 } }
            var path = Self.pick(pages, cdf: pageCDF, &rng)
            let entry = path
            var count = 0, views = 0
            var first = true
            for i in 0..<pageviews {
                if i > 0 {
                    ts += Int64(Double.random(in: 5_000..<90_000, using: &rng))
                    path = Self.pick(pages, cdf: pageCDF, &rng)
                }
                events.append(Event(ts: ts, name: "pageview", path: path, props: [], first: first))
                first = false
                count += 1; views += 1
                let r = Double.random(in: 0..<1, using: &rng)
                if r < 0.05 {
                    ts += 2_000
                    events.append(Event(ts: ts, name: "signup", path: path, props: [("plan", Self.weighted([("free", 6), ("pro", 3), ("team", 1)], &rng))], first: false)); count += 1
                } else if r < 0.10 {
                    ts += 2_000
                    events.append(Event(ts: ts, name: "download", path: path, props: [("file", Self.weighted([("guide.pdf", 3), ("app.dmg", 2), ("app.exe", 2)], &rng))], first: false)); count += 1
                } else if r < 0.22 {
                    ts += 1_500
                    let target = Self.weighted([("/pricing", 3), ("/signup", 2), ("/docs", 2)], &rng)
                    events.append(Event(ts: ts, name: ClickDefinition.autocaptureName, path: path,
                                        props: [("tag", "a"), ("classes", "btn primary"), ("href", target), ("path", "main > a.btn.primary")], first: false)); count += 1
                }
            }
            let start = events[events.count - count].ts
            sessions.append(Session(visitor: visitor, start: start, end: ts, entry: entry, exit: path, pageviews: views, eventCount: count, values: values))
        }
        return Day(site: site, sessions: sessions, events: events)
    }
}
