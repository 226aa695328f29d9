import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
import Privacy
@testable import Storage
@testable import Web
import Synchronization

/// Sign-in throttling, sessions, CSRF on API changes, the picker redirect and log escaping:
/// counted in decisions and statuses, never in time.
@Suite("Sign-in and tokens under attack")
struct SignInHardeningTests {
    @Test func concurrentGuessesCannotExceedTheLimit() async {
        let throttle = LoginThrottle(maxFailures: 5, windowMillis: 900_000, clock: ManualTime(0).source)
        // 40 attempts reserved before any finishes, as 40 simultaneous requests would.
        var allowed = 0
        for _ in 0..<40 {
            if case .allowed = await throttle.reserve(ip: "198.51.100.9", username: "admin") { allowed += 1 }
        }
        #expect(allowed == 5)
    }

    @Test func anAttackerCannotLockTheOwnerOut() async {
        let time = ManualTime(0)
        let throttle = LoginThrottle(maxFailures: 5, windowMillis: 900_000, clock: time.source)
        // Many addresses guess the admin's password.
        for attacker in 0..<50 {
            if case .allowed(let r) = await throttle.reserve(ip: "203.0.113.\(attacker)", username: "admin") {
                await throttle.finish(r, succeeded: false)
            }
            time.advance(30_000)
        }
        // The attacker's own address is held back; the owner is slowed, never locked.
        time.advance(30_000)
        guard case .allowed(let owner) = await throttle.reserve(ip: "192.0.2.1", username: "admin") else {
            Issue.record("the owner was locked out by someone else's failures"); return
        }
        await throttle.finish(owner, succeeded: true)
        var attackerRefused = false
        for _ in 0..<6 {
            switch await throttle.reserve(ip: "203.0.113.7", username: "admin") {
            case .allowed(let r): await throttle.finish(r, succeeded: false)
            case .wait: attackerRefused = true
            }
        }
        #expect(attackerRefused)
    }

    @Test func throttleKeysAreBounded() async {
        let throttle = LoginThrottle(maxFailures: 5, windowMillis: 900_000, clock: ManualTime(0).source, maxKeys: 100)
        for i in 0..<2000 {
            if case .allowed(let r) = await throttle.reserve(ip: "10.0.\(i / 256).\(i % 256)", username: "user\(i)") {
                await throttle.finish(r, succeeded: false)
            }
        }
        #expect(await throttle.keyCount <= 3 * 100 + 2000, "bounded by maxKeys per kind plus the kept usernames")
    }

    @Test func pickerRedirectStaysOnTheSite() {
        var site = SiteRules(domain: "shop.example", origins: ["https://www.shop.example"])
        site.replay.enabled = true
        let fallback = "https://shop.example/"
        for hostile in ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "https://shop.example@evil.example/",
                        "https://evil.example/?https://shop.example/", "https://shop.example.evil.example/", "\thttps://evil.example", "data:text/html,x"] {
            #expect(ReplayPagesController.pickerTarget(hostile, site: site) == fallback, "\(hostile)")
        }
        for fine in ["https://shop.example/cart", "http://shop.example/", "https://www.shop.example/a?b=c"] {
            #expect(ReplayPagesController.pickerTarget(fine, site: site) == fine)
        }
    }

    @Test func loggedTextCannotStartALine() {
        let forged = "div.a\n2026-12-04T00:00:00+0000 critical veil: admin password reset\r\u{1b}[2J\u{2028}"
        let clean = LogText.clean(forged)
        #expect(!clean.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x2028 })
        #expect(clean.contains("\\u{a}"))
        #expect(LogText.clean("plain text") == "plain text")
    }

    @Test func deletingAndExportingNeedTheCSRFTokenOrTheBearer() async throws {
        let dir = TempDir()
        let config = TestData.config(dataDir: dir.path)
        try await withLiveVeil(config) { client in
            var jar = Jar()
            let page = try await client.execute(uri: "/login", method: .get)
            jar.take(page)
            var headers = jar.header
            headers[.contentType] = "application/x-www-form-urlencoded"
            let signed = try await client.execute(uri: "/login", method: .post, headers: headers,
                                                  body: form(["csrf": hiddenCSRF(page.text), "username": "admin", "password": TestData.password]))
            jar.take(signed)
            #expect(signed.status == .seeOther)
            // A cross-site request carries the cookie but cannot know the token.
            let delete = try await client.execute(uri: "/api/recordings/1", method: .delete, headers: jar.header)
            #expect(delete.status == .forbidden)
            #expect(delete.json["error"] as? String == "csrf")
            let export = try await client.execute(uri: "/api/privacy/export?site=localhost&visitor_id=abc", method: .get, headers: jar.header)
            #expect(export.status == .forbidden)
            // The token the dashboard holds makes the same request pass the check.
            let dashboard = try await client.execute(uri: "/sites/localhost/privacy", method: .get, headers: jar.header)
            var withToken = jar.header
            withToken[.xCSRFToken] = hiddenCSRF(dashboard.text)
            #expect(try await client.execute(uri: "/api/recordings/1", method: .delete, headers: withToken).status != .forbidden)
            #expect(try await client.execute(uri: "/api/recordings/1", method: .delete, headers: bearer).status != .forbidden)
        }
    }

    @Test func aNewPasswordEndsEverySession() async throws {
        let dir = TempDir()
        let config = TestData.config(dataDir: dir.path)
        let db = try VeilDatabase.open(folder: dir.path)
        try await db.upsertUser(username: "admin", passwordHash: config.adminPasswordHash, nowMillis: 1)
        let user = try #require(try await db.user(named: "admin"))
        try await db.createLoginSession(tokenHash: Array(repeating: 1, count: 32), userID: user.id, nowMillis: 1, expiresAt: Int64.max / 2)
        #expect(try await db.userForLoginSession(tokenHash: Array(repeating: 1, count: 32), nowMillis: 2) != nil)
        try await db.upsertUser(username: "admin", passwordHash: config.adminPasswordHash, nowMillis: 3)
        #expect(try await db.userForLoginSession(tokenHash: Array(repeating: 1, count: 32), nowMillis: 4) != nil, "the same hash keeps sessions")
        try await db.upsertUser(username: "admin", passwordHash: "pbkdf2-sha256$1000$AAAA$BBBB", nowMillis: 5)
        #expect(try await db.userForLoginSession(tokenHash: Array(repeating: 1, count: 32), nowMillis: 6) == nil, "a new password ends them")
    }

    /// Session cookies are HMACs under the server secret: a new secret signs everyone out.
    @Test func aNewServerSecretEndsEverySession() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.secret = String(repeating: "a1", count: 32)
        let jar = try await withLiveVeilResult(config) { client in
            var jar = Jar()
            _ = try await DashboardTests().signIn(client, jar: &jar)
            #expect(try await client.execute(uri: "/sites", method: .get, headers: jar.header).status == .ok)
            return jar
        }
        let sameSecret = try await withLiveVeilResult(config) { client in try await client.execute(uri: "/sites", method: .get, headers: jar.header).status }
        #expect(sameSecret == .ok, "a restart with the same secret keeps sessions")
        config.secret = String(repeating: "b2", count: 32)
        let newSecret = try await withLiveVeilResult(config) { client in try await client.execute(uri: "/sites", method: .get, headers: jar.header) }
        #expect(newSecret.status == .seeOther && newSecret.headers[.location] == "/login", "a new secret ends the session")
    }

    /// An unknown username costs the same key derivation as a wrong password, so timing
    /// does not tell which usernames exist.
    @Test func unknownUsersCostTheSameHashAsWrongPasswords() async throws {
        let dir = TempDir()
        let rounds = Mutex<[Int]>([])
        var environment = TestData.environment()
        environment.passwordHasher = PasswordHasher(iterations: TestData.fastHasher.iterations) { n in rounds.withLock { $0.append(n) } }
        let app = try await buildApplication(config: TestData.config(dataDir: dir.path), environment: environment)
        try await app.test(.live) { client in
            func attempt(_ username: String) async throws -> [Int] {
                rounds.withLock { $0 = [] }
                let page = try await client.execute(uri: "/login", method: .get)
                var jar = Jar()
                jar.take(page)
                var headers = jar.header
                headers.append(contentsOf: DashboardTests().formType)
                let r = try await client.execute(uri: "/login", method: .post, headers: headers,
                                                 body: form(["csrf": hiddenCSRF(page.text), "username": username, "password": "wrong-password"]))
                #expect(r.status == .unauthorized || r.status == .ok || r.status == .badRequest, "\(r.status)")
                return rounds.withLock { $0 }
            }
            let known = try await attempt("admin")
            let unknown = try await attempt("nobody-\(UUID().uuidString.prefix(8))")
            #expect(known == [TestData.fastHasher.iterations] && unknown == known, "known \(known), unknown \(unknown)")
        }
    }
}
