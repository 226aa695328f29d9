import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
import Storage
@testable import Web

func feedbackConfig(dataDir: String) -> VeilConfig {
    var config = TestData.config(dataDir: dataDir)
    config.sites[0].feedback.nps.enabled = true
    config.sites[0].feedback.nps.sampleRate = 1
    config.sites[0].feedback.sentiment.enabled = true
    config.sites[0].feedback.sentiment.pages = ["/docs/*"]
    return config
}

@Suite("Surveys: POST /api/feedback, the Feedback tab and its API")
struct FeedbackTests {
    static func answer(_ kind: String, _ score: Int?, comment: String? = nil, page: String = "http://localhost/pricing", site: String = "localhost") -> String {
        var fields = ["\"site\":\(JSONWriter.string(site))", "\"kind\":\"\(kind)\"", "\"page\":\(JSONWriter.string(page))"]
        if let score { fields.append("\"score\":\(score)") }
        if let comment { fields.append("\"comment\":\(JSONWriter.string(comment))") }
        return "{" + fields.joined(separator: ",") + "}"
    }

    @Test func answersAreScrubbedAttachedToTheVisitCountedAndErased() async throws {
        let dir = TempDir()
        try await withLiveVeil(feedbackConfig(dataDir: dir.path)) { client in
            // A visit first, so the answers attach to its session.
            #expect(try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/pricing"}"#).status == .accepted)
            for _ in 0..<4 { #expect(try await client.post("/api/feedback", Self.answer("nps", nil)).status == .accepted) }
            let first = try await client.post("/api/feedback", Self.answer("nps", 9, comment: "Great, write to canary.fb@example.org or call +1 555 010 9999"))
            #expect(first.status == .accepted && first.json["accepted"] as? Int == 1, "\(first.text)")
            #expect(try await client.post("/api/feedback", Self.answer("nps", 10)).status == .accepted)
            #expect(try await client.post("/api/feedback", Self.answer("nps", 3, comment: "<script>alert(1)</script><img src=x onerror=alert(2)>")).status == .accepted)
            #expect(try await client.post("/api/feedback", Self.answer("sentiment", 4, page: "http://localhost/docs/a?email=x@y.org")).status == .accepted)

            let stats = try await client.execute(uri: "/api/stats/feedback?site=localhost&range=today", method: .get, headers: bearer)
            #expect(stats.status == .ok, "\(stats.text)")
            let j = stats.json
            // 2 promoters, 1 detractor: (2 − 1) / 3 = 33.
            #expect(j["nps"] as? Int == 33 && j["promoters"] as? Int == 2 && j["detractors"] as? Int == 1 && j["shown"] as? Int == 4, "\(stats.text)")
            #expect(j["answer_rate"] as? Double == 75, "3 answers for 4 showings: \(stats.text)")
            #expect(j["sentiment"] as? [Int] == [0, 0, 0, 1, 0])
            let comments = try #require(j["comments"] as? [[String: Any]])
            #expect(comments.count == 2)
            let scrubbed = try #require(comments.first { $0["score"] as? Int == 9 }?["comment"] as? String)
            #expect(scrubbed.contains("[email]") && scrubbed.contains("[phone]") && !scrubbed.contains("canary.fb"), "\(scrubbed)")
            #expect(comments.allSatisfy { $0["session_id"] is Int }, "answers attach to the visit's session")
            #expect((j["sentiment_pages"] as? [[String: Any]])?.first?["page"] as? String == "/docs/a", "the page is cleaned like an event URL")

            // The band filter is session-level: visitors who answered 0–6.
            let detractors = try await client.execute(uri: "/api/stats/feedback?site=localhost&range=today&band=detractor", method: .get, headers: bearer)
            #expect(detractors.json["detractors"] as? Int == 1, "\(detractors.text)")

            // The page escapes what visitors wrote.
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            let page = try await client.execute(uri: "/sites/localhost/feedback?range=today", method: .get, headers: jar.header)
            #expect(page.status == .ok)
            #expect(page.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !page.text.contains("<script>alert(1)"), "comments are escaped")
            #expect(page.text.contains("[email]") && page.text.contains(">+33<"), "NPS and the scrubbed comment show")
            let csv = try await client.execute(uri: "/sites/localhost/feedback.csv?range=today", method: .get, headers: jar.header)
            #expect(csv.status == .ok && csv.text.hasPrefix("received_utc,kind,score,comment") && csv.text.contains("[email]"))

            for (name, bytes) in dir.allBytes() { #expect(!bytes.contains(bytes: Array("canary.fb@example.org".utf8)), "the e-mail is in \(name)") }

            // Export and erasure cover the answers.
            let session = try #require(comments.first?["session_id"] as? Int)
            let export = try await client.execute(uri: "/api/privacy/export?site=localhost&session=\(session)", method: .get, headers: bearer)
            #expect((export.json["feedback"] as? [Any])?.count == 8, "\(export.text.prefix(300))")
            var headers = bearer
            headers[.contentType] = "application/json"
            let erase = try await client.execute(uri: "/api/privacy/erase", method: .post, headers: headers, body: ByteBuffer(string: #"{"site":"localhost","session":\#(session)}"#))
            #expect(erase.status == .ok, "\(erase.text)")
            let after = try await client.execute(uri: "/api/stats/feedback?site=localhost&range=today", method: .get, headers: bearer)
            #expect(after.json["shown"] as? Int == 0 && (after.json["comments"] as? [Any])?.isEmpty == true, "\(after.text)")
        }
    }

    @Test func anAnswerNarrowsTheWholeDashboardToTheVisitorsWhoGaveIt() async throws {
        let dir = TempDir()
        try await withLiveVeil(feedbackConfig(dataDir: dir.path)) { client in
            let firefox: HTTPFields = [.userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"]
            // Two visitors: one reads two pages and answers 3, the other reads one and answers 10.
            for path in ["/", "/pricing"] {
                #expect(try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost\#(path)"}"#).status == .accepted)
            }
            #expect(try await client.post("/api/feedback", Self.answer("nps", 3)).status == .accepted)
            #expect(try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/"}"#, headers: firefox).status == .accepted)
            #expect(try await client.post("/api/feedback", Self.answer("nps", 10), headers: firefox).status == .accepted)
            func overview(_ filter: String) async throws -> [String: Any] {
                try await client.execute(uri: "/api/stats/overview?site=localhost&range=today" + filter, method: .get, headers: bearer).json
            }
            let all = try await overview("")
            #expect(all["visitors"] as? Int == 2 && all["pageviews"] as? Int == 3, "\(all)")
            let detractors = try await overview("&event=" + StatsRequest.encode(FeedbackEvent.name(kind: .nps, score: 3)))
            // The event filter narrows to the visits with that answer: their visitors, and the
            // session-level tables (browser, entry page, channel, country…) of those visits.
            func browsers(_ o: [String: Any]) -> [String] {
                (((o["breakdowns"] as? [String: Any])?["browser"] as? [String: Any])?["rows"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
            }
            #expect(detractors["visitors"] as? Int == 1 && browsers(detractors) == ["Chrome"], "visitors who answered 0–6: \(detractors)")
            let promoters = try await overview("&event=" + StatsRequest.encode("Survey: NPS 9–10"))
            #expect(promoters["visitors"] as? Int == 1 && browsers(promoters) == ["Firefox"], "visitors who answered 9–10: \(promoters)")
        }
    }

    @Test func badAnswersGetAClear4xxAndDisabledOrBotAnswersAreDropped() async throws {
        let dir = TempDir()
        var config = feedbackConfig(dataDir: dir.path)
        config.sites[1].feedback = FeedbackRules()
        try await withLiveVeil(config) { client in
            func code(_ body: String) async throws -> (HTTPResponse.Status, String) {
                let r = try await client.post("/api/feedback", body)
                return (r.status, r.json["error"] as? String ?? r.json["reason"] as? String ?? "")
            }
            #expect(try await code(#"{"site":"localhost","kind":"stars","page":"http://localhost/"}"#) == (.badRequest, "invalid_field"))
            #expect(try await code(#"{"site":"localhost","kind":"nps","score":11,"page":"http://localhost/"}"#) == (.badRequest, "invalid_field"))
            #expect(try await code(#"{"site":"localhost","kind":"sentiment","score":0,"page":"http://localhost/"}"#) == (.badRequest, "invalid_field"))
            #expect(try await code(#"{"site":"localhost","kind":"nps","score":5}"#) == (.badRequest, "missing_field"))
            #expect(try await code(#"{"site":"localhost","kind":"nps","comment":"no score","page":"http://localhost/"}"#) == (.badRequest, "invalid_field"))
            #expect(try await code(Self.answer("nps", 5, comment: String(repeating: "é", count: 1001))) == (.badRequest, "value_too_long"))
            #expect(try await code("{\"site\":\"localhost\"") == (.badRequest, "invalid_json"))
            #expect(try await code(#"{"site":"localhost","site":"x","kind":"nps","page":"http://localhost/"}"#) == (.badRequest, "duplicate_key"))
            let big = try await client.post("/api/feedback", Self.answer("nps", 5, comment: String(repeating: "a", count: 9000)))
            #expect(big.status == .contentTooLarge)
            #expect(try await code(Self.answer("nps", 5, site: "example.com")) == (.accepted, "feedback_disabled"))
            #expect(try await code(Self.answer("nps", 5, site: "nowhere.test")) == (.accepted, "unknown_site"))
            let bot = try await client.post("/api/feedback", Self.answer("nps", 5), headers: [.userAgent: "curl/8.0"])
            #expect(bot.json["reason"] as? String == "bot")
            let gpc = try await client.post("/api/feedback", Self.answer("nps", 5), headers: [HTTPField.Name("Sec-GPC")!: "1"])
            #expect(gpc.json["reason"] as? String == "gpc")
            let stats = try await client.execute(uri: "/api/stats/feedback?site=localhost&range=today", method: .get, headers: bearer)
            #expect(stats.json["answers"] as? Int == 0, "nothing refused or dropped is stored: \(stats.text)")
            // Settings: public, only for enabled sites; the sentiment tab only on its pages.
            let settings = try await client.execute(uri: "/api/feedback/settings?site=localhost&path=/docs/intro", method: .get)
            #expect(settings.status == .ok && (settings.json["nps"] as? [String: Any])?["rate"] as? Double == 1 && settings.json["sentiment"] is [String: Any])
            let elsewhere = try await client.execute(uri: "/api/feedback/settings?site=localhost&path=/pricing", method: .get)
            #expect(elsewhere.json["sentiment"] == nil || elsewhere.json["sentiment"] is NSNull)
            #expect(try await client.execute(uri: "/api/feedback/settings?site=example.com", method: .get).status == .notFound)
            // A path past the limit matches no pattern (no work in proportion to patterns × a huge path).
            let long = try await client.execute(uri: "/api/feedback/settings?site=localhost&path=/docs/" + String(repeating: "a", count: 2000), method: .get)
            #expect(long.status == .ok && (long.json["sentiment"] == nil || long.json["sentiment"] is NSNull))
        }
    }

    @Test func widgetIsSmallAndTheTagAsksForIt() throws {
        let gz = try gzipSize(VeilAssets.EmbeddedAssets.feedbackJS)
        #expect(gz <= 4096, "vf.js is \(gz) bytes gzipped; the budget is 4 KB")
        let js = String(decoding: VeilAssets.EmbeddedAssets.feedbackJS, as: UTF8.self)
        #expect(!js.contains("document.cookie") && !js.contains("sessionStorage") && !js.contains("innerHTML"))
        #expect(js.contains("prefers-color-scheme") && js.contains("prefers-reduced-motion") && js.contains("globalPrivacyControl"))
        let tracker = String(decoding: VeilAssets.EmbeddedAssets.trackerJS, as: UTF8.self)
        #expect(tracker.contains("a.feedback") && tracker.contains("/vf.js"))
    }

    @Test func patternsMatchPaths() {
        #expect(FeedbackPattern.matches("/docs/*", "/docs/a/b"))
        #expect(!FeedbackPattern.matches("/docs/*", "/doc"))
        #expect(FeedbackPattern.matches("*/pricing", "/en/pricing"))
        #expect(FeedbackPattern.matches("/a*b*c", "/axxbyyc") && !FeedbackPattern.matches("/a*b*c", "/axxcyyb"))
        #expect(FeedbackPattern.matches("/exact", "/exact") && !FeedbackPattern.matches("/exact", "/exact/"))
        #expect(NPSBand.score(promoters: 1, passives: 0, detractors: 0) == 100 && NPSBand.score(promoters: 0, passives: 0, detractors: 0) == nil)
    }
}

import VeilAssets
