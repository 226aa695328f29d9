/// A request-level rejection: the client sent something malformed and gets a 4xx
/// with `{"error": code, "detail": …}`. Nothing from the request is stored.
public struct IngestRejection: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidJSON = "invalid_json"
        case invalidUTF8 = "invalid_utf8"
        case bodyTooLarge = "body_too_large"
        case tooManyEvents = "too_many_events"
        case tooManyProperties = "too_many_properties"
        case valueTooLong = "value_too_long"
        case missingField = "missing_field"
        case invalidField = "invalid_field"
        /// An object names a key twice (see `JSONParseError.duplicateKey`).
        case duplicateKey = "duplicate_key"
        /// A `Content-Encoding: gzip` body that is not a whole gzip stream.
        case invalidEncoding = "invalid_encoding"
        /// An SDK protocol's key (PostHog api_key, Segment write key, Umami website ID)
        /// that no site has.
        case invalidAPIKey = "invalid_api_key"
    }

    public var code: Code
    public var detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    /// 413 for size limits, 400 for everything else.
    public var httpStatus: Int {
        switch code {
        case .bodyTooLarge, .tooManyEvents: return 413
        case .invalidAPIKey: return 401
        default: return 400
        }
    }
}

/// Why a well-formed event was not stored. Drops are answered 202 (the client did
/// nothing wrong it could fix by retrying), counted per reason and logged.
public enum DropReason: String, Error, Sendable, CaseIterable {
    case unknownSite = "unknown_site"
    case originNotAllowed = "origin_not_allowed"
    case doNotTrack = "dnt"
    case globalPrivacyControl = "gpc"
    case bot = "bot"
    case invalidURL = "invalid_url"
    case duplicate = "duplicate"
    /// A replay chunk for a site without `replay.enabled`.
    case replayDisabled = "replay_disabled"
    /// A survey answer for a site without that survey enabled (`feedback.nps` / `feedback.sentiment`).
    case feedbackDisabled = "feedback_disabled"
    /// A replay chunk for a recording that reached `limits.replay_recording_*`.
    case recordingCapped = "recording_capped"
    /// An SDK message Veil has no use for (a group call, an SDK's internal event).
    case notAnEvent = "not_an_event"
}
