import Foundation

/// What a survey is.
public enum FeedbackKind: String, Sendable, CaseIterable {
    /// 0–10, "how likely are you to recommend".
    case nps
    /// 1–5, from very unhappy to very happy.
    case sentiment

    public var scores: ClosedRange<Int> { self == .nps ? 0...10 : 1...5 }
}

/// One `POST /api/feedback` body, checked: `{site, kind, page, score?, comment?, vid?}`.
/// Without a score it records that the survey was shown (the denominator of the answer
/// rate); with one it is an answer.
public struct FeedbackSubmission: Sendable, Equatable {
    public var site: String
    public var kind: FeedbackKind
    /// The page URL the survey was on (cleaned and scrubbed like an event's URL).
    public var page: String
    public var score: Int?
    /// Raw comment text; scrubbed before it is stored.
    public var comment: String?
    /// Persistent identity: the tracker's visitor ID, as on events.
    public var visitorID: String?

    public init(site: String, kind: FeedbackKind, page: String, score: Int? = nil, comment: String? = nil, visitorID: String? = nil) {
        self.site = site
        self.kind = kind
        self.page = page
        self.score = score
        self.comment = comment
        self.visitorID = visitorID
    }

    /// Checks a parsed body; every failure names its field. `commentCharacters` bounds the comment.
    public static func check(_ root: JSONValue, commentCharacters: Int) -> Result<FeedbackSubmission, IngestRejection> {
        guard case .object = root else { return .failure(IngestRejection(.invalidJSON, "expected a JSON object {site, kind, page, score, comment}")) }
        guard let site = root["site"]?.stringValue, !site.isEmpty, site.utf8.count <= 253 else {
            return .failure(IngestRejection(.missingField, "site is required (the data-site of the tag)"))
        }
        guard let kindText = root["kind"]?.stringValue, let kind = FeedbackKind(rawValue: kindText) else {
            return .failure(IngestRejection(.invalidField, "kind must be nps or sentiment"))
        }
        guard let page = root["page"]?.stringValue, !page.isEmpty, page.utf8.count <= 2048 else {
            return .failure(IngestRejection(.missingField, "page is required: the URL of the page the survey was on, at most 2048 bytes"))
        }
        var score: Int?
        if let value = root["score"], value != .null {
            guard let s = value.intValue, kind.scores.contains(s) else {
                return .failure(IngestRejection(.invalidField, "score must be a whole number from \(kind.scores.lowerBound) to \(kind.scores.upperBound) for \(kind.rawValue)"))
            }
            score = s
        }
        var comment: String?
        if let value = root["comment"], value != .null {
            guard let text = value.stringValue else { return .failure(IngestRejection(.invalidField, "comment must be a string")) }
            guard score != nil else { return .failure(IngestRejection(.invalidField, "a comment needs a score")) }
            guard text.count <= commentCharacters else {
                return .failure(IngestRejection(.valueTooLong, "comment is \(text.count) characters; the limit is \(commentCharacters)"))
            }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            comment = trimmed.isEmpty ? nil : trimmed
        }
        let vid = root["vid"]?.stringValue.flatMap { $0.isEmpty || $0.utf8.count > 128 ? nil : $0 }
        return .success(FeedbackSubmission(site: site, kind: kind, page: page, score: score, comment: comment, visitorID: vid))
    }
}

/// The custom event an answer also records in the visit ("Survey: NPS 0–6"), so every
/// dashboard view, funnel and replay list can be narrowed to the visits that answered so.
public enum FeedbackEvent {
    public static func name(kind: FeedbackKind, score: Int) -> String {
        switch kind {
        case .nps:
            let band = NPSBand(score: score).scores
            return "Survey: NPS \(band.lowerBound)–\(band.upperBound)"
        case .sentiment:
            return "Survey: sentiment \(score)"
        }
    }
}

/// NPS arithmetic, in one place for the page, the API and the CSV.
public enum NPSBand: String, Sendable, CaseIterable {
    case detractor, passive, promoter

    public init(score: Int) {
        self = score >= 9 ? .promoter : score >= 7 ? .passive : .detractor
    }

    public var scores: ClosedRange<Int> {
        switch self {
        case .detractor: 0...6
        case .passive: 7...8
        case .promoter: 9...10
        }
    }

    /// −100…100: the share of promoters minus the share of detractors, rounded.
    public static func score(promoters: Int, passives: Int, detractors: Int) -> Int? {
        let total = promoters + passives + detractors
        guard total > 0 else { return nil }
        let value = Double(promoters - detractors) * 100 / Double(total)
        return Int(value.rounded())
    }
}
