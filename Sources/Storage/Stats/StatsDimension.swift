import Privacy

// The one catalogue of dashboard dimensions: the raw value (URL parameter and rollup
// `dim`), the sessions column, the rollup bit, the overview's order, and the words a
// table, filter chip or CSV uses. Every table, filter, CSV and API reads it here.

/// The dimensions a dashboard can break down and filter by. The raw value is the URL
/// query parameter and the rollup `dim` column.
public enum StatsDimension: String, Sendable, CaseIterable {
    case page, entry, exit, source, channel
    case utmSource = "utm_source", utmMedium = "utm_medium", utmCampaign = "utm_campaign", utmTerm = "utm_term", utmContent = "utm_content"
    case browser, os, device, screen, language, country
    case event, goal

    /// Attributes fixed when a session starts (from its first event).
    public static let sessionLevel: [StatsDimension] = [.entry, .source, .channel, .utmSource, .utmMedium, .utmCampaign, .utmTerm, .utmContent,
                                                   .browser, .os, .device, .screen, .language, .country]

    /// The `sessions` table column holding a session-level dimension.
    var sessionColumn: String? {
        switch self {
        case .entry: "entry_path"
        case .exit: "exit_path"
        case .source: "referrer_host"
        case .channel: "channel"
        case .utmSource: "utm_source"
        case .utmMedium: "utm_medium"
        case .utmCampaign: "utm_campaign"
        case .utmTerm: "utm_term"
        case .utmContent: "utm_content"
        case .browser: "browser"
        case .os: "os"
        case .device: "device"
        case .screen: "screen"
        case .language: "language"
        case .country: "country"
        case .page, .event, .goal: nil
        }
    }

    /// The tables an overview shows, in order.
    public static let overview: [StatsDimension] = [.page, .entry, .exit, .channel, .source, .utmSource, .utmMedium, .utmCampaign, .utmTerm, .utmContent,
                                                    .country, .browser, .os, .device, .screen, .language, .event, .goal]

    /// The dimension's bit in a rollup mask. A switch, not a lookup: comparing or hashing
    /// a String-backed enum costs string work on the ingest path.
    var bit: UInt32 {
        switch self {
        case .page: 1 << 0
        case .entry: 1 << 1
        case .exit: 1 << 2
        case .source: 1 << 3
        case .channel: 1 << 4
        case .utmSource: 1 << 5
        case .utmMedium: 1 << 6
        case .utmCampaign: 1 << 7
        case .utmTerm: 1 << 8
        case .utmContent: 1 << 9
        case .browser: 1 << 10
        case .os: 1 << 11
        case .device: 1 << 12
        case .screen: 1 << 13
        case .language: 1 << 14
        case .country: 1 << 15
        case .event: 1 << 16
        case .goal: 1 << 17
        }
    }

    /// Heading and column names for a dimension's table.
    public var title: String {
        switch self {
        case .page: "Top pages"
        case .entry: "Entry pages"
        case .exit: "Exit pages"
        case .source: "Referrers"
        case .channel: "Channels"
        case .utmSource: "UTM sources"
        case .utmMedium: "UTM mediums"
        case .utmCampaign: "UTM campaigns"
        case .utmTerm: "UTM terms"
        case .utmContent: "UTM contents"
        case .browser: "Browsers"
        case .os: "Operating systems"
        case .device: "Devices"
        case .screen: "Screen sizes"
        case .language: "Languages"
        case .country: "Countries"
        case .event: "Custom events"
        case .goal: "Goals"
        }
    }

    public var column: String {
        switch self {
        case .page, .entry, .exit: "Page"
        case .source: "Source"
        case .channel: "Channel"
        case .utmSource, .utmMedium, .utmCampaign, .utmTerm, .utmContent: "Value"
        case .browser: "Browser"
        case .os: "OS"
        case .device: "Device"
        case .screen: "Screen"
        case .language: "Language"
        case .country: "Country"
        case .event: "Event"
        case .goal: "Goal"
        }
    }

    /// What the second number counts.
    public var countLabel: String {
        switch self {
        case .page: "Pageviews"
        case .entry: "Entrances"
        case .exit: "Exits"
        case .event, .goal: "Events"
        default: "Visits"
        }
    }

    public func count(_ row: BreakdownRow) -> Int {
        switch self {
        case .page: row.pageviews
        case .event, .goal: row.hits
        default: row.sessions
        }
    }

    /// How an empty value reads.
    public var noneLabel: String { self == .source ? "Direct / none" : "(none)" }
}
