import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Resolves the client IP, believing `X-Forwarded-For` only from trusted proxies.
///
/// The chain is walked right to left: each hop appended by a trusted proxy is skipped,
/// and the first untrusted address is the client. A client cannot spoof its IP by
/// sending its own header, because that part is left of a trusted hop.
public struct ClientAddressResolver: Sendable {
    let trusted: [CIDR]

    public init(trustedProxies: [String]) throws(ConfigValueError) {
        self.trusted = try trustedProxies.map { entry throws(ConfigValueError) in
            guard let cidr = CIDR(entry) else { throw ConfigValueError(key: "trusted_proxies", message: "\"\(entry)\" is not an IP address or CIDR range") }
            return cidr
        }
    }

    public func clientIP(peer: SocketAddress?, headers: HTTPFields) -> String {
        let peerIP = peer?.ipAddress ?? "0.0.0.0"
        guard !trusted.isEmpty, isTrusted(peerIP) else { return peerIP }
        let hops = headers[values: .xForwardedFor].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        guard !hops.isEmpty else { return peerIP }
        for hop in hops.reversed() where !hop.isEmpty {
            if !isTrusted(hop) { return hop }
        }
        return hops[0]
    }

    /// Whether the request came over HTTPS to a trusted proxy in front of Veil: the
    /// direct peer is trusted and says `X-Forwarded-Proto: https`. Anyone else's header
    /// is ignored.
    public func forwardedHTTPS(peer: SocketAddress?, headers: HTTPFields) -> Bool {
        guard !trusted.isEmpty, isTrusted(peer?.ipAddress ?? ""), let proto = headers[.xForwardedProto] else { return false }
        // A chain of proxies lists one value each; the first is what the client used.
        return proto.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() == "https" } ?? false
    }

    private func isTrusted(_ ip: String) -> Bool {
        guard let bytes = CIDR.parseIP(ip) else { return false }
        return trusted.contains { $0.contains(bytes) }
    }
}

/// An IPv4 or IPv6 network, e.g. `10.0.0.0/8`, `::1/128`, or a bare address.
struct CIDR: Sendable {
    let network: [UInt8]
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let bytes = Self.parseIP(String(first)) else { return nil }
        let bits = bytes.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        network = bytes
    }

    func contains(_ address: [UInt8]) -> Bool {
        guard address.count == network.count else { return false }
        var remaining = prefix
        for i in 0..<network.count where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if address[i] & mask != network[i] & mask { return false }
            remaining -= take
        }
        return true
    }

    static func parseIP(_ text: String) -> [UInt8]? {
        var s = text
        if s.hasPrefix("[") && s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let address = try? SocketAddress(ipAddress: s, port: 0) {
            switch address {
            case .v4(let v4):
                return withUnsafeBytes(of: v4.address.sin_addr) { Array($0) }
            case .v6(let v6):
                return withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) }
            default:
                return nil
            }
        }
        return nil
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
    static let xForwardedProto = Self("X-Forwarded-Proto")!
    static let dnt = Self("DNT")!
    static let secGPC = Self("Sec-GPC")!
}

/// A configuration value that failed validation, naming its key.
public struct ConfigValueError: Error, Sendable, CustomStringConvertible {
    public var key: String
    public var message: String

    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}
