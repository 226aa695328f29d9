import Foundation
import GRDB
import Testing
@testable import Privacy
@testable import Storage
@testable import Web

/// Query correctness on a small hand-built dataset whose answers are worked out by hand
/// in the comments, through the real writer (rollups maintained at insert).
@Suite("Analytics queries on a known dataset")
struct AnalyticsTests {
    static let site = "shop.example"
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day = TestData.midnight / TestData.day // D = 2026-11-20
    static let rules = AnalyticsRules(
        goals: [Goal(name: "Signup", event: "signup"), Goal(name: "Pro signup", event: "signup", props: [("plan", "pro")]), Goal(name: "Pricing", page: "/pricing*")],
        funnels: [Funnel(name: "Buy", steps: ["Pricing", "Signup"])],
        clickEvents: [ClickDefinition(name: "Buy click", selector: "button#buy")])

    static func ev(_ ts: Int64, _ visitor: UInt8, _ path: String, name: String = "pageview", props: [(String, String)] = [],
                   referrer: String? = nil, channel: Acquisition.Channel = .direct, utm: (String, String)? = nil,
                   device: String = "desktop", country: String = "DE") -> CleanEvent {
        var e = CleanEvent(site: site, timestamp: ts, name: name, host: site, path: path, referrerHost: referrer, props: props,
                           visitorCandidates: [Array(repeating: visitor, count: 16)], browser: device == "mobile" ? "Safari" : "Chrome",
                           os: device == "mobile" ? "iOS" : "Linux", device: device)
        e.visit.channel = channel.rawValue
        if let utm { e.visit.utmSource = utm.0; e.visit.utmMedium = utm.1 }
        e.visit.country = country
        e.visit.screen = device == "mobile" ? "Mobile" : "Laptop"
        e.visit.language = "en"
        return e
    }

    /// V1 crosses midnight (session started on D-1); V2 arrives from a newsletter on a
    /// phone and clicks the buy button; V3 bounces once, then comes back and signs up.
    static let dataset: [CleanEvent] = {
        let m = TestData.midnight
        return [
            ev(m - 10 * minute, 1, "/", referrer: "www.google.com", channel: .search),
            ev(m + 5 * minute, 1, "/pricing", referrer: nil, channel: .search),
            ev(m + 6 * minute, 1, "/pricing", name: "signup", props: [("plan", "pro")]),
            ev(m + 10 * hour, 2, "/pricing", channel: .email, utm: ("newsletter", "email"), device: "mobile", country: "FR"),
            ev(m + 10 * hour + minute, 2, "/pricing", name: "$click", props: [("tag", "button"), ("id", "buy"), ("classes", "btn")]),
            ev(m + 10 * hour + 2 * minute, 2, "/checkout"),
            ev(m + 11 * hour, 3, "/"),
            ev(m + 15 * hour, 3, "/blog"),
            ev(m + 15 * hour + minute, 3, "/pricing"),
            ev(m + 15 * hour + 3 * minute, 3, "/pricing", name: "signup", props: [("plan", "free")]),
        ]
    }()

    static func database(_ dir: TempDir, batches: Bool = true) async throws -> VeilDatabase {
        let db = try VeilDatabase.open(folder: dir.path)
        if batches {
            for e in dataset { _ = try await db.insert([e], sessionTimeoutMillis: 30 * minute, rules: [site: rules]) }
        } else {
            _ = try await db.insert(dataset, sessionTimeoutMillis: 30 * minute, rules: [site: rules])
        }
        return db
    }

    static func scope(_ filters: [StatsFilter] = [], from: Int64 = day, to: Int64 = day + 1) -> StatsScope {
        StatsScope(site: site, fromDay: from, toDay: to, filters: filters, rules: rules)
    }

    static func rows(_ b: Breakdown) -> [String: (Int, Int)] {
        Dictionary(uniqueKeysWithValues: b.rows.map { ($0.value, ($0.visitors, $0.hits)) })
    }

    @Test(arguments: [true, false]) func totalsAndBreakdowns(oneEventPerBatch: Bool) async throws {
        let dir = TempDir()
        let db = try await Self.database(dir, batches: oneEventPerBatch)
        let t = try await db.totals(Self.scope())
        #expect(t.visitors == 3)          // V1, V2, V3 on day D
        #expect(t.pageviews == 6)         // V1 1, V2 2, V3 3
        #expect(t.customEvents == 3)      // two signups, one click
        #expect(t.sessions == 3)          // V1's session started on D-1
        #expect(t.bounces == 1)           // V3's first visit
        #expect(t.durationMillis == 2 * Self.minute + 3 * Self.minute)
        let pages = try await db.breakdown(Self.scope(), .page, limit: 10)
        #expect(pages.rows.map(\.value) == ["/pricing", "/", "/blog", "/checkout"])
        #expect(pages.rows[0].visitors == 3 && pages.rows[0].pageviews == 3)
        #expect(Self.rows(try await db.breakdown(Self.scope(), .entry, limit: 10))["/"]! == (2, 3))    // V1 (2 events) and V3 (1), entry "/"
        let entry = try await db.breakdown(Self.scope(), .entry, limit: 10)
        #expect(entry.rows.first { $0.value == "/" }?.sessions == 1) // only V3's first visit started on D
        let exit = try await db.breakdown(Self.scope(), .exit, limit: 10)
        #expect(Dictionary(uniqueKeysWithValues: exit.rows.map { ($0.value, $0.sessions) }) == ["/checkout": 1, "/": 1, "/pricing": 1])
        let channels = try await db.breakdown(Self.scope(), .channel, limit: 10)
        #expect(Dictionary(uniqueKeysWithValues: channels.rows.map { ($0.value, [$0.visitors, $0.sessions]) })
                == ["Direct": [1, 2], "E-mail": [1, 1], "Organic search": [1, 0]])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .source, limit: 10)).mapValues(\.0) == ["www.google.com": 1, "": 2])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .utmSource, limit: 10)).mapValues(\.0) == ["newsletter": 1, "": 2])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .country, limit: 10)).mapValues(\.0) == ["DE": 2, "FR": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .device, limit: 10)).mapValues(\.0) == ["desktop": 2, "mobile": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .browser, limit: 10)).mapValues(\.0) == ["Chrome": 2, "Safari": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .os, limit: 10)).mapValues(\.0) == ["Linux": 2, "iOS": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .screen, limit: 10)).mapValues(\.0) == ["Laptop": 2, "Mobile": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .language, limit: 10)).mapValues(\.0) == ["en": 3])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .utmMedium, limit: 10)).mapValues(\.0) == ["email": 1, "": 2])
        for dim in [StatsDimension.utmCampaign, .utmTerm, .utmContent] {
            #expect(Self.rows(try await db.breakdown(Self.scope(), dim, limit: 10)).mapValues(\.0) == ["": 3])
        }
        // The click counts under its definition's name, retroactively.
        #expect(Self.rows(try await db.breakdown(Self.scope(), .event, limit: 10)).mapValues(\.0) == ["signup": 2, "Buy click": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .goal, limit: 10)).mapValues(\.0) == ["Pricing": 3, "Signup": 2, "Pro signup": 1])
        // Two days: visitors are distinct per day and summed (V1 counts on both days).
        let two = try await db.totals(Self.scope(from: Self.day - 1))
        #expect(two.visitors == 4 && two.sessions == 4 && two.pageviews == 7)
        // A value with a zero cell on one of the days still counts its other days (V1's exit
        // moved from "/" to "/pricing" on D-1; V3's first visit left from "/" on D).
        let twoExits = try await db.breakdown(Self.scope(from: Self.day - 1), .exit, limit: 10)
        #expect(Dictionary(uniqueKeysWithValues: twoExits.rows.map { ($0.value, $0.sessions) }) == ["/pricing": 2, "/": 1, "/checkout": 1] && twoExits.total == 3)
        // Raw totals (the Today comparison) agree with the rollups over a whole day, and cut a day anywhere.
        let raw = try await db.rawTotals(site: Self.site, from: TestData.midnight, to: TestData.midnight + TestData.day)
        #expect(raw.visitors == t.visitors && raw.pageviews == t.pageviews && raw.sessions == t.sessions && raw.bounces == t.bounces && raw.durationMillis == t.durationMillis)
        let morning = try await db.rawTotals(site: Self.site, from: TestData.midnight, to: TestData.midnight + 10 * Self.hour + 30 * Self.minute)
        #expect(morning.visitors == 2 && morning.pageviews == 3 && morning.sessions == 1)
        // "Show more": pagination and the total count.
        let page2 = try await db.breakdown(Self.scope(), .page, limit: 2, offset: 2)
        #expect(page2.rows.map(\.value) == ["/blog", "/checkout"] && page2.total == 4)
    }

    @Test func filtersCombine() async throws {
        let dir = TempDir()
        let db = try await Self.database(dir)
        let direct = Self.scope([StatsFilter(.channel, "Direct")])
        let t = try await db.totals(direct)
        #expect(t.visitors == 1 && t.pageviews == 3 && t.sessions == 2 && t.bounces == 1)
        #expect(try await db.breakdown(direct, .page, limit: 10).rows.map(\.value) == ["/", "/blog", "/pricing"])
        let both = Self.scope([StatsFilter(.channel, "Direct"), StatsFilter(.page, "/pricing")])
        let tb = try await db.totals(both)
        #expect(tb.visitors == 1 && tb.pageviews == 1 && tb.customEvents == 1) // V3's /pricing view and signup on /pricing
        let goal = Self.scope([StatsFilter(.goal, "Signup")])
        let tg = try await db.totals(goal)
        #expect(tg.visitors == 2 && tg.pageviews == 0 && tg.customEvents == 2)
        #expect(Self.rows(try await db.breakdown(goal, .channel, limit: 10)).mapValues(\.0) == ["Organic search": 1, "Direct": 1])
        let click = Self.scope([StatsFilter(.event, "Buy click")])
        #expect(try await db.totals(click).visitors == 1)
        #expect(try await db.totals(Self.scope([StatsFilter(.source, "")])).visitors == 2) // "none" is a value
        #expect(try await db.totals(Self.scope([StatsFilter(.goal, "No such goal")])).hits == 0)
        // One filter of every kind, each with its hand-counted visitors and pageviews on day D.
        let expected: [(StatsFilter, Int, Int)] = [
            (StatsFilter(.entry, "/"), 2, 2), (StatsFilter(.exit, "/checkout"), 1, 2), (StatsFilter(.country, "FR"), 1, 2),
            (StatsFilter(.device, "mobile"), 1, 2), (StatsFilter(.browser, "Chrome"), 2, 4), (StatsFilter(.os, "iOS"), 1, 2),
            (StatsFilter(.screen, "Laptop"), 2, 4), (StatsFilter(.language, "en"), 3, 6), (StatsFilter(.utmSource, "newsletter"), 1, 2),
            (StatsFilter(.utmMedium, "email"), 1, 2), (StatsFilter(.utmCampaign, ""), 3, 6), (StatsFilter(.source, "www.google.com"), 1, 1),
            (StatsFilter(.page, "/checkout"), 1, 1), (StatsFilter(.event, "signup"), 2, 0), (StatsFilter(.goal, "Pricing"), 3, 3),
            (StatsFilter(.utmTerm, "none-such"), 0, 0), (StatsFilter(.utmContent, ""), 3, 6),
        ]
        for (filter, visitors, pageviews) in expected {
            let t = try await db.totals(Self.scope([filter]))
            #expect(t.visitors == visitors && t.pageviews == pageviews, "\(filter.dimension.rawValue)=\(filter.value): \(t.visitors) visitors, \(t.pageviews) pageviews")
        }
        // A filtered snapshot agrees with its parts.
        let snap = try await db.snapshot(direct, granularity: .hour, dimensions: [.page], limit: 10)
        #expect(snap.totals == t && snap.series.count == 24 && snap.series.map(\.pageviews).reduce(0, +) == 3)
        #expect(snap.series[11].visitors == 1 && snap.series[15].pageviews == 2)
    }

    @Test func seriesGranularities() async throws {
        let dir = TempDir()
        let db = try await Self.database(dir)
        let hourly = try await db.series(Self.scope(), granularity: .hour)
        #expect(hourly.count == 24 && hourly[0].pageviews == 1 && hourly[10].pageviews == 2 && hourly[15].visitors == 1)
        let daily = try await db.series(Self.scope(from: Self.day - 6), granularity: .day)
        #expect(daily.count == 7 && daily[5].pageviews == 1 && daily[6].pageviews == 6 && daily[6].visitors == 3)
        let weekly = try await db.series(Self.scope(from: Self.day - 13), granularity: .week)
        // 2026-11-20 is a Friday: its week started on Monday 2026-11-16.
        #expect(weekly.last?.start == (Self.day - 4) * TestData.day && weekly.last?.pageviews == 7)
        let monthly = try await db.series(Self.scope(from: Self.day - 40), granularity: .month)
        #expect(monthly.map { DayCalendar.dateString($0.start / TestData.day) } == ["2026-10-01", "2026-11-01"])
    }

    @Test func propertiesFunnelsJourneysRealtime() async throws {
        let dir = TempDir()
        let db = try await Self.database(dir)
        #expect(try await db.propertyKeys(Self.scope(), event: "signup") == ["plan"])
        #expect(Self.rows(try await db.propertyBreakdown(Self.scope(), event: "signup", key: "plan", limit: 10)).mapValues(\.0) == ["pro": 1, "free": 1])
        let goals = Self.rules.funnels[0].steps.compactMap { Self.rules.goal(named: $0) }
        let funnel = try await db.funnel(Self.scope(), steps: goals, windowMinutes: nil)
        #expect(funnel.map(\.sessions) == [3, 2] && funnel.map(\.visitors) == [3, 2])
        // Within one minute, V3 (signup two minutes after /pricing) drops out.
        #expect(try await db.funnel(Self.scope(), steps: goals, windowMinutes: 1).map(\.visitors) == [3, 1])
        // An ad-hoc funnel from the dashboard's syntax.
        let adhoc = try SitePagesController.adhocSteps("page:/blog | page:/pricing | event:signup", rules: Self.rules)
        #expect(try await db.funnel(Self.scope(), steps: adhoc, windowMinutes: nil).map(\.visitors) == [1, 1, 1])
        let journey = try await db.journey(Self.scope(), page: "/pricing", limit: 10)
        #expect(journey.previous.map(\.value) == ["/blog"] && journey.next.map(\.value) == ["/checkout"])
        // Across midnight, V1's "/" (on D-1) precedes /pricing.
        let wide = try await db.journey(Self.scope(from: Self.day - 1), page: "/pricing", limit: 10)
        #expect(Set(wide.previous.map(\.value)) == ["/", "/blog"])
        let live = try await db.realtime(site: Self.site, now: TestData.midnight + 15 * Self.hour + 4 * Self.minute)
        #expect(live.visitors == 1 && live.pages.map(\.value) == ["/pricing"])
    }

    @Test func cohortsCountReturningVisitors() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let week = 7 * TestData.day
        // Visitor 1: weeks 0 and 1; visitor 2: week 0 only; visitor 3: first seen week 1.
        _ = try await db.insert([TestData.clean(at: TestData.midnight - week, visitor: 1), TestData.clean(at: TestData.midnight - week, visitor: 2),
                                 TestData.clean(at: TestData.midnight, visitor: 1), TestData.clean(at: TestData.midnight, visitor: 3)],
                                sessionTimeoutMillis: 1_800_000)
        let cohorts = try await db.cohorts(site: "example.com", fromDay: Self.day - 10, toDay: Self.day + 1, calendar: .utc)
        #expect(cohorts.map(\.size) == [2, 1])
        #expect(cohorts[0].active == [2, 1] && cohorts[1].active == [1])
    }

    /// What the rollups hold, and what the raw rows say, must agree after any mix of
    /// ingest, erasure and retention (a seeded property test).
    @Test(arguments: [1, 2, 3]) func rollupsEqualRawRecomputation(seed: UInt64) async throws {
        try await Self.rollupsEqualRawRecomputation(seed: seed, rules: Self.rules, start: TestData.midnight - 2 * TestData.day)
    }

    /// The same in site time zones, over days of 23 and 25 hours (clock changes in Berlin
    /// and New York) and in half- and three-quarter-hour zones, with visits that cross
    /// local midnight.
    @Test(arguments: [("Europe/Berlin", 2026, 10, 24), ("Europe/Berlin", 2026, 3, 28), ("America/New_York", 2026, 3, 7),
                      ("America/New_York", 2026, 10, 31), ("Asia/Kolkata", 2026, 12, 1), ("Asia/Kathmandu", 2026, 12, 1)])
    func rollupsEqualRawRecomputationInTimeZones(zone: String, year: Int, month: Int, day: Int) async throws {
        var rules = Self.rules
        rules.calendar = try #require(DayCalendar(identifier: zone), "\(zone) is missing from the zone database (tzdata)")
        // From 20:00 local the day before, so the first visits cross local midnight.
        let start = rules.calendar.start(ofDay: DayCalendar.day(year: year, month: month, day: day)) - 4 * Self.hour
        try await Self.rollupsEqualRawRecomputation(seed: 7, rules: rules, start: start)
    }

    /// A late event from before a visit's first one (an offline queue, a retried beacon)
    /// starts the visit earlier: on the day before, the visit moves there whole (sessions,
    /// bounces, duration), and the rollups still equal a recomputation.
    @Test func aLateEventBeforeAVisitStartsItEarlier() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let midnight = Self.rules.calendar.start(ofDay: Self.day + 1)
        _ = try await db.insert([Self.ev(midnight + 10 * Self.minute, 7, "/pricing")], sessionTimeoutMillis: 30 * Self.minute, rules: [Self.site: Self.rules])
        _ = try await db.insert([Self.ev(midnight + 12 * Self.minute, 7, "/blog")], sessionTimeoutMillis: 30 * Self.minute, rules: [Self.site: Self.rules])
        _ = try await db.insert([Self.ev(midnight - 10 * Self.minute, 7, "/")], sessionTimeoutMillis: 30 * Self.minute, rules: [Self.site: Self.rules])
        let sessions = try await db.sessions(site: Self.site)
        #expect(sessions.count == 1 && sessions.first?.startedAt == midnight - 10 * Self.minute)
        let before = try await db.totals(Self.scope(from: Self.day, to: Self.day + 1))
        #expect(before.sessions == 1 && before.durationMillis == 22 * Self.minute)
        #expect(try await db.totals(Self.scope(from: Self.day + 1, to: Self.day + 2)).sessions == 0)
        try await Self.assertConsistent(db, site: Self.site, days: Self.day...(Self.day + 1))
        // The same within a day: the start moves, the duration grows.
        _ = try await db.insert([Self.ev(midnight - 25 * Self.minute, 7, "/docs")], sessionTimeoutMillis: 30 * Self.minute, rules: [Self.site: Self.rules])
        #expect(try await db.totals(Self.scope(from: Self.day, to: Self.day + 1)).durationMillis == 37 * Self.minute)
        try await Self.assertConsistent(db, site: Self.site, days: Self.day...(Self.day + 1))
    }

    /// An SDK event that happened days ago (a queued client's, issue 13) joins the visit its
    /// time belongs to, not the visitor's visit of today; the rollups of both days stay exact.
    @Test func anEventFromDaysAgoDoesNotJoinTodaysVisit() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let today = Self.rules.calendar.start(ofDay: Self.day + 3) + 12 * 60 * Self.minute
        let rules = [Self.site: Self.rules]
        _ = try await db.insert([Self.ev(today, 7, "/now")], sessionTimeoutMillis: 30 * Self.minute, rules: rules)
        _ = try await db.insert([Self.ev(today - 3 * 86_400_000, 7, "/then"), Self.ev(today - 3 * 86_400_000 + 5 * Self.minute, 7, "/then2")],
                                sessionTimeoutMillis: 30 * Self.minute, rules: rules)
        _ = try await db.insert([Self.ev(today + 5 * Self.minute, 7, "/later")], sessionTimeoutMillis: 30 * Self.minute, rules: rules)
        let sessions = try await db.sessions(site: Self.site).sorted { $0.startedAt < $1.startedAt }
        #expect(sessions.map(\.startedAt) == [today - 3 * 86_400_000, today])
        #expect(sessions.map(\.pageviews) == [2, 2] && sessions.map(\.exitPath) == ["/then2", "/later"])
        try await Self.assertConsistent(db, site: Self.site, days: Self.day...(Self.day + 3))
    }

    static func rollupsEqualRawRecomputation(seed: UInt64, rules: AnalyticsRules, start: Int64) async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        var rng = SplitMix(seed)
        let (batches, clock) = randomBatches(rng: &rng, start: start)
        for batch in batches { _ = try await db.insert(batch, sessionTimeoutMillis: 30 * Self.minute, rules: [Self.site: rules]) }
        let lastDay = rules.calendar.day(of: clock)
        try await Self.assertConsistent(db, site: Self.site, rules: rules, days: (rules.calendar.day(of: start) - 1)...lastDay)
        // Erase two visitors (all their sessions and events), then purge a day and a half.
        let sessions = try await db.sessions(site: Self.site)
        for victim in sessions.shuffled(using: &rng).prefix(2) { _ = try await db.erase(site: Self.site, subject: .session(victim.id), rules: rules) }
        try await Self.assertConsistent(db, site: Self.site, rules: rules, days: (rules.calendar.day(of: start) - 1)...lastDay)
        _ = try await db.purgeExpired(site: Self.site, cutoff: start + TestData.day + 12 * Self.hour, rules: rules, batchSize: 5)
        try await Self.assertConsistent(db, site: Self.site, rules: rules, days: rules.calendar.day(of: start + TestData.day + 12 * Self.hour)...lastDay)
    }

    /// 40 batches of 1–12 events of 8 visitors (pageviews, signups, clicks) from `start`,
    /// and the last event's time. Also the ClickHouse comparison's dataset.
    static func randomBatches(rng: inout SplitMix, start: Int64) -> ([[CleanEvent]], Int64) {
        let paths = ["/", "/pricing", "/blog", "/docs", "/pricing/team"]
        var clock = start
        var batches: [[CleanEvent]] = []
        for _ in 0..<40 {
            var batch: [CleanEvent] = []
            for _ in 0..<Int.random(in: 1...12, using: &rng) {
                clock += Int64.random(in: 0...(40 * Self.minute), using: &rng)
                let visitor = UInt8.random(in: 1...8, using: &rng)
                let kind = Int.random(in: 0..<10, using: &rng)
                let channel = Acquisition.Channel.allCases.randomElement(using: &rng)!
                let path = paths.randomElement(using: &rng)!
                switch kind {
                case 0..<6: batch.append(Self.ev(clock, visitor, path, channel: channel, country: ["DE", "FR", ""].randomElement(using: &rng)!))
                case 6, 7: batch.append(Self.ev(clock, visitor, path, name: "signup", props: [("plan", ["pro", "free"].randomElement(using: &rng)!)], channel: channel))
                default: batch.append(Self.ev(clock, visitor, path, name: "$click", props: [("tag", "button"), ("id", ["buy", "other"].randomElement(using: &rng)!)]))
                }
            }
            batches.append(batch)
        }
        return (batches, clock)
    }

    static func assertConsistent(_ db: VeilDatabase, site: String, rules: AnalyticsRules = Self.rules, days: ClosedRange<Int64>, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await db.rollupRows(site: site)
        // 1. A rebuild from raw rows gives the very same cells as incremental maintenance.
        try await db.rebuildRollups(site: site, days: Array(days), rules: rules)
        let rebuilt = try await db.rollupRows(site: site)
        let diff = Set(stored.map(\.description)).symmetricDifference(rebuilt.map(\.description)).sorted()
        #expect(diff.isEmpty, "incremental rollups differ from a rebuild in \(diff.count) cells, e.g. \(diff.prefix(6))", sourceLocation: sourceLocation)
        // 2. Independent SQL over the raw tables agrees, day by day.
        let pool = try DatabaseQueue(path: db.path)
        defer { try? pool.close() }
        for day in days {
            let from = rules.calendar.start(ofDay: day), to = rules.calendar.start(ofDay: day + 1)
            let raw = try pool.read { d in
                (try Int.fetchOne(d, sql: "SELECT count(DISTINCT visitor) FROM events WHERE site = ? AND ts >= ? AND ts < ?", arguments: [site, from, to])!,
                 try Int.fetchOne(d, sql: "SELECT count(*) FROM events WHERE site = ? AND ts >= ? AND ts < ? AND name = 'pageview'", arguments: [site, from, to])!,
                 try Row.fetchOne(d, sql: "SELECT count(*), coalesce(sum(pageviews <= 1), 0), coalesce(sum(last_seen - started_at), 0) FROM sessions WHERE site = ? AND started_at >= ? AND started_at < ?",
                                  arguments: [site, from, to])!,
                 try Row.fetchAll(d, sql: "SELECT path, count(DISTINCT visitor), count(*) FROM events WHERE site = ? AND ts >= ? AND ts < ? AND name = 'pageview' GROUP BY path",
                                  arguments: [site, from, to]),
                 try Row.fetchAll(d, sql: "SELECT exit_path, count(*) FROM sessions WHERE site = ? AND started_at >= ? AND started_at < ? GROUP BY exit_path",
                                  arguments: [site, from, to]))
            }
            let scope = StatsScope(site: site, fromDay: day, toDay: day + 1, rules: rules)
            let t = try await db.totals(scope)
            #expect(t.visitors == raw.0 && t.pageviews == raw.1, "day \(day) totals", sourceLocation: sourceLocation)
            // The day's hours (23 or 25 on a clock change) hold all its pageviews.
            let hourly = try await db.series(scope, granularity: .hour)
            #expect(hourly.count == 24 && hourly.reduce(0) { $0 + $1.pageviews } == raw.1, "day \(day) hours", sourceLocation: sourceLocation)
            #expect(t.sessions == raw.2[0] && t.bounces == raw.2[1] && t.durationMillis == raw.2[2], "day \(day) sessions", sourceLocation: sourceLocation)
            let pages = try await db.breakdown(scope, .page, limit: 100)
            #expect(Set(pages.rows.map { "\($0.value)|\($0.visitors)|\($0.pageviews)" }) == Set(raw.3.map { "\($0[0] as String)|\($0[1] as Int)|\($0[2] as Int)" }),
                    "day \(day) pages", sourceLocation: sourceLocation)
            let exits = try await db.breakdown(scope, .exit, limit: 100)
            #expect(Set(exits.rows.map { "\($0.value)|\($0.sessions)" }) == Set(raw.4.map { "\($0[0] as String)|\($0[1] as Int)" }), "day \(day) exits", sourceLocation: sourceLocation)
            // 3. The filtered (raw scan) path with no filter agrees with the rollups for every table.
            let scanned = try await db.filteredCells(scope)
            for dim in StatsDimension.allCases {
                let fromRollups = try await db.breakdown(scope, dim, limit: 1000)
                let fromScan = scanned.breakdown(dim, fromDay: day, toDay: day + 1, limit: 1000, offset: 0)
                #expect(fromRollups == fromScan, "day \(day) \(dim.rawValue)", sourceLocation: sourceLocation)
            }
        }
    }

    /// Changing a site's zone recomputes its rollups, as a change of goals does: an
    /// evening visit in New York moves to the previous day.
    @Test func changedTimeZoneIsAppliedRetroactively() async throws {
        let dir = TempDir()
        let evening = TestData.midnight + 2 * Self.hour  // 02:00 UTC = 21:00 the day before in New York
        do {
            let db = try VeilDatabase.open(folder: dir.path)
            try await RollupService(database: db, rules: [Self.site: AnalyticsRules()], logger: TestData.logger()).catchUp()
            _ = try await db.insert([Self.ev(evening, 1, "/")], sessionTimeoutMillis: 30 * Self.minute)
            #expect(try await db.totals(StatsScope(site: Self.site, fromDay: Self.day, toDay: Self.day + 1)).pageviews == 1)
        }
        var zoned = AnalyticsRules()
        zoned.calendar = try #require(DayCalendar(identifier: "America/New_York"))
        let db = try VeilDatabase.open(folder: dir.path)
        #expect(try await RollupService(database: db, rules: [Self.site: zoned], logger: TestData.logger()).catchUp() == [Self.site])
        #expect(try await db.totals(StatsScope(site: Self.site, fromDay: Self.day, toDay: Self.day + 1, rules: zoned)).pageviews == 0)
        let before = StatsScope(site: Self.site, fromDay: Self.day - 1, toDay: Self.day, rules: zoned)
        #expect(try await db.totals(before).pageviews == 1)
        #expect(try await db.series(before, granularity: .hour).first { $0.pageviews == 1 }.map { zoned.calendar.dateTime($0.start) } == DayCalendar.dateString(Self.day - 1) + " 21:00")
        #expect(try await RollupService(database: db, rules: [Self.site: zoned], logger: TestData.logger()).catchUp().isEmpty)
    }

    @Test func changedGoalsAreAppliedRetroactively() async throws {
        let dir = TempDir()
        do {
            let db = try VeilDatabase.open(folder: dir.path)
            try await RollupService(database: db, rules: [Self.site: AnalyticsRules()], logger: TestData.logger()).catchUp()
            for e in Self.dataset { _ = try await db.insert([e], sessionTimeoutMillis: 30 * Self.minute) }
            let plain = StatsScope(site: Self.site, fromDay: Self.day, toDay: Self.day + 1)
            #expect(try await db.breakdown(plain, .goal, limit: 10).rows.isEmpty)
            #expect(try await db.breakdown(plain, .event, limit: 10).rows.contains { $0.value == "$click" })
        }
        let db = try VeilDatabase.open(folder: dir.path)
        let rebuilt = try await RollupService(database: db, rules: [Self.site: Self.rules], logger: TestData.logger()).catchUp()
        #expect(rebuilt == [Self.site])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .goal, limit: 10)).mapValues(\.0) == ["Pricing": 3, "Signup": 2, "Pro signup": 1])
        #expect(Self.rows(try await db.breakdown(Self.scope(), .event, limit: 10)).keys.contains("Buy click"))
        #expect(try await RollupService(database: db, rules: [Self.site: Self.rules], logger: TestData.logger()).catchUp().isEmpty)
    }
}
