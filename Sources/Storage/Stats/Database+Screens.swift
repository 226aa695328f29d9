import Foundation
import GRDB
import Privacy

// MARK: - One read per dashboard screen
//
// Each screen asks all its questions inside one read transaction: the numbers on a page
// come from one consistent snapshot (a commit landing between two of its queries cannot
// make the totals disagree with a table), and the page costs one hop to the database.

/// What the overview screen (and `/api/stats/overview`) asks.
public struct OverviewQuery: Sendable {
    public var scope: StatsScope
    /// The period the KPI changes compare with.
    public var previous: StatsScope
    public var granularity: Granularity
    public var dimensions: [StatsDimension]
    public var limit: Int
    /// The live panel's "now", when the range includes today.
    public var realtimeAt: Int64?
    /// Compare with the raw totals of this range instead of the previous period's totals
    /// (Today is compared with yesterday until the same time).
    public var comparisonRange: TimeRange?
    /// A custom event whose properties are broken down, and the key asked for (nil or
    /// unknown: the most common one).
    public var propertyEvent: String?
    public var propertyKey: String?
    /// Facts only the owner sees: when the public link was made, the oldest stored event.
    public var ownerFacts = false

    public init(scope: StatsScope, previous: StatsScope, granularity: Granularity, dimensions: [StatsDimension], limit: Int) {
        self.scope = scope
        self.previous = previous
        self.granularity = granularity
        self.dimensions = dimensions
        self.limit = limit
    }
}

extension OverviewQuery {
    /// The property key to show: the one asked for when the event has it, else the most common.
    func propertyKey(among keys: [String]) -> String? {
        propertyKey.flatMap { keys.contains($0) ? $0 : nil } ?? keys.first
    }
}

public struct OverviewScreen: Sendable {
    public var current: StatsSnapshot
    public var previousTotals: Totals
    public var previousSeries: [SeriesPoint]
    public var realtime: Realtime?
    /// The property keys of `propertyEvent`, most common first; the key shown and its values.
    public var propertyKeys: [String] = []
    public var propertyKey: String?
    public var properties: Breakdown?
    public var shareLinkCreated: Int64?
    public var oldestEvent: Int64?
}

/// One full table, with the totals a goal table's conversion rates need.
public struct BreakdownScreen: Sendable {
    public var breakdown: Breakdown
    public var totals: Totals
}

/// A funnel to compute: its steps, and the window from step 1 (nil: the visit).
public struct FunnelQuery: Sendable {
    public var steps: [Goal]
    public var windowMinutes: Int?

    public init(steps: [Goal], windowMinutes: Int?) {
        self.steps = steps
        self.windowMinutes = windowMinutes
    }
}

public struct JourneysScreen: Sendable, Equatable {
    /// The most viewed pages (the page picker).
    public var pages: Breakdown
    /// The page the journey is about: the one asked for, else the top page ("" when none).
    public var at: String
    public var journey: Journey
}

public struct ReplayListScreen: Sendable {
    public var recordings: [RecordingSummary]
    public var pickedSelectors: [String]
}

public struct ReplayPlayerScreen: Sendable {
    public var recording: RecordingSummary
    public var pages: [RecordingPage]
    public var markers: [ReplayMarker]
}

extension VeilDatabase {
    public func overviewScreen(_ q: OverviewQuery) async throws(StorageError) -> OverviewScreen {
        try await read { db in
            let current = try Self.snapshot(db, q.scope, granularity: q.granularity, dimensions: q.dimensions, limit: q.limit)
            let before = try Self.snapshot(db, q.previous, granularity: q.granularity, dimensions: [], limit: 0)
            var screen = OverviewScreen(current: current, previousTotals: before.totals, previousSeries: before.series)
            if let range = q.comparisonRange { screen.previousTotals = try Self.rawTotals(db, site: q.scope.site, from: range.from, to: range.to) }
            if let now = q.realtimeAt { screen.realtime = try Self.realtime(db, site: q.scope.site, now: now) }
            if let event = q.propertyEvent {
                screen.propertyKeys = try Self.propertyKeys(db, q.scope, event: event)
                screen.propertyKey = q.propertyKey(among: screen.propertyKeys)
                if let key = screen.propertyKey {
                    screen.properties = try Self.propertyBreakdown(db, q.scope, event: event, key: key, limit: 20)
                }
            }
            if q.ownerFacts {
                screen.shareLinkCreated = try Self.shareLinkCreated(db, site: q.scope.site)
                screen.oldestEvent = try Self.firstEventTime(db, site: q.scope.site)
            }
            return screen
        }
    }

    /// A table page; `withTotals` also reads the scope's totals.
    public func breakdownScreen(_ scope: StatsScope, _ dim: StatsDimension, limit: Int, offset: Int, withTotals: Bool) async throws(StorageError) -> BreakdownScreen {
        try await read { db in
            BreakdownScreen(breakdown: try Self.breakdown(db, scope, dim, limit: limit, offset: offset),
                            totals: withTotals ? try Self.totals(db, scope) : Totals())
        }
    }

    /// Every funnel of the page, in order.
    public func funnelsScreen(_ scope: StatsScope, funnels: [FunnelQuery]) async throws(StorageError) -> [[FunnelStep]] {
        try await read { db in try funnels.map { try Self.funnel(db, scope, steps: $0.steps, windowMinutes: $0.windowMinutes) } }
    }

    /// The page picker and the journey through `at` (default: the top page).
    public func journeysScreen(_ scope: StatsScope, at: String?, pages: Int, limit: Int) async throws(StorageError) -> JourneysScreen {
        try await read { db in
            let top = try Self.breakdown(db, scope, .page, limit: pages)
            let page = at ?? top.rows.first?.value ?? ""
            let journey = page.isEmpty ? Journey(previous: [], next: []) : try Self.journey(db, scope, page: page, limit: limit)
            return JourneysScreen(pages: top, at: page, journey: journey)
        }
    }

    public func replayListScreen(site: String, filter: RecordingFilter, rules: AnalyticsRules) async throws(StorageError) -> ReplayListScreen {
        try await read { db in
            ReplayListScreen(recordings: try Self.recordings(db, site: site, filter: filter, rules: rules),
                             pickedSelectors: try Self.pickedSelectors(db, site: site))
        }
    }

    /// A recording of `site` with its pages and its visit's markers; nil when there is none.
    public func replayPlayerScreen(site: String, id: Int64, rules: AnalyticsRules) async throws(StorageError) -> ReplayPlayerScreen? {
        try await read { db in
            guard let recording = try Self.recording(db, site: site, id: id) else { return nil }
            let markers = try recording.sessionID.map { try Self.replayMarkers(db, session: $0, rules: rules) } ?? []
            return ReplayPlayerScreen(recording: recording, pages: try Self.recordingPages(db, id: id), markers: markers)
        }
    }
}
