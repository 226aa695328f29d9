/// A site's surveys (`feedback:` in the config): an NPS question and a sentiment tab.
public struct FeedbackRules: Sendable, Equatable {
    public var nps = NPSSurvey()
    public var sentiment = SentimentTab()

    public init(nps: NPSSurvey = NPSSurvey(), sentiment: SentimentTab = SentimentTab()) {
        self.nps = nps
        self.sentiment = sentiment
    }

    /// Whether the tracker should load the widget at all.
    public var enabled: Bool { nps.enabled || sentiment.enabled }
}

/// Where a floating survey card sits.
public enum FeedbackPosition: String, Sendable, CaseIterable {
    case bottomRight = "bottom-right", bottomLeft = "bottom-left"
}

/// Which edge the sentiment tab hangs on.
public enum FeedbackSide: String, Sendable, CaseIterable {
    case right, left
}

/// "How likely are you to recommend …?" on a 0–10 scale.
public struct NPSSurvey: Sendable, Equatable {
    public var enabled = false
    public var question = "How likely are you to recommend us to a friend or colleague?"
    /// Seconds on a page before the card appears.
    public var delaySeconds = 30
    /// Or: after this many pageviews in the page load's lifetime (SPA navigations count); 0 = not used.
    public var afterPageviews = 0
    /// Share of page loads (cookieless) or of people (persistent) asked.
    public var sampleRate = 0.1
    /// Asked after the score; nil: no comment box.
    public var followUp: String? = "What is the main reason for your score?"
    public var position = FeedbackPosition.bottomRight
    /// `#rgb` or `#rrggbb`.
    public var accent = "#2563eb"
    /// Persistent sites: days before someone who was asked is asked again.
    public var askAgainDays = 90

    public init() {}
}

/// A small side tab: "How do you feel about this page?" with five faces.
public struct SentimentTab: Sendable, Equatable {
    public var enabled = false
    public var prompt = "How do you feel about this page?"
    public var side = FeedbackSide.right
    /// Path patterns (`*` matches any run of characters); empty: every page.
    public var pages: [String] = []

    public init() {}

    /// Paths longer than this never match a pattern (the path comes from the visitor's browser).
    public static let maxPathBytes = 1024

    /// Whether the tab shows on `path`.
    public func shows(on path: String) -> Bool {
        guard !pages.isEmpty else { return true }
        guard path.utf8.count <= Self.maxPathBytes else { return false }
        return pages.contains { FeedbackPattern.matches($0, path) }
    }
}

/// `*` patterns over paths: each segment is found left to right, so the work is bounded by
/// path length times pattern length; patterns come from the config (at most 100 of 256
/// bytes) and paths are cut off at `SentimentTab.maxPathBytes`.
public enum FeedbackPattern {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map { Array($0.utf8) }
        let t = Array(text.utf8)
        guard parts.count > 1 else { return parts[0] == t }
        guard t.count >= parts[0].count, t[0..<parts[0].count].elementsEqual(parts[0]) else { return false }
        var at = parts[0].count
        let last = parts[parts.count - 1]
        let end = t.count - last.count
        guard end >= at, t[end...].elementsEqual(last) else { return false }
        for part in parts[1..<(parts.count - 1)] where !part.isEmpty {
            guard let found = find(part, in: t, from: at, before: end) else { return false }
            at = found + part.count
        }
        return true
    }

    private static func find(_ needle: [UInt8], in hay: [UInt8], from: Int, before end: Int) -> Int? {
        guard end - from >= needle.count else { return nil }
        var i = from
        while i + needle.count <= end {
            if hay[i] == needle[0], hay[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}
