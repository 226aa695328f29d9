import Crypto
import Foundation
import Privacy

/// The magic-erasure picker's link token, carried in the URL fragment of the owner's
/// site: `<nonce>.<expires>.<signature>`, the signature an HMAC-SHA256 with the server
/// secret over the site, expiry and nonce. Veil stores only its SHA-256, and the picker
/// exchanges it once for a picker session key: a link that leaked (a screenshot, a
/// history entry) is useless after the picker opened it, and one that was never issued
/// for this site cannot be forged.
enum PickerLink {
    static func mint(site: String, expiresAt: Int64, nonce: [UInt8], secret: [UInt8]) -> String {
        let n = Data(nonce).base64URLEncoded
        return "\(n).\(expiresAt).\(signature(site: site, expiresAt: expiresAt, nonce: n, secret: secret))"
    }

    /// Whether `token` was signed by this server for `site` and has not expired.
    static func verify(_ token: String, site: String, nowMillis: Int64, secret: [UInt8]) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let expires = Int64(parts[1]), expires > nowMillis else { return false }
        let expected = signature(site: site, expiresAt: expires, nonce: String(parts[0]), secret: secret)
        return constantTimeEqual(Array(expected.utf8), Array(parts[2].utf8))
    }

    static func signature(site: String, expiresAt: Int64, nonce: String, secret: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("veil-picker|\(site)|\(expiresAt)|\(nonce)".utf8), using: SymmetricKey(data: secret))
        return Array(mac).hexString
    }
}
