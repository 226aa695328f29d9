import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import Storage
@testable import Web

/// Several dashboard users: the Users page, viewers' limits, own password changes.
@Suite("Dashboard users: admins, viewers, passwords")
struct UsersTests {
    static let formType: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    static func signIn(_ client: some TestClientProtocol, _ jar: inout Jar, user: String, password: String) async throws -> TestResponse {
        let page = try await client.execute(uri: "/login", method: .get, headers: jar.header)
        jar.take(page)
        var headers = jar.header
        headers.append(contentsOf: formType)
        let r = try await client.execute(uri: "/login", method: .post, headers: headers,
                                         body: form(["csrf": hiddenCSRF(page.text), "username": user, "password": password]))
        jar.take(r)
        return r
    }

    /// Posts a form (fields in order, repeats allowed) with the jar's cookies.
    static func post(_ client: some TestClientProtocol, _ jar: Jar, _ uri: String, _ fields: [(String, String)]) async throws -> TestResponse {
        var headers = jar.header
        headers.append(contentsOf: formType)
        let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func shownPassword(_ html: String) -> String? {
        guard let r = html.range(of: "shown only this once: ") else { return nil }
        return String(html[r.upperBound...].prefix { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
    }

    /// The layout's Users link is on every page an admin opens, and on none a viewer opens.
    @Test func theUsersLinkFollowsTheRoleOnEveryPage() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            var admin = Jar()
            _ = try await Self.signIn(client, &admin, user: "admin", password: TestData.password)
            let csrf = hiddenCSRF(try await client.execute(uri: "/users", method: .get, headers: admin.header).text)
            let added = try await Self.post(client, admin, "/users/add", [("csrf", csrf), ("username", "viv"), ("role", "viewer"), ("site", "example.com")])
            let vivPassword = try #require(Self.shownPassword(added.text), "\(added.text)")
            var viv = Jar()
            _ = try await Self.signIn(client, &viv, user: "viv", password: vivPassword)
            let sitePages = ["", "/breakdown/page", "/funnels", "/journeys", "/retention", "/live", "/replays", "/feedback", "/heatmaps"]
            let adminPages = ["/sites", "/stored", "/account", "/users", "/sites/example.com/privacy"] + sitePages.map { "/sites/example.com" + $0 }
            for uri in adminPages {
                let page = try await client.execute(uri: uri, method: .get, headers: admin.header)
                #expect(page.status == .ok && page.text.contains("href=\"/users\""), "admin page \(uri): \(page.status)")
            }
            let shared = try await Self.post(client, admin, "/sites/example.com/share", [("csrf", csrf)])
            #expect(shared.status == .ok && shared.text.contains("href=\"/users\""), "share created: \(shared.status)")
            for uri in ["/sites", "/stored", "/account"] + sitePages.map({ "/sites/example.com" + $0 }) {
                let page = try await client.execute(uri: uri, method: .get, headers: viv.header)
                #expect(page.status == .ok && !page.text.contains("href=\"/users\""), "viewer page \(uri): \(page.status)")
            }
        }
    }

    @Test func adminsManageUsersAndViewersSeeOnlyTheirSites() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            var admin = Jar()
            _ = try await Self.signIn(client, &admin, user: "admin", password: TestData.password)
            let usersPage = try await client.execute(uri: "/users", method: .get, headers: admin.header)
            #expect(usersPage.status == .ok && usersPage.text.contains("admin <span class=\"muted\">(you)</span>"), "\(usersPage.text)")
            let csrf = hiddenCSRF(usersPage.text)
            // CSRF is required.
            #expect(try await Self.post(client, admin, "/users/add", [("csrf", "wrong"), ("username", "viv"), ("role", "viewer")]).status == .forbidden)
            #expect(try await Self.post(client, admin, "/users/add", [("csrf", csrf), ("username", "<b>x</b>"), ("role", "viewer")]).status == .badRequest)
            let added = try await Self.post(client, admin, "/users/add", [("csrf", csrf), ("username", "viv"), ("role", "viewer"), ("site", "example.com"), ("site", "not-configured.test")])
            let vivPassword = try #require(Self.shownPassword(added.text), "\(added.text)")
            #expect(added.status == .ok && added.text.contains("Viewer of example.com"), "\(added.text)")
            #expect(try await Self.post(client, admin, "/users/add", [("csrf", csrf), ("username", "viv"), ("role", "viewer")]).status == .conflict)

            // The viewer: only example.com, no admin tools, anywhere.
            var viv = Jar()
            #expect(try await Self.signIn(client, &viv, user: "viv", password: vivPassword).status == .seeOther)
            let sites = try await client.execute(uri: "/sites", method: .get, headers: viv.header)
            #expect(sites.text.contains("href=\"/sites/example.com\"") && !sites.text.contains("href=\"/sites/localhost\"") && !sites.text.contains("href=\"/users\""))
            #expect(try await client.execute(uri: "/sites/localhost", method: .get, headers: viv.header).status == .notFound)
            let site = try await client.execute(uri: "/sites/example.com", method: .get, headers: viv.header)
            #expect(site.status == .ok && !site.text.contains("Public link"))
            let replays = try await client.execute(uri: "/sites/example.com/replays", method: .get, headers: viv.header)
            #expect(replays.status == .ok && !replays.text.contains("Pick elements") && !replays.text.contains("/privacy"))
            let vivCSRF = hiddenCSRF(site.text)
            #expect(try await client.execute(uri: "/sites/example.com/privacy", method: .get, headers: viv.header).status == .forbidden)
            #expect(try await Self.post(client, viv, "/sites/example.com/share", [("csrf", vivCSRF)]).status == .forbidden)
            #expect(try await Self.post(client, viv, "/sites/example.com/replays/1/delete", [("csrf", vivCSRF)]).status == .forbidden)
            #expect(try await Self.post(client, viv, "/sites/example.com/replay/picker", [("csrf", vivCSRF), ("url", "https://example.com/")]).status == .forbidden)
            #expect(try await client.execute(uri: "/users", method: .get, headers: viv.header).status == .forbidden)
            #expect(try await Self.post(client, viv, "/users/add", [("csrf", vivCSRF), ("username", "x"), ("role", "admin")]).status == .forbidden)
            // The API with the viewer's session: their site only, no privacy tools or metrics.
            #expect(try await client.execute(uri: "/api/stats/overview?site=example.com", method: .get, headers: viv.header).status == .ok)
            #expect(try await client.execute(uri: "/api/stats/overview?site=localhost", method: .get, headers: viv.header).status == .forbidden)
            var withCSRF = viv.header
            withCSRF[.init("X-CSRF-Token")!] = vivCSRF
            #expect(try await client.execute(uri: "/api/privacy/export?site=example.com&visitor=abc", method: .get, headers: withCSRF).status == .forbidden)
            #expect(try await client.execute(uri: "/api/recordings?site=localhost", method: .get, headers: viv.header).status == .forbidden)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: viv.header).status == .forbidden)

            // Own password: a second session of viv ends, this one stays.
            var vivElsewhere = Jar()
            _ = try await Self.signIn(client, &vivElsewhere, user: "viv", password: vivPassword)
            let account = try await client.execute(uri: "/account", method: .get, headers: viv.header)
            #expect(account.status == .ok && account.text.contains("viewer of example.com"))
            #expect(try await Self.post(client, viv, "/account/password", [("csrf", vivCSRF), ("current", "wrong"), ("new", "a-new-long-password"), ("confirm", "a-new-long-password")]).status == .forbidden)
            #expect(try await Self.post(client, viv, "/account/password", [("csrf", vivCSRF), ("current", vivPassword), ("new", "short"), ("confirm", "short")]).status == .badRequest)
            let changed = try await Self.post(client, viv, "/account/password", [("csrf", vivCSRF), ("current", vivPassword), ("new", "a-new-long-password"), ("confirm", "a-new-long-password")])
            #expect(changed.status == .ok && changed.text.contains("Password changed"))
            #expect(try await client.execute(uri: "/sites", method: .get, headers: viv.header).status == .ok)
            #expect(try await client.execute(uri: "/sites", method: .get, headers: vivElsewhere.header).headers[.location] == "/login")

            // The admin gives viv localhost too, then resets the password: every viv session ends.
            let updated = try await Self.post(client, admin, "/users/update", [("csrf", csrf), ("username", "viv"), ("role", "viewer"), ("site", "example.com"), ("site", "localhost")])
            #expect(updated.status == .ok && updated.text.contains("a viewer of localhost, example.com"), "\(updated.text)")
            #expect(try await client.execute(uri: "/sites/localhost", method: .get, headers: viv.header).status == .ok)
            let reset = try await Self.post(client, admin, "/users/reset", [("csrf", csrf), ("username", "viv")])
            #expect(reset.status == .ok && Self.shownPassword(reset.text) != nil)
            #expect(try await client.execute(uri: "/sites", method: .get, headers: viv.header).headers[.location] == "/login")

            // The last admin stays; a viewer can be removed.
            #expect(try await Self.post(client, admin, "/users/remove", [("csrf", csrf), ("username", "admin")]).status == .conflict)
            #expect(try await Self.post(client, admin, "/users/update", [("csrf", csrf), ("username", "admin"), ("role", "viewer")]).status == .conflict)
            let removed = try await Self.post(client, admin, "/users/remove", [("csrf", csrf), ("username", "viv")])
            #expect(removed.status == .ok && !removed.text.contains(">viv<"))
        }
        // Every change is in the audit log, with who made it.
        let queue = try DatabaseQueue(path: dir.path + "/veil.sqlite")
        let actions = try await queue.read { db in try String.fetchAll(db, sql: "SELECT actor || ' ' || action FROM audit_log WHERE subject_kind = 'user' ORDER BY id") }
        #expect(actions == ["admin user.add", "viv user.change_password", "admin user.update", "admin user.reset_password", "admin user.remove"], "\(actions)")
    }

    @Test(.enabled(if: DurabilityTests.binary != nil, "the veil binary is not built next to the tests"))
    func theUserCommandAddsListsChangesAndRemoves() async throws {
        let dir = TempDir()
        let config = dir.path + "-veil.yaml"
        defer { try? FileManager.default.removeItem(atPath: config) }
        try "data_dir: \(dir.path)\nsites:\n  - domain: a.test\n  - domain: b.test\n".write(toFile: config, atomically: true, encoding: .utf8)
        _ = try VeilDatabase.open(folder: dir.path)
        let (added, addOutput) = try DurabilityTests.runToExit(["user", "add", "ops", "--role", "viewer", "--sites", "b.test", "--config", config])
        #expect(added == 0 && addOutput.contains("added ops (viewer of b.test)"), "\(addOutput)")
        let password = try #require(addOutput.components(separatedBy: "password (shown only this once): ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        let db = try VeilDatabase.open(folder: dir.path)
        let ops = try #require(try await db.user(named: "ops"))
        #expect(ops.role == .viewer && ops.sites == ["b.test"] && PasswordHasher().verify(password, against: ops.passwordHash))
        #expect(try DurabilityTests.runToExit(["user", "add", "x", "--sites", "nowhere.test", "--config", config]).1.contains("nowhere.test is not a site in the config"))
        #expect(try DurabilityTests.runToExit(["user", "add", "root", "--role", "admin", "--config", config]).0 == 0)
        let (_, list) = try DurabilityTests.runToExit(["user", "list", "--config", config])
        #expect(list.contains("ops\tviewer\tb.test") && list.contains("root\tadmin\t*"), "\(list)")
        let (changed, changeOutput) = try DurabilityTests.runToExit(["user", "passwd", "ops", "--config", config])
        let newPassword = try #require(changeOutput.components(separatedBy: "password (shown only this once): ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(changed == 0 && newPassword != password)
        #expect(PasswordHasher().verify(newPassword, against: try #require(try await db.user(named: "ops")).passwordHash))
        #expect(try DurabilityTests.runToExit(["user", "remove", "ops", "--config", config]).0 == 0)
        let (last, lastOutput) = try DurabilityTests.runToExit(["user", "remove", "root", "--config", config])
        #expect(last != 0 && lastOutput.contains("root is the last admin"), "\(lastOutput)")
        #expect(try await db.users().map(\.username) == ["root"])
    }
}
