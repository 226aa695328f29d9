import Crypto

/// Cookieless visitor identity.
///
/// `visitor = first 16 bytes of HMAC-SHA256(daily salt, site ‖ 0 ‖ ip ‖ 0 ‖ ua)`. The
/// zero separators make the input unambiguous (`a|bc` and `ab|c` hash differently).
/// Once a salt is deleted the hash cannot be recomputed or linked to a new one.
public enum VisitorHasher {
    public static let byteCount = 16

    public static func hash(salt: [UInt8], site: String, clientIP: String, userAgent: String) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(site.utf8.count + clientIP.utf8.count + userAgent.utf8.count + 2)
        message.append(contentsOf: site.utf8)
        message.append(0)
        message.append(contentsOf: clientIP.utf8)
        message.append(0)
        message.append(contentsOf: userAgent.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: salt))
        return Array(mac.prefix(byteCount))
    }
}

/// Persistent identity: the raw IDs a browser or site sends are stored only as keyed
/// hashes, so the database alone cannot be matched against IDs seen elsewhere.
public enum IdentityHasher {
    /// `HMAC-SHA256(secret, site ‖ 0 ‖ visitorID)`, first 16 bytes.
    public static func visitor(secret: [UInt8], site: String, visitorID: String) -> [UInt8] {
        mac(secret, Array(site.utf8) + [0] + Array(visitorID.utf8))
    }

    /// `HMAC-SHA256(secret, site ‖ "user:" ‖ userID)`, first 16 bytes.
    public static func user(secret: [UInt8], site: String, userID: String) -> [UInt8] {
        mac(secret, Array(site.utf8) + Array("user:".utf8) + Array(userID.utf8))
    }

    private static func mac(_ secret: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret)).prefix(VisitorHasher.byteCount))
    }
}

/// The salt lifecycle as pure date arithmetic.
///
/// The salt for UTC day `d` is *current* during day `d`, *previous* during `d + 1`
/// (so sessions continue across midnight) and is deleted at the start of `d + 2`,
/// i.e. 48 hours after it came into use.
public enum SaltSchedule {
    /// The UTC day a salt is current on (salts rotate at UTC midnight whatever a site's zone).
    public static func day(ofMillis ms: Int64) -> Int64 { DayCalendar.utc.day(of: ms) }

    /// Days whose salts may exist at `nowMillis`: today and yesterday.
    public static func liveDays(at nowMillis: Int64) -> ClosedRange<Int64> {
        let today = day(ofMillis: nowMillis)
        return (today - 1)...today
    }

    /// Salts of days before this one must be deleted.
    public static func oldestLiveDay(at nowMillis: Int64) -> Int64 { day(ofMillis: nowMillis) - 1 }
}
