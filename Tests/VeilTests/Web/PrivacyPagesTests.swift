import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
@testable import Storage
@testable import Web

extension DashboardTests {
    @Test func privacyPageExportsAndErasesWithConfirmation() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            for path in ["/one", "/two"] {
                _ = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost\#(path)","props":{"n":"x@y.example"}}"#)
            }
            let db = try VeilDatabase.open(folder: dir.path)
            let session = try #require(try await db.sessions(site: "localhost").first).id
            var jar = Jar()
            _ = try await signIn(client, jar: &jar)
            let page = try await client.execute(uri: "/sites/localhost/privacy", method: .get, headers: jar.header)
            #expect(page.status == .ok)
            #expect(page.text.contains("cookieless (daily salted hash"))
            #expect(page.text.contains("<td>[email]</td><td class=\"num\">2</td>"))
            #expect(page.text.contains("<td class=\"num\">\(session)</td>"), "the session number is listed")
            let csrf = hiddenCSRF(page.text)
            var headers = jar.header
            headers.append(contentsOf: formType)

            let noToken = try await client.execute(uri: "/sites/localhost/privacy/erase", method: .post, headers: headers,
                                                   body: form(["kind": "session", "value": "\(session)", "confirm": "yes"]))
            #expect(noToken.status == .forbidden)
            #expect(try await db.eventCount(site: "localhost") == 2)

            let export = try await client.execute(uri: "/sites/localhost/privacy/export", method: .post, headers: headers,
                                                  body: form(["csrf": csrf, "kind": "session", "value": "\(session)"]))
            #expect(export.status == .ok)
            #expect(export.headers[.contentDisposition]?.hasPrefix("attachment") == true)
            #expect((export.json["events"] as? [Any])?.count == 2)

            let ask = try await client.execute(uri: "/sites/localhost/privacy/erase", method: .post, headers: headers,
                                               body: form(["csrf": csrf, "kind": "session", "value": "\(session)"]))
            #expect(ask.text.contains("Confirm erasure"))
            #expect(ask.text.contains("<strong>2</strong> events"))
            #expect(try await db.eventCount(site: "localhost") == 2, "nothing is erased before confirmation")

            let done = try await client.execute(uri: "/sites/localhost/privacy/erase", method: .post, headers: headers,
                                                body: form(["csrf": csrf, "kind": "session", "value": "\(session)", "confirm": "yes"]))
            #expect(done.text.contains("Erased 2 events, 1 sessions and 0 recordings."))
            #expect(try await db.eventCount(site: "localhost") == 0)
            #expect(done.text.contains("<td>erase</td>") && done.text.contains("<td>export</td>") && done.text.contains("<td>admin</td>"))

            let bad = try await client.execute(uri: "/sites/localhost/privacy/export", method: .post, headers: headers,
                                               body: form(["csrf": csrf, "kind": "visitor", "value": "abc"]))
            #expect(bad.status == .badRequest, "visitor IDs exist only on persistent sites")

            let stored = try await client.execute(uri: "/stored", method: .get, headers: jar.header)
            #expect(stored.status == .ok)
            for field in StoredFields.all { #expect(stored.text.contains("<code>\(field.column)</code>")) }
        }
    }
}

extension TemplateTests {
    @Test func privacyAndStoredPagesEscape() {
        let pages = try! PageRenderer()
        var site = SiteRules(domain: hostile, scrubPatterns: [hostile], propertyAllowlist: [hostile])
        site.identity = .persistent
        let audit = AuditEntry(at: TestData.midnight, actor: hostile, action: hostile, site: hostile, subjectKind: hostile, subjectHash: hostile, rows: hostile)
        let html = pages.render(PrivacyPage(site: site, oldestEvent: nil, scrubbed: [.email: 2], audit: [audit], csrf: hostile, username: hostile,
                                            message: hostile, error: hostile,
                                            confirm: .init(events: 1, sessions: 1, subjectLabel: hostile, kind: hostile, value: hostile)), template: "privacy")
        assertEscaped(html)
        #expect(html.contains("Visitor ID"))
        let stored = pages.render(StoredPage(csrf: hostile, username: hostile, isAdmin: true), template: "stored")
        #expect(stored.contains("<code>user_hash</code>"))
        #expect(!stored.contains("<script>alert"))
    }
}
