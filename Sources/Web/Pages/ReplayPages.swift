import Privacy
import Storage

/// The sessions-with-recordings list of a site.
struct ReplaysPage: Sendable {
    struct Row: Sendable {
        var href: String
        var started: String
        var duration: String
        var pages: Int
        var entry: String
        var device: String
        var country: String
        var clicks: Int
        var rageClicks: Int
        var hasRage: Bool
        var size: String
        var capped: Bool
    }
    struct Option: Sendable { var value: String; var label: String; var selected: Bool }
    var domain: String
    var base: String
    var tabs: [StatsHeader.Link]
    var rows: [Row]
    var hasRows: Bool
    var days: [Option]
    var devices: [Option]
    var goals: [Option]
    var hasGoals: Bool
    var page: String
    var event: String
    var minSeconds: String
    var rage: Bool
    var filtered: Bool
    var nextHref: String
    var hasNext: Bool
    var enabled: Bool
    var sampleRate: String
    var maskText: String
    var configured: [String]
    var blockSelectors: [String]
    var picked: [String]
    var hasPicked: Bool
    var pickerURL: String
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string
    /// An admin is signed in: the nav shows Users; admin-only tools show.
    var isAdmin = false
}

/// One recording in the player.
struct PlayerPage: Sendable {
    struct Fact: Sendable { var label: String; var value: String }
    var domain: String
    var base: String
    var id: Int64
    var eventsURL: String
    var marksJSON: String
    var facts: [Fact]
    var pages: [String]
    var deleteAction: String
    var signedIn = true
    var username: String
    var csrf: String
    var version = VeilVersion.string
    /// An admin is signed in: the nav shows Users; admin-only tools show.
    var isAdmin = false
}

enum ReplayFormat {
    static func bytes(_ n: Int) -> String {
        if n >= 1_048_576 { return String(format: "%.1f MB", Double(n) / 1_048_576) }
        if n >= 1024 { return "\(n / 1024) KB" }
        return "\(n) B"
    }
}
