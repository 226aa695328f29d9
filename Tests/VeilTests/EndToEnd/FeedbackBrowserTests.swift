import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
import Storage
@testable import Web

@Suite("Surveys in real headless Chromium", .serialized)
struct FeedbackBrowserTests {
    static let canary = "canary.nps@example.org"

    static func page(veilPort: Int, site: String, extra: String = "") -> String {
        """
        <!doctype html><html><head><title>Survey page</title><meta name="viewport" content="width=device-width">
        <script defer src="http://127.0.0.1:\(veilPort)/v.js" data-site="\(site)" data-replay="1" data-feedback="true"\(extra)></script></head>
        <body><h1>Pricing</h1><p>Plans and prices.</p><button id="buy">Buy</button></body></html>
        """
    }

    /// The shadow root's card, as a JS expression.
    static let card = "(function(){var h=document.querySelector('[data-veil-feedback]');return h&&h.shadowRoot&&h.shadowRoot.querySelector('.c')})()"

    @Test(.enabled(if: Chromium.enabled, "chromium is not installed; CI installs it"))
    func npsWidgetAsksAfterTheDelayAndTheFeedbackTabShowsTheScrubbedAnswer() async throws {
        let dir = TempDir()
        var config = feedbackConfig(dataDir: dir.path)
        config.sites[0].replay = ReplayRules(enabled: true)
        config.sites[0].feedback.nps.delaySeconds = 2
        var persistent = SiteRules(domain: "persist.test", origins: ["127.0.0.1"], identity: .persistent)
        persistent.consentRequired = false
        persistent.feedback.nps.enabled = true
        persistent.feedback.nps.sampleRate = 1
        persistent.feedback.nps.delaySeconds = 0
        persistent.feedback.nps.followUp = nil
        config.sites.append(persistent)
        var mood = SiteRules(domain: "mood.test", origins: ["127.0.0.1"])
        mood.feedback.sentiment.enabled = true
        mood.feedback.sentiment.pages = ["/mood*"]
        config.sites.append(mood)
        try await withLiveVeil(config) { client in
            let port = try #require(client.port)
            let db = try VeilDatabase.open(folder: dir.path)
            let router = Router()
            router.get("pricing") { _, _ in Response.html(Self.page(veilPort: port, site: "localhost")) }
            router.get("mood") { _, _ in Response.html(Self.page(veilPort: port, site: "mood.test")) }
            router.get("persist") { _, _ in Response.html(Self.page(veilPort: port, site: "persist.test", extra: " data-identity=\"persistent\" data-consent=\"not_required\"")) }
            try await withPageServer(router) { pagePort in
                let outcome = try await CDP.run([
                    ["navigate": "http://127.0.0.1:\(pagePort)/pricing"],
                    ["wait": "!!document.querySelector('script[src$=\"/vf.js\"]')", "timeout": 20],
                    // The delay is 2 s: the card is not there yet, then it is.
                    ["eval": "!\(Self.card)", "as": "notYet"],
                    ["wait": "!!\(Self.card)", "timeout": 20],
                    ["eval": """
                        (function(){var c=\(Self.card),t=c.querySelector('#'+c.getAttribute('aria-labelledby'));
                        return {role:c.getAttribute('role'),modal:c.getAttribute('aria-modal'),title:t&&t.textContent,buttons:c.querySelectorAll('.s button').length,
                        close:c.querySelector('.x').getAttribute('aria-label'),focusStaysOnPage:document.activeElement===document.body}})()
                        """, "as": "card"],
                    ["eval": "\(Self.card).querySelectorAll('.s button')[9].click(); true"],
                    ["wait": "!!\(Self.card).querySelector('textarea')", "timeout": 10],
                    ["eval": "var c=\(Self.card);c.querySelector('textarea').value='Lovely. Write to me at \(Self.canary)';c.querySelector('.go').click();true"],
                    ["wait": "\(Self.card).textContent.indexOf('Thank you')>=0", "timeout": 10],
                    ["eval": "({cookie:document.cookie,local:localStorage.length,session:sessionStorage.length})", "as": "storage"],
                    // A persistent site (no consent needed): the widget remembers it asked.
                    ["navigate": "http://127.0.0.1:\(pagePort)/persist"],
                    ["wait": "!!\(Self.card)", "timeout": 20],
                    ["eval": "\(Self.card).querySelectorAll('.s button')[3].click(); true"],
                    ["wait": "!!localStorage.getItem('veil_fb') && JSON.parse(localStorage.getItem('veil_fb')).answered > 0", "timeout": 10],
                    ["eval": "JSON.parse(localStorage.getItem('veil_fb'))", "as": "memory"],
                    // The sentiment tab: five labelled faces; Escape closes it and the tab comes back.
                    ["navigate": "http://127.0.0.1:\(pagePort)/mood"],
                    ["wait": "(function(){var h=document.querySelector('[data-veil-feedback]');return !!(h&&h.shadowRoot.querySelector('.t'))})()", "timeout": 20],
                    ["eval": "document.querySelector('[data-veil-feedback]').shadowRoot.querySelector('.t').click();true"],
                    ["wait": "!!\(Self.card)", "timeout": 10],
                    ["eval": """
                        (function(){var c=\(Self.card),faces=[].map.call(c.querySelectorAll('.f button'),function(b){return b.getAttribute('aria-label')});
                        document.dispatchEvent(new KeyboardEvent('keydown',{key:'Escape'}));
                        return {faces:faces,closed:!\(Self.card),tab:!document.querySelector('[data-veil-feedback]').shadowRoot.querySelector('.t').hidden}})()
                        """, "as": "sentiment"],
                    ["eval": "document.querySelector('[data-veil-feedback]').shadowRoot.querySelector('.t').click();true"],
                    ["wait": "!!\(Self.card)", "timeout": 10],
                    ["eval": "\(Self.card).querySelectorAll('.f button')[3].click();true"],
                    ["wait": "!!\(Self.card).querySelector('textarea')", "timeout": 10],
                    ["eval": "\(Self.card).querySelector('.go').click();true"],
                    ["wait": "\(Self.card).textContent.indexOf('Thank you')>=0", "timeout": 10],
                    ["eval": "location.href='about:blank';true"],
                ], until: {
                    let r = try await db.feedbackReport(site: "localhost", from: 0, to: .max, calendar: .utc)
                    let recorded = try await db.recordings(site: "localhost", filter: RecordingFilter(from: 0, to: .max)).first?.sessionID != nil
                    return r.npsAnswers == 1 && recorded
                })
                #expect(outcome.error == nil, "\(outcome.error ?? "")")
                #expect(outcome.exceptions.isEmpty, "JS errors: \(outcome.exceptions)")
                #expect(outcome.results["notYet"] as? Bool == true, "the card waits for its delay")
                let card = try #require(outcome.results["card"] as? [String: Any], "\(outcome.results)")
                #expect(card["role"] as? String == "dialog" && card["modal"] as? String == "false" && card["buttons"] as? Int == 11, "\(card)")
                #expect(card["title"] as? String == NPSSurvey().question && card["close"] as? String == "Close survey")
                #expect(card["focusStaysOnPage"] as? Bool == true, "the card takes no focus from the page")
                let storage = try #require(outcome.results["storage"] as? [String: Any])
                #expect(storage["cookie"] as? String == "" && storage["local"] as? Int == 0 && storage["session"] as? Int == 0, "a cookieless site's widget stores nothing: \(storage)")
                let sentiment = try #require(outcome.results["sentiment"] as? [String: Any], "\(outcome.results)")
                #expect(sentiment["faces"] as? [String] == ["Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"], "\(sentiment)")
                #expect(sentiment["closed"] as? Bool == true && sentiment["tab"] as? Bool == true, "Escape closes the card: \(sentiment)")
                let memory = try #require(outcome.results["memory"] as? [String: Any], "\(outcome.results)")
                #expect(memory["asked"] is Int || memory["asked"] is Double, "a persistent site remembers when it asked: \(memory)")
            }
            let moodReport = try await db.feedbackReport(site: "mood.test", from: 0, to: .max, calendar: .utc)
            #expect(moodReport.sentiment.counts == [0, 0, 0, 1, 0] && moodReport.sentimentShown == 2, "\(moodReport.sentiment) \(moodReport.sentimentShown)")
            let persisted = try await db.feedbackReport(site: "persist.test", from: 0, to: .max, calendar: .utc)
            #expect(persisted.npsAnswers == 1 && persisted.detractors == 1)

            let report = try await db.feedbackReport(site: "localhost", from: 0, to: .max, calendar: .utc)
            #expect(report.nps == 100 && report.npsShown == 1, "one promoter: NPS 100, shown once")
            let comment = try #require(report.comments.first)
            #expect(comment.comment.contains("[email]") && comment.score == 9 && comment.path == "/pricing")
            let recording = try #require(comment.recordingID, "the answer links to the visit's replay")
            for (name, bytes) in dir.allBytes() { #expect(!bytes.contains(bytes: Array(Self.canary.utf8)), "the e-mail is in \(name)") }

            let cookies = try await sessionCookie(client, port: port)
            /// The Feedback tab as the browser shows it.
            func feedbackTab() async throws -> [String: Any] {
                let tab = try await CDP.run([
                    ["navigate": "http://127.0.0.1:\(port)/sites/localhost/feedback?range=today"],
                    ["wait": "!!document.getElementById('nps-score') && !!document.querySelector('td.comment')", "timeout": 20],
                    ["eval": """
                        ({nps:document.getElementById('nps-score').textContent,comments:[].map.call(document.querySelectorAll('td.comment'),function(t){return t.textContent}).join('|'),
                        replay:document.querySelector('table.comments a.play').getAttribute('href'),pwned:String(window.__pwned),imgs:document.querySelectorAll('td.comment img, td.comment svg').length})
                        """, "as": "tab"],
                ], cookies: cookies)
                #expect(tab.error == nil && tab.exceptions.isEmpty, "\(tab.error ?? "") \(tab.exceptions) \(tab.results)")
                return try #require(tab.results["tab"] as? [String: Any], "\(tab.results)")
            }
            // NPS 100, the scrubbed comment, the link to the replay.
            let shown = try await feedbackTab()
            #expect(shown["nps"] as? String == "+100", "\(shown)")
            #expect((shown["comments"] as? String)?.contains("[email]") == true, "\(shown)")
            #expect(shown["replay"] as? String == "/sites/localhost/replays/\(recording)")
            // A hostile comment from another visitor is shown as text and executes nothing.
            let hostile = FeedbackTests.answer("nps", 0, comment: #"<img src=x onerror="window.__pwned=1">"><script>window.__pwned=2</script><svg onload=window.__pwned=3>"#)
            #expect(try await client.post("/api/feedback", hostile).status == .accepted)
            let again = try await feedbackTab()
            #expect(again["nps"] as? String == "0", "one promoter and one detractor: \(again)")
            #expect((again["comments"] as? String)?.contains("<script>") == true, "shown as text: \(again)")
            #expect(again["pwned"] as? String == "undefined" && again["imgs"] as? Int == 0, "hostile comment text executes nothing: \(again)")
        }
    }
}
