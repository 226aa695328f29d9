import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Storage
@testable import Web

/// The router tier: every authenticated route's answer to nobody, to a session without
/// the CSRF token, and to its owner, without a socket (`app.test(.router)`).
@Suite("Routes: status, auth and CSRF of every route")
struct RouteContractTests {
    typealias Case = (method: HTTPRequest.Method, path: String, status: HTTPResponse.Status)

    /// Nobody signed in: pages send to the sign-in form, form posts are refused, the API
    /// wants a token, unknown public links do not exist.
    static let anonymous: [Case] = [
        (.get, "/sites", .seeOther), (.get, "/stored", .seeOther),
        (.get, "/sites/localhost", .seeOther), (.get, "/sites/localhost/breakdown/page", .seeOther), (.get, "/sites/localhost/csv/page", .seeOther),
        (.get, "/sites/localhost/funnels", .seeOther), (.get, "/sites/localhost/journeys", .seeOther), (.get, "/sites/localhost/retention", .seeOther),
        (.get, "/sites/localhost/live", .seeOther), (.get, "/sites/localhost/replays", .seeOther), (.get, "/sites/localhost/replays/1", .seeOther),
        (.get, "/sites/localhost/privacy", .seeOther), (.post, "/sites/localhost/privacy/export", .seeOther), (.post, "/sites/localhost/privacy/erase", .seeOther),
        (.post, "/sites/localhost/share", .unauthorized), (.post, "/sites/localhost/share/revoke", .unauthorized),
        (.post, "/sites/localhost/replays/1/delete", .unauthorized), (.post, "/sites/localhost/replay/picker", .unauthorized),
        (.post, "/sites/localhost/replay/selectors/remove", .unauthorized),
        (.get, "/share/no-such-link", .notFound), (.get, "/share/no-such-link/funnels", .notFound),
        (.get, "/api/stats/overview?site=localhost", .unauthorized), (.get, "/api/stats/funnel?site=localhost", .unauthorized),
        (.get, "/api/recordings?site=localhost", .unauthorized), (.get, "/api/recordings/1/events", .unauthorized), (.delete, "/api/recordings/1", .unauthorized),
        (.get, "/api/privacy/export?site=localhost&session=1", .unauthorized), (.post, "/api/privacy/erase", .unauthorized), (.get, "/metrics", .unauthorized),
        (.get, "/sites/localhost/feedback", .seeOther), (.get, "/sites/localhost/feedback.csv", .seeOther), (.get, "/api/stats/feedback?site=localhost", .unauthorized),
        (.get, "/sites/localhost/heatmaps", .seeOther), (.get, "/api/stats/heatmap?site=localhost&page=/", .unauthorized),
    ]

    /// Signed in, but the state-changing request carries no CSRF token.
    static let withoutCSRF: [Case] = [
        (.post, "/sites/localhost/share", .forbidden), (.post, "/sites/localhost/share/revoke", .forbidden),
        (.post, "/sites/localhost/replays/1/delete", .forbidden), (.post, "/sites/localhost/replay/picker", .forbidden),
        (.post, "/sites/localhost/replay/selectors/remove", .forbidden),
        (.post, "/sites/localhost/privacy/export", .forbidden), (.post, "/sites/localhost/privacy/erase", .forbidden),
        (.delete, "/api/recordings/1", .forbidden), (.get, "/api/privacy/export?site=localhost&session=1", .forbidden),
    ]

    /// Signed in: every page answers, an unknown site does not exist.
    static let owner: [Case] = [
        (.get, "/sites", .ok), (.get, "/stored", .ok), (.get, "/sites/localhost", .ok), (.get, "/sites/localhost/breakdown/page", .ok),
        (.get, "/sites/localhost/csv/page", .ok), (.get, "/sites/localhost/funnels", .ok), (.get, "/sites/localhost/journeys", .ok),
        (.get, "/sites/localhost/retention", .ok), (.get, "/sites/localhost/live", .ok), (.get, "/sites/localhost/replays", .ok),
        (.get, "/sites/localhost/privacy", .ok), (.get, "/api/stats/overview?site=localhost", .ok), (.get, "/api/recordings?site=localhost", .ok),
        (.get, "/sites/nowhere.test", .notFound), (.get, "/sites/nowhere.test/replays", .notFound), (.get, "/sites/nowhere.test/privacy", .notFound),
        (.get, "/sites/localhost/replays/999", .notFound), (.get, "/sites/localhost/breakdown/nope", .notFound),
        (.get, "/sites/localhost/feedback", .ok), (.get, "/sites/localhost/feedback.csv", .ok), (.get, "/api/stats/feedback?site=localhost", .ok),
        (.get, "/sites/nowhere.test/feedback", .notFound), (.get, "/api/stats/feedback?site=localhost&band=7", .badRequest),
        (.get, "/sites/localhost/heatmaps", .ok), (.get, "/sites/localhost/heatmaps?device=watch", .badRequest), (.get, "/api/stats/heatmap?site=localhost&page=/", .ok),
        (.get, "/api/stats/heatmap?site=localhost", .badRequest), (.get, "/api/stats/heatmap?site=localhost&page=pricing", .badRequest),
    ]

    @Test func everyRouteAnswersNobodyASessionWithoutCSRFAndItsOwner() async throws {
        let dir = TempDir()
        let config = replayConfig(dataDir: dir.path)
        // The admin is created once the server is listening, which the router tier never does.
        try await VeilDatabase.open(folder: dir.path).upsertUser(username: config.adminUsername, passwordHash: config.adminPasswordHash, nowMillis: 0)
        let app = try await buildApplication(config: config, environment: TestData.environment())
        try await app.test(.router) { client in
            for c in Self.anonymous {
                let r = try await client.execute(uri: c.path, method: c.method, headers: [.contentType: "application/x-www-form-urlencoded"])
                #expect(r.status == c.status, "anonymous \(c.method) \(c.path): \(r.status)")
                if r.status == .seeOther { #expect(r.headers[.location] == "/login", "\(c.path)") }
            }
            var jar = Jar()
            let signIn = try await DashboardTests().signIn(client, jar: &jar)
            #expect(signIn.status == .seeOther && jar.cookies["veil_session"] != nil, "\(signIn.status) \(signIn.headers) \(String(buffer: signIn.body).prefix(300))")
            var form = jar.header
            form[.contentType] = "application/x-www-form-urlencoded"
            for c in Self.withoutCSRF {
                let r = try await client.execute(uri: c.path, method: c.method, headers: form, body: ByteBuffer(string: "kind=session&value=1"))
                #expect(r.status == c.status, "without CSRF \(c.method) \(c.path): \(r.status)")
            }
            for c in Self.owner {
                let r = try await client.execute(uri: c.path, method: c.method, headers: jar.header)
                #expect(r.status == c.status, "owner \(c.method) \(c.path): \(r.status)")
            }
        }
    }
}
