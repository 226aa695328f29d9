import Storage

// JSON answers of the recorder settings, the magic-erasure picker and the recordings API.
// (`POST /api/replay`'s answers stay hand-written: that is the ingest path.)

struct RecorderSettingsAnswer: Encodable {
    var maskText: String
    var erase: [String]
    var block: [String]

    enum CodingKeys: String, CodingKey {
        case erase, block
        case maskText = "mask_text"
    }
}

struct PickerSessionAnswer: Encodable {
    var session: String
    var expiresAt: Int64

    enum CodingKeys: String, CodingKey {
        case session
        case expiresAt = "expires_at"
    }
}

/// The selectors a site erases; after a toggle, whether the selector is now erased.
struct SelectorsAnswer: Encodable {
    var configured: [String]
    var picked: [String]
    var erased: Bool?
}

struct RecordingsAnswer: Encodable {
    struct Recording: Encodable {
        var id: Int64
        var session: Int64?
        var pages: Int
        var start: Int64
        var durationMillis: Int64
        var events: Int
        var storedBytes: Int
        var rawBytes: Int
        var clicks: Int
        var rageClicks: Int
        var capped: Bool
        var entryURL: String
        var device: String
        var browser: String

        init(_ r: RecordingSummary) {
            id = r.id
            session = r.sessionID
            pages = r.pages
            start = r.startedAt
            durationMillis = r.durationMillis
            events = r.events
            storedBytes = r.storedBytes
            rawBytes = r.rawBytes
            clicks = r.clicks
            rageClicks = r.rageClicks
            capped = r.cappedAt != nil
            entryURL = r.entryURL
            device = r.device
            browser = r.browser
        }

        enum CodingKeys: String, CodingKey {
            case id, session, pages, start, events, clicks, capped, device, browser
            case durationMillis = "duration_ms", storedBytes = "stored_bytes", rawBytes = "raw_bytes", rageClicks = "rage_clicks", entryURL = "entry_url"
        }

        /// `session` is written as null when the recording has no visit.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id, forKey: .id)
            try c.encode(session, forKey: .session)
            try c.encode(pages, forKey: .pages)
            try c.encode(start, forKey: .start)
            try c.encode(durationMillis, forKey: .durationMillis)
            try c.encode(events, forKey: .events)
            try c.encode(storedBytes, forKey: .storedBytes)
            try c.encode(rawBytes, forKey: .rawBytes)
            try c.encode(clicks, forKey: .clicks)
            try c.encode(rageClicks, forKey: .rageClicks)
            try c.encode(capped, forKey: .capped)
            try c.encode(entryURL, forKey: .entryURL)
            try c.encode(device, forKey: .device)
            try c.encode(browser, forKey: .browser)
        }
    }

    var recordings: [Recording]
}

struct DeletedAnswer: Encodable {
    var deleted: Int64
}
