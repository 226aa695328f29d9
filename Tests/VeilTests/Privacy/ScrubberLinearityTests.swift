import Testing
@testable import Privacy

/// The PII scrubber must cost linear time on any input: text built to make a match
/// restart at every byte (the campaign's 32 KB of `:` took 31.5 s) is read a bounded
/// number of times per byte. Counted in bytes read, never timed.
@Suite("PII scrubber: linear on hostile text, bounded per request")
struct ScrubberLinearityTests {
    /// Reads per input byte the scrubber may use on any text: the sum of the scanners'
    /// bounded windows (a card reads at most 37 bytes, a phone 31, an IPv4 15, an SSN 11…)
    /// with room to spare, since `1-1-1-…` starts both a card and a phone at every digit.
    static let maxReadsPerByte = 96

    static let patterns: [String] = [
        ":", ".", "-", "+", "@", "a:", "-a", "1.",
        // Mixes: each aims at one scanner's restart.
        "a@", "a.", "1:", "a-1", "eyJ-", "eyJa.", "+1-", "1-", "1 ", "(1", "a@a.", ":1", "::1.", "1.1.", "-sk_live_", "aB3-", "ab12 ", "a%", "_a",
    ]

    @Test(arguments: patterns)
    func oneMegabyteOfAPatternIsReadLinearly(_ unit: String) {
        let n = 1 << 20
        let text = String(repeating: unit, count: n / unit.utf8.count)
        let (_, reads) = PIIScrubber().scrubMeasured(text)
        #expect(reads <= Self.maxReadsPerByte * text.utf8.count, "\(reads) reads for \(text.utf8.count) bytes of \"\(unit)\"…")
        // Twice the text costs twice the reads, not four times: linear, not quadratic.
        let (_, readsDouble) = PIIScrubber().scrubMeasured(text + text)
        #expect(readsDouble <= 2 * reads + 64 * 1024, "\(reads) → \(readsDouble) when the text doubles")
    }

    @Test func realPersonalDataIsStillFound() {
        let r = PIIScrubber().scrub("mail jane@example.com, ::1, fe80::1:2, 203.0.113.7, ref-ghp_abcdefghijklmnopqrstuvwxyz0123 and " + String(repeating: ":", count: 5000) + " ::1")
        #expect(r.counts[.email] == 1)
        #expect(r.counts[.token] == 1)
        #expect(r.text.contains("ref-[token]"))
        #expect((r.counts[.ip] ?? 0) >= 4)
    }

    @Test func budgetMasksTextBeyondItUnread() {
        var budget = ScrubBudget(bytes: 100)
        let scrubber = PIIScrubber()
        let first = scrubber.scrub("write to jane@example.com", extraPatterns: [], budget: &budget) { _ in "[unscanned]" }
        #expect(first.text == "write to [email]")
        let big = scrubber.scrub(String(repeating: "x", count: 200), extraPatterns: [], budget: &budget) { _ in "[unscanned]" }
        #expect(big.text == "[unscanned]" && big.counts == [.unscanned: 1])
        // Once overdrawn, the rest of the request is masked too.
        let after = scrubber.scrub("jane@example.com", extraPatterns: [], budget: &budget) { _ in "[unscanned]" }
        #expect(after.text == "[unscanned]")
    }

    @Test func pipelineSpendsOneBudgetPerRequest() throws {
        let pipeline = IngestPipeline(sites: [SiteRules(domain: "example.com")], allowedQuery: [], salts: ActiveSalts(current: Array(repeating: 1, count: 32), previous: nil))
        let context = IngestContext(clientIP: "203.0.113.9", userAgent: TestData.userAgent, origin: nil, doNotTrack: false, globalPrivacyControl: false, receivedAt: 1000)
        var memo = IngestPipeline.RequestMemo(scrubBudget: ScrubBudget(bytes: 300))
        var paths: [String] = []
        for i in 0..<10 {
            let raw = RawEvent(site: "example.com", name: "pageview", url: "https://example.com/page-\(i)-" + String(repeating: "p", count: 40), props: [])
            paths.append(try pipeline.run(raw, context: context, memo: &memo).get().path)
        }
        #expect(paths.first == "/page-0-" + String(repeating: "p", count: 40))
        #expect(paths.last == "[unscanned]")
        #expect(memo.scrubBudget.remaining == 0)
    }

    @Test func pageHostOfTheSiteIsNeverScrubbed() throws {
        let site = SiteRules(domain: "localhost", origins: ["127.0.0.1", "[::1]"])
        let pipeline = IngestPipeline(sites: [site], allowedQuery: [], salts: ActiveSalts(current: Array(repeating: 1, count: 32), previous: nil))
        let context = IngestContext(clientIP: "127.0.0.1", userAgent: TestData.userAgent, origin: "http://127.0.0.1:8080", doNotTrack: false, globalPrivacyControl: false, receivedAt: 1000)
        let e = try pipeline.run(RawEvent(site: "localhost", name: "pageview", url: "http://127.0.0.1:8080/demo", props: []), context: context).get()
        #expect(e.host == "127.0.0.1")
        #expect(e.scrubbed.isEmpty)
        // A path carrying an address is still scrubbed.
        let p = try pipeline.run(RawEvent(site: "localhost", name: "pageview", url: "http://127.0.0.1/u/203.0.113.9", props: []), context: context).get()
        #expect(p.path == "/u/[ip]")
        #expect(site.owns(host: "[::1]") && site.owns(host: "sub.localhost") && !site.owns(host: "203.0.113.9"))
    }
}
