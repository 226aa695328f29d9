import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Web

/// Behind a proxy that terminates TLS, cookies are Secure when the trusted proxy says the
/// client used HTTPS, and only then.
@Suite("Secure cookies behind a proxy")
struct SecureCookieTests {
    static func loginCookie(_ client: any TestClientProtocol, headers: HTTPFields) async throws -> String {
        let response = try await client.execute(uri: "/login", method: .get, headers: headers)
        return response.headers[values: .setCookie].first { $0.hasPrefix("veil_login_csrf=") } ?? ""
    }

    @Test func forwardedProtoFromATrustedProxyMakesCookiesSecure() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.trustedProxies = ["127.0.0.1"]
        try await withLiveVeil(config) { client in
            let https = try await Self.loginCookie(client, headers: [.init("X-Forwarded-Proto")!: "https"])
            #expect(https.contains("; Secure"), "\(https)")
            let plain = try await Self.loginCookie(client, headers: [.init("X-Forwarded-Proto")!: "http"])
            #expect(!plain.isEmpty && !plain.contains("Secure"), "\(plain)")
            let none = try await Self.loginCookie(client, headers: [:])
            #expect(!none.isEmpty && !none.contains("Secure"), "\(none)")
        }
        // The same header from a peer that is not a trusted proxy changes nothing.
        let other = TempDir()
        var untrusted = TestData.config(dataDir: other.path)
        untrusted.trustedProxies = ["10.0.0.0/8"]
        try await withLiveVeil(untrusted) { client in
            let cookie = try await Self.loginCookie(client, headers: [.init("X-Forwarded-Proto")!: "https"])
            #expect(!cookie.isEmpty && !cookie.contains("Secure"), "\(cookie)")
        }
    }

    @Test func aCertificateThatCannotBeReadStopsTheStartWithItsPath() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.tlsCertificate = dir.path + "/missing-cert.pem"
        config.tlsPrivateKey = dir.path + "/missing-key.pem"
        await #expect {
            _ = try await buildApplication(config: config, environment: TestData.environment())
        } throws: { error in
            "\(error)".contains("tls.certificate: cannot read a PEM certificate from \(dir.path)/missing-cert.pem")
        }
    }
}
