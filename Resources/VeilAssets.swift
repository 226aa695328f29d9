/// Everything the binary serves, embedded at build time (no files beside the binary).
public enum EmbeddedAssets {
    public static let trackerJS: [UInt8] = PackageResources.v_js
    public static let autocaptureJS: [UInt8] = PackageResources.va_js
    public static let recorderJS: [UInt8] = PackageResources.vr_js
    public static let feedbackJS: [UInt8] = PackageResources.vf_js
    public static let playerJS: [UInt8] = PackageResources.vp_js
    public static let heatmapJS: [UInt8] = PackageResources.hm_js
    public static let demoJS: [UInt8] = PackageResources.demo_js
    public static let demoQueueJS: [UInt8] = PackageResources.demo_queue_js
    public static let stylesheet: [UInt8] = PackageResources.veil_css
    /// The commented default config that `veil init` writes; parsing it gives the built-in defaults.
    public static let defaultConfig: [UInt8] = PackageResources.default_yaml

    /// Mustache templates by name (file name without `.mustache`).
    public static let templates: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache,
        "login": PackageResources.login_mustache,
        "sites": PackageResources.sites_mustache,
        "site": PackageResources.site_mustache,
        "error": PackageResources.error_mustache,
        "demo": PackageResources.demo_mustache,
        "privacy": PackageResources.privacy_mustache,
        "stored": PackageResources.stored_mustache,
        "statsheader": PackageResources.statsheader_mustache,
        "statstable": PackageResources.statstable_mustache,
        "breakdown": PackageResources.breakdown_mustache,
        "funnels": PackageResources.funnels_mustache,
        "journeys": PackageResources.journeys_mustache,
        "retention": PackageResources.retention_mustache,
        "live": PackageResources.live_mustache,
        "share": PackageResources.share_mustache,
        "replays": PackageResources.replays_mustache,
        "player": PackageResources.player_mustache,
        "users": PackageResources.users_mustache,
        "account": PackageResources.account_mustache,
        "feedback": PackageResources.feedback_mustache,
        "heatmaps": PackageResources.heatmaps_mustache,
    ]
}
