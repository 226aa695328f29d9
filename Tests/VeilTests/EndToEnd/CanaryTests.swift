import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Privacy
import Storage
@testable import Web

@Suite("PII canaries never reach the disk")
struct CanaryTests {
    static let canaries: [String: String] = [
        "email": "zq.canary@veil-test.example",
        "phone": "+44 20 7946 0958",
        "card": "4526 0181 5908 3012",
        "iban": "DE89370400440532013000",
        "ipv4": "203.0.113.99",
        "ipv6": "2001:db8::cafe:1",
        "name": "Zebulon Quackenbush",
    ]

    /// The canary as stored bytes might encode it: raw, without separators, UTF-16 (both
    /// byte orders), percent-encoded and base64.
    static func encodings(_ value: String) -> [(String, [UInt8])] {
        var forms: [(String, [UInt8])] = [("raw", Array(value.utf8))]
        let compact = value.filter { $0 != " " && $0 != "-" }
        if compact != value { forms.append(("compact", Array(compact.utf8))) }
        forms.append(("utf16le", value.utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }))
        forms.append(("utf16be", value.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }))
        if let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics), encoded != value { forms.append(("url", Array(encoded.utf8))) }
        forms.append(("base64", Array(Data(value.utf8).base64EncodedString().dropLast(2).utf8)))
        return forms
    }

    @Test func canariesThroughEveryChannelAreFoundNowhere() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.trustedProxies = ["127.0.0.1"]
        // Names cannot be recognised by shape; a site lists the ones it must never store.
        config.sites[0].scrubPatterns = ["zebulon\\s+quackenbush"]
        let c = Self.canaries
        let q: @Sendable (String) -> String = { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
        try await withLiveVeil(config) { client in
            for (key, value) in c {
                let url = "http://localhost/u/\(q(value))/x?utm_source=\(q(value))&email=\(q(value))&utm_campaign=\(q(key))"
                let body = """
                    {"site":"localhost","name":"Signup \(value)","url":\(JSONWriter.string(url)),"referrer":\(JSONWriter.string("https://ref.example/p/" + value)),\
                    "props":{"note":\(JSONWriter.string("from " + value)),\(JSONWriter.string(value)):"k"}}
                    """
                let clientIP = key == "ipv6" ? value : (key == "ipv4" ? value : "198.51.100.5")
                let r = try await client.post("/api/event", body, headers: [
                    .userAgent: TestData.userAgent + " " + value,
                    .init("X-Forwarded-For")!: clientIP,
                ])
                #expect(r.text == #"{"accepted":1}"#, "\(key): \(r.text)")
            }
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: bearer).text
            for kind in ["email", "phone", "card", "iban", "ip", "redacted"] {
                #expect(metrics.contains("veil_pii_scrubbed_total{kind=\"\(kind)\",site=\"localhost\"}"), "no \(kind) count")
            }
        }
        let db = try VeilDatabase.open(folder: dir.path)
        #expect(try await db.eventCount(site: "localhost") == c.count)
        func scan(_ when: String) {
            let files = dir.allBytes()
            #expect(files.contains { $0.0 == "veil.sqlite" })
            for (name, bytes) in files {
                for (key, value) in c {
                    for (form, needle) in Self.encodings(value) {
                        #expect(!bytes.contains(bytes: needle), "\(key) canary (\(form)) found in \(name) \(when)")
                    }
                }
            }
        }
        scan("before checkpoint")
        try await db.checkpoint()
        scan("after checkpoint")
        // The events are still useful: placeholders stand where the data was.
        let events = try await db.events(site: "localhost")
        #expect(events.contains { $0.path == "/u/[email]/x" })
        #expect(events.contains { $0.name == "Signup [redacted]" })
        #expect(events.contains { $0.query?.contains("\"utm_source\":\"[card]\"") == true })
    }

    @Test func propertyAllowlistDropsOtherKeys() throws {
        let site = SiteRules(domain: "example.com", propertyAllowlist: ["plan"])
        let pipeline = IngestPipeline(sites: [site], allowedQuery: [], salts: ActiveSalts(current: Array(repeating: 1, count: 32), previous: nil))
        let ctx = IngestContext(clientIP: "203.0.113.1", userAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36", origin: nil,
                                doNotTrack: false, globalPrivacyControl: false, receivedAt: 0)
        let e = try pipeline.run(RawEvent(site: "example.com", name: "Signup", url: "https://example.com/", props: [("plan", "pro"), ("email", "a@b.example"), ("note", "call +1 415 555 2671")]), context: ctx).get()
        #expect(e.props.map { $0.0 + "=" + $0.1 } == ["plan=pro"])
        let open = IngestPipeline(sites: [SiteRules(domain: "example.com")], allowedQuery: [], salts: ActiveSalts(current: Array(repeating: 1, count: 32), previous: nil))
        let f = try open.run(RawEvent(site: "example.com", name: "Signup", url: "https://example.com/", props: [("note", "call +1 415 555 2671")]), context: ctx).get()
        #expect(f.props.map { $0.0 + "=" + $0.1 } == ["note=call [phone]"])
        #expect(f.scrubbed == [.phone: 1])
    }
}
