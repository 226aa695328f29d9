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
        let stored = ReplayChunk(site: site.key, visitorCandidates: visitors, page: page, seq: seq,
                                 url: facts.href ?? "", receivedAt: receivedAt,
                                 firstTimestamp: facts.firstTimestamp ?? receivedAt, lastTimestamp: facts.lastTimestamp ?? receivedAt,
                                 events: clean.count, rawBytes: rawBytes, encoded: ReplayCodec.encode(clean),
                                 clicks: facts.clicks, rageClicks: facts.rageClicks, width: facts.width, height: facts.height)
        return (stored, report)
    }
}
