import Crypto
import _CryptoExtras
import Foundation
import NIOPosix

/// Salted PBKDF2-HMAC-SHA256 password hashes in the form
/// `pbkdf2-sha256$<iterations>$<base64 salt>$<base64 key>`.
///
/// The iteration count is stored in each hash, so it can be raised later without
/// invalidating existing passwords. 600,000 follows OWASP's current advice.
public struct PasswordHasher: Sendable {
    public let iterations: Int
    /// Told the rounds of every derivation (tests count the work a sign-in does).
    let observe: (@Sendable (Int) -> Void)?

    public init(iterations: Int = 600_000, observe: (@Sendable (Int) -> Void)? = nil) {
        self.iterations = iterations
        self.observe = observe
    }

    public func hash(_ password: String, salt: [UInt8]) throws -> String {
        let key = try derive(password, salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(key).base64EncodedString())"
    }

    public func verify(_ password: String, against stored: String) -> Bool {
        guard let (iterations, salt, expected) = Self.parse(stored),
              let actual = try? derive(password, salt: salt, iterations: iterations) else { return false }
        return constantTimeEqual(actual, expected)
    }

    /// `verify` on NIO's blocking thread pool: a PBKDF2 run takes a core for a long
    /// while, and on the cooperative pool 16 sign-ins made `/healthz` wait 1.8 s.
    public func verifyOffloaded(_ password: String, against stored: String) async -> Bool {
        (try? await NIOThreadPool.singleton.runIfActive { verify(password, against: stored) }) ?? false
    }

    /// Whether a string has the shape of a hash this type produces (config validation).
    public static func isWellFormed(_ stored: String) -> Bool { parse(stored) != nil }

    /// Splits `pbkdf2-sha256$<iterations>$<salt>$<key>` into its parts.
    private static func parse(_ stored: String) -> (iterations: Int, salt: [UInt8], key: [UInt8])? {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]), iterations >= 1,
              let salt = Data(base64Encoded: String(parts[2])), let key = Data(base64Encoded: String(parts[3])) else { return nil }
        return (iterations, [UInt8](salt), [UInt8](key))
    }

    private func derive(_ password: String, salt: [UInt8], iterations: Int) throws -> [UInt8] {
        observe?(iterations)
        let key = try KDF.Insecure.PBKDF2.deriveKey(from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: iterations)
        return key.withUnsafeBytes { Array($0) }
    }
}

/// Compares secrets without an early exit, so timing does not reveal a prefix match.
public func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var diff: UInt8 = 0
    for i in 0..<a.count { diff |= a[i] ^ b[i] }
    return diff == 0
}
