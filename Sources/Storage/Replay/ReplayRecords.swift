import Privacy

/// One POSTed chunk of a recording, sanitised and encoded, ready to store.
public struct ReplayChunk: Sendable {
    public var site: String
    public var visitorCandidates: [[UInt8]]
    public var page: String
    public var seq: Int
    public var url: String
    public var receivedAt: Int64
    public var firstTimestamp: Int64
    public var lastTimestamp: Int64
    public var events: Int
    public var rawBytes: Int
    public var encoded: ReplayCodec.Encoded
    public var clicks: Int
    public var rageClicks: Int
    public var width: Int
    public var height: Int
    /// Clicks by element and scroll depth, for heatmaps (page paths already cleaned).
    public var heatmap = HeatmapFacts([], href: "", width: 0)

    public init(site: String, visitorCandidates: [[UInt8]], page: String, seq: Int, url: String, receivedAt: Int64, firstTimestamp: Int64, lastTimestamp: Int64,
                events: Int, rawBytes: Int, encoded: ReplayCodec.Encoded, clicks: Int = 0, rageClicks: Int = 0, width: Int = 0, height: Int = 0) {
        self.site = site
        self.visitorCandidates = visitorCandidates
        self.page = page
        self.seq = seq
        self.url = url
        self.receivedAt = receivedAt
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.events = events
        self.rawBytes = rawBytes
        self.encoded = encoded
        self.clicks = clicks
        self.rageClicks = rageClicks
        self.width = width
        self.height = height
    }
}

public enum ReplayAppendOutcome: Sendable, Equatable {
    /// `bytes`: the compressed chunk plus stylesheets stored for the first time.
    case stored(recording: Int64, bytes: Int)
    /// The same page and chunk number arrived before (a client retry).
    case duplicate(recording: Int64)
    /// The recording reached one of its caps: nothing stored, it stops growing.
    case capped(recording: Int64, cap: ReplayCaps.Cap)
}

/// Per-recording totals a chunk may not push a recording past.
public struct ReplayCaps: Sendable, Equatable {
    public enum Cap: String, Sendable {
        case rawBytes = "raw_bytes", storedBytes = "stored_bytes", events = "events", earlier = "earlier"
    }
    public var rawBytes: Int
    public var storedBytes: Int
    public var events: Int

    public init(rawBytes: Int = IngestLimits().replayRecordingRawBytes, storedBytes: Int = IngestLimits().replayRecordingStoredBytes,
                events: Int = IngestLimits().replayRecordingEvents) {
        self.rawBytes = rawBytes
        self.storedBytes = storedBytes
        self.events = events
    }

    public init(_ limits: IngestLimits) {
        self.init(rawBytes: limits.replayRecordingRawBytes, storedBytes: limits.replayRecordingStoredBytes, events: limits.replayRecordingEvents)
    }
}

public struct RecordingSummary: Sendable, Equatable {
    public var id: Int64
    public var site: String
    public var sessionID: Int64?
    public var startedAt: Int64
    public var lastAt: Int64
    public var pages: Int
    public var events: Int
    public var rawBytes: Int
    public var storedBytes: Int
    public var clicks: Int
    public var rageClicks: Int
    public var entryURL: String
    public var width: Int
    public var height: Int
    /// From the server-side session, when attached.
    public var browser: String = ""
    public var os: String = ""
    public var device: String = ""
    public var country: String = ""
    public var channel: String = ""
    public var entryPath: String = ""
    public var pageviews: Int = 0
    /// When the recording reached its caps and stopped growing.
    public var cappedAt: Int64? = nil

    public var durationMillis: Int64 { max(0, lastAt - startedAt) }
}

public struct RecordingPage: Sendable, Equatable {
    public var url: String
    public var startedAt: Int64
}

/// What the sessions list can be filtered by.
public struct RecordingFilter: Sendable {
    public var from: Int64
    public var to: Int64
    /// A page path the visit viewed (exact, or a `*` pattern).
    public var path: String?
    public var minDurationMillis: Int64 = 0
    public var device: String?
    /// An event name the visit sent.
    public var event: String?
    /// Conversions are computed from goal rules, so they are matched after the query.
    public var goal: String?
    /// With `goal`: visits that reached `goal` but not this one (a funnel drop-off).
    public var withoutGoal: String?
    public var rageClicksOnly = false
    public var sessionID: Int64?
    public var limit = 50
    public var offset = 0

    public init(from: Int64, to: Int64) {
        self.from = from
        self.to = to
    }
}

/// A moment the player marks on its timeline.
public struct ReplayMarker: Sendable, Equatable {
    public enum Kind: String, Sendable { case custom, goal }
    public var timestamp: Int64
    public var kind: Kind
    public var label: String
}
