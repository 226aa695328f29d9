import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
@testable import Storage
@testable import Web

/// Cookie jar for one test client.
struct Jar {
    var cookies: [String: String] = [:]

    mutating func take(_ response: TestResponse) {
        for value in response.headers[values: .setCookie] {
            let pair = value.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
    }

    var header: HTTPFields {
        [.cookie: cookies.filter { !$0.value.isEmpty }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }
}

func hiddenCSRF(_ html: String) -> String {
    guard let r = html.range(of: #"name="csrf" value=""#) else { return "" }
    return String(html[r.upperBound...].prefix { $0 != "\"" })
}

func form(_ fields: [String: String]) -> ByteBuffer {
    ByteBuffer(string: fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&"))
}

@Suite("Dashboard: sign-in, CSRF, rate limits, escaped output")
struct DashboardTests {
    let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    func signIn(_ client: some TestClientProtocol, jar: inout Jar, password: String = TestData.password) async throws -> TestResponse {
        let page = try await client.execute(uri: "/login", method: .get, headers: jar.header)
        jar.take(page)
        var headers = jar.header
        headers.append(contentsOf: formType)
        let r = try await client.execute(uri: "/login", method: .post, headers: headers,
                                         body: form(["csrf": hiddenCSRF(page.text), "username": "admin", "password": password]))
        jar.take(r)
        return r
    }

    @Test func signInSessionCookieAndSignOut() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            #expect(try await client.execute(uri: "/sites", method: .get).headers[.location] == "/login")
            var jar = Jar()
            let r = try await signIn(client, jar: &jar)
            #expect(r.status == .seeOther)
            #expect(r.headers[.location] == "/sites")
            let cookie = try #require(r.headers[values: .setCookie].first { $0.hasPrefix("veil_session=") })
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"))
            let sites = try await client.execute(uri: "/sites", method: .get, headers: jar.header)
            #expect(sites.status == .ok)
            #expect(sites.text.contains("localhost"))
            #expect(sites.text.contains("No data yet"))
            #expect(sites.text.contains("&lt;script defer src=&quot;http://"))
            let site = try await client.execute(uri: "/sites/localhost?range=30d", method: .get, headers: jar.header)
            #expect(site.status == .ok)
            #expect(site.text.contains("<svg"))
            let custom = try await client.execute(uri: "/sites/localhost?range=custom&from=2026-01-01&to=2026-01-31", method: .get, headers: jar.header)
            #expect(custom.status == .ok && custom.text.contains("2026-01-01 to 2026-01-31"))
            #expect(try await client.execute(uri: "/sites/nope.example", method: .get, headers: jar.header).status == .notFound)
            // The stats API accepts the signed-in session as well as the token.
            #expect(try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: jar.header).status == .ok)

            // Sign-out needs the CSRF token.
            var postHeaders = jar.header
            postHeaders.append(contentsOf: formType)
            let noToken = try await client.execute(uri: "/logout", method: .post, headers: postHeaders, body: form([:]))
            #expect(noToken.status == .forbidden)
            let out = try await client.execute(uri: "/logout", method: .post, headers: postHeaders, body: form(["csrf": hiddenCSRF(sites.text)]))
            #expect(out.status == .seeOther)
            // The old cookie no longer works: the session is deleted server-side.
            #expect(try await client.execute(uri: "/sites", method: .get, headers: jar.header).headers[.location] == "/login")
        }
    }

    @Test func secureCookiesWhenConfigured() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.secureCookies = true
        try await withLiveVeil(config) { client in
            var jar = Jar()
            let r = try await signIn(client, jar: &jar)
            #expect(r.headers[values: .setCookie].first { $0.hasPrefix("veil_session=") }?.contains("Secure") == true)
        }
    }

    @Test func loginNeedsCSRFAndIsRateLimited() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let noCSRF = try await client.execute(uri: "/login", method: .post, headers: formType, body: form(["username": "admin", "password": TestData.password]))
            #expect(noCSRF.status == .forbidden)
            var jar = Jar()
            for _ in 0..<5 {
                #expect(try await signIn(client, jar: &jar, password: "wrong").status == .unauthorized)
            }
            let limited = try await signIn(client, jar: &jar, password: TestData.password)
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] != nil)
            #expect(limited.text.contains("Too many failed attempts"))
        }
    }

    @Test func firstStartCreatesAdminWithAPrintedPasswordAndStoresOnlyAHash() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.adminPasswordHash = ""
        try await withLiveVeil(config) { _ in }
        let db = try VeilDatabase.open(folder: dir.path)
        let user = try #require(try await db.user(named: "admin"))
        #expect(user.passwordHash.hasPrefix("pbkdf2-sha256$"))
        let attributes = try FileManager.default.attributesOfItem(atPath: dir.path + "/secret.key")
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        // A second start keeps the same user and secret.
        let secret = try String(contentsOfFile: dir.path + "/secret.key", encoding: .utf8)
        try await withLiveVeil(config) { _ in }
        #expect(try await db.user(named: "admin")?.passwordHash == user.passwordHash)
        #expect(try String(contentsOfFile: dir.path + "/secret.key", encoding: .utf8) == secret)
    }

    @Test func hostileDataIsEscapedOnEveryPage() async throws {
        let dir = TempDir()
        let evil = #"<script>alert(1)</script>"#
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            let events = [
                #"{"site":"localhost","name":"pageview","url":"http://localhost/<script>alert(1)</script>","referrer":"https://evil.example/\"><img src=x onerror=alert(1)>"}"#,
                #"{"site":"localhost","name":"<script>alert(1)</script>","url":"http://localhost/'onmouseover='alert(1)"}"#,
                #"{"site":"localhost","name":"\"><svg onload=alert(1)>","url":"http://localhost/x"}"#,
            ]
            for e in events {
                let r = try await client.post("/api/event", e)
                #expect(r.text == #"{"accepted":1}"#)
            }
            var jar = Jar()
            _ = try await signIn(client, jar: &jar)
            let page = try await client.execute(uri: "/sites/localhost?range=today", method: .get, headers: jar.header).text
            #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            #expect(!page.contains(evil))
            #expect(!page.contains("<img src=x"))
            #expect(!page.contains("<svg onload"))
            #expect(!page.contains("'onmouseover='"))
            let json = try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: bearer).text
            #expect(!json.contains("<script>"))
            #expect(json.contains(#"\u003cscript\u003e"#))
        }
    }
}


import VeilAssets
