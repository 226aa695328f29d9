import Privacy

/// One survey row ready to store: checked, scrubbed, with the visitor hash candidates
/// that attach it to the visit's session.
public struct FeedbackEntry: Sendable, Equatable {
    public var site: String
    public var visitorCandidates: [[UInt8]]
    public var receivedAt: Int64
    public var kind: FeedbackKind
    /// nil: the survey was shown.
    public var score: Int?
    public var comment: String?
    public var path: String
    /// From the request, used when no session is found.
    public var device: String
    public var country: String

    public init(site: String, visitorCandidates: [[UInt8]], receivedAt: Int64, kind: FeedbackKind, score: Int?, comment: String?, path: String, device: String, country: String) {
        self.site = site
        self.visitorCandidates = visitorCandidates
        self.receivedAt = receivedAt
        self.kind = kind
        self.score = score
        self.comment = comment
        self.path = path
        self.device = device
        self.country = country
    }
}

/// What the Feedback tab narrows to. `band` is session-level: visits whose NPS answer was in it.
public struct FeedbackFilter: Sendable, Equatable {
    public var path: String?
    public var device: String?
    public var country: String?
    public var band: NPSBand?

    public init(path: String? = nil, device: String? = nil, country: String? = nil, band: NPSBand? = nil) {
        self.path = path
        self.device = device
        self.country = country
        self.band = band
    }
}

/// One day of NPS answers.
public struct NPSDay: Sendable, Equatable {
    public var day: Int64
    public var promoters = 0
    public var passives = 0
    public var detractors = 0
    public var score: Int? { NPSBand.score(promoters: promoters, passives: passives, detractors: detractors) }
    public var answers: Int { promoters + passives + detractors }
}

/// Sentiment answers on one page: counts of scores 1…5.
public struct SentimentRow: Sendable, Equatable {
    public var path: String
    public var counts: [Int] = [0, 0, 0, 0, 0]
    public var answers: Int { counts.reduce(0, +) }
    /// 1…5, one decimal.
    public var average: Double {
        let n = answers
        guard n > 0 else { return 0 }
        let sum = counts.enumerated().reduce(0) { $0 + ($1.offset + 1) * $1.element }
        return (Double(sum) / Double(n) * 10).rounded() / 10
    }
}

public struct FeedbackComment: Sendable, Equatable {
    public var at: Int64
    public var kind: FeedbackKind
    public var score: Int
    public var comment: String
    public var path: String
    public var device: String
    public var country: String
    public var sessionID: Int64?
    /// The visit's recording, when there is one.
    public var recordingID: Int64?
}

/// Everything the Feedback tab, its API and CSV show for a range.
public struct FeedbackReport: Sendable, Equatable {
    public var days: [NPSDay] = []
    public var npsShown = 0
    public var sentimentShown = 0
    public var sentiment = SentimentRow(path: "")
    public var sentimentPages: [SentimentRow] = []
    public var comments: [FeedbackComment] = []

    public var promoters: Int { days.reduce(0) { $0 + $1.promoters } }
    public var passives: Int { days.reduce(0) { $0 + $1.passives } }
    public var detractors: Int { days.reduce(0) { $0 + $1.detractors } }
    public var npsAnswers: Int { promoters + passives + detractors }
    public var nps: Int? { NPSBand.score(promoters: promoters, passives: passives, detractors: detractors) }
    /// Answers per time the card was shown, in percent (nil when never shown).
    public var npsAnswerRate: Double? { Self.rate(npsAnswers, npsShown) }
    public var sentimentAnswerRate: Double? { Self.rate(sentiment.answers, sentimentShown) }

    static func rate(_ answers: Int, _ shown: Int) -> Double? {
        guard shown > 0 else { return nil }
        return (Double(min(answers, shown)) * 1000 / Double(shown)).rounded() / 10
    }
}
