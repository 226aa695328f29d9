import Privacy
import Web

/// Printing the effective configuration (`veil check-config`, the start log).
extension ConfigLoader {

    /// The effective configuration as YAML-like `key: value` lines, secrets redacted.
    static func describe(_ config: VeilConfig) -> String {
        var lines: [String] = []
        for key in ConfigSchema.keys {
            let value = key.read(config)
            let shown = key.secret && value != .string("") ? "\"<redacted>\"" : value.yaml
            lines.append("\(key.path): \(shown)")
        }
        lines.append("sites:")
        for site in config.sites {
            lines.append("  - domain: \(quoteYAML(site.domain))")
            lines.append("    origins: [\(site.origins.map(quoteYAML).joined(separator: ", "))]")
            lines.append("    identity: \(site.identity.rawValue)")
            lines.append("    consent: \(site.consentRequired ? "required" : "not_required")")
            lines.append("    honor_dnt: \(site.honorDNT)")
            lines.append("    honor_gpc: \(site.honorGPC)")
            lines.append("    scrub_patterns: [\(site.scrubPatterns.map(quoteYAML).joined(separator: ", "))]")
            lines.append("    property_allowlist: [\(site.propertyAllowlist.map(quoteYAML).joined(separator: ", "))]")
            lines.append("    retention: {events_days: \(site.eventsRetentionDays)}")
            let r = site.replay
            lines.append("    replay: {enabled: \(r.enabled), sample_rate: \(r.sampleRate), mask_text: \(r.maskText.rawValue), retention_days: \(site.replaysRetentionDays), "
                         + "erase: [\(r.eraseSelectors.map(quoteYAML).joined(separator: ", "))], block: [\(r.blockSelectors.map(quoteYAML).joined(separator: ", "))]}")
            let n = site.feedback.nps, t = site.feedback.sentiment
            lines.append("    feedback: {nps: {enabled: \(n.enabled), question: \(quoteYAML(n.question)), delay_seconds: \(n.delaySeconds), after_pageviews: \(n.afterPageviews), "
                         + "sample_rate: \(n.sampleRate), follow_up: \(quoteYAML(n.followUp ?? "")), position: \(n.position.rawValue), accent: \(quoteYAML(n.accent)), "
                         + "ask_again_days: \(n.askAgainDays)}, sentiment: {enabled: \(t.enabled), prompt: \(quoteYAML(t.prompt)), side: \(t.side.rawValue), "
                         + "pages: [\(t.pages.map(quoteYAML).joined(separator: ", "))]}}")
            let keys = site.sdkKeys
            if let k = keys.posthogAPIKey { lines.append("    posthog: {api_key: \(quoteYAML(k))}") }
            if let k = keys.segmentWriteKey { lines.append("    segment: {write_key: \(quoteYAML(k))}") }
            if let k = keys.umamiWebsiteID { lines.append("    umami: {website_id: \(quoteYAML(k))}") }
            lines.append("    person_properties: [\(site.personProperties.map(quoteYAML).joined(separator: ", "))]")
            let a = site.analytics
            lines.append("    autocapture: \(a.autocapture)")
            lines.append("    goals: [" + a.goals.map { g in
                var parts = ["name: \(quoteYAML(g.name))"]
                if let page = g.page { parts.append("page: \(quoteYAML(page))") }
                if let event = g.event { parts.append("event: \(quoteYAML(event))") }
                if !g.props.isEmpty { parts.append("props: {" + g.props.map { "\(quoteYAML($0.0)): \(quoteYAML($0.1))" }.joined(separator: ", ") + "}") }
                return "{" + parts.joined(separator: ", ") + "}"
            }.joined(separator: ", ") + "]")
            lines.append("    funnels: [" + a.funnels.map { f in
                "{name: \(quoteYAML(f.name)), steps: [\(f.steps.map(quoteYAML).joined(separator: ", "))]" + (f.windowMinutes.map { ", window_minutes: \($0)" } ?? "") + "}"
            }.joined(separator: ", ") + "]")
            lines.append("    click_events: [" + a.clickEvents.map { c in
                "{name: \(quoteYAML(c.name))" + (c.selector.map { ", selector: \(quoteYAML($0))" } ?? "") + (c.href.map { ", href: \(quoteYAML($0))" } ?? "") + "}"
            }.joined(separator: ", ") + "]")
        }
        return lines.joined(separator: "\n")
    }
}
