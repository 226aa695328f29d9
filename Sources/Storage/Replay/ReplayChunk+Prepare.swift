import Privacy

extension ReplayChunk {
    /// A validated chunk's events made ready to store: sanitised (masking, erasure,
    /// blocking, PII), its facts read (URL, times, clicks, viewport), encoded. Shared by
    /// `POST /api/replay` and `veil bench replay`, so the benchmark measures this path.
    public static func prepared(_ events: [JSONValue], site: SiteRules, page: String, seq: Int, picked: [String], visitors: [[UInt8]], receivedAt: Int64,
                                rawBytes: Int, scrubBytes: Int = IngestLimits().scrubBytes) -> (ReplayChunk, ReplaySanitizer.Report) {
        var report = ReplaySanitizer.Report(scrubBudget: ScrubBudget(bytes: scrubBytes))
        let clean = ReplaySanitizer(rules: site.replay, extraSelectors: picked, scrubPatterns: site.scrubPatterns).sanitize(events, report: &report)
        let facts = ReplayFacts(clean)
        var stored = ReplayChunk(site: site.key, visitorCandidates: visitors, page: page, seq: seq,
                                 url: facts.href ?? "", receivedAt: receivedAt,
                                 firstTimestamp: facts.firstTimestamp ?? receivedAt, lastTimestamp: facts.lastTimestamp ?? receivedAt,
                                 events: clean.count, rawBytes: rawBytes, encoded: ReplayCodec.encode(clean),
                                 clicks: facts.clicks, rageClicks: facts.rageClicks, width: facts.width, height: facts.height)
        stored.heatmap = heatmapFacts(clean, site: site)
        return (stored, report)
    }

    /// The chunk's heatmap facts with each page URL reduced to its path, scrubbed as an
    /// event's path is ("" stays "": the page the previous chunk ended on).
    static func heatmapFacts(_ events: [JSONValue], site: SiteRules) -> HeatmapFacts {
        var facts = HeatmapFacts(events, href: "", width: 0)
        var paths: [String: String] = ["": ""]
        func path(_ href: String) -> String {
            if let known = paths[href] { return known }
            let cleaned = URLParts.clean(href, allowedQuery: []).map { PIIScrubber().scrub($0.path, extraPatterns: site.scrubPatterns).text } ?? ""
            paths[href] = cleaned
            return cleaned
        }
        for i in facts.clicks.indices { facts.clicks[i].href = path(facts.clicks[i].href) }
        var depths: [String: Int] = [:], widths: [String: Int] = [:]
        for (href, depth) in facts.depths { depths[path(href)] = max(depths[path(href)] ?? 0, depth) }
        for (href, width) in facts.widths { widths[path(href)] = width }
        facts.depths = depths
        facts.widths = widths
        facts.endHref = path(facts.endHref)
        return facts
    }
}
