import Foundation
import NIOCore
import NIOSSL
import Synchronization

/// The server certificate and key (`tls.certificate`, `tls.private_key`, PEM), read at
/// start and again on SIGHUP. Every handshake takes the pair current at that moment
/// (through NIOSSL's per-hello callback), so a renewed certificate is served without a
/// restart and connections already open keep theirs.
final class CertificateStore: Sendable {
    struct Pair: @unchecked Sendable {
        // NIOSSL's certificate and key are immutable once parsed.
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    private let current: Mutex<Pair>

    init(certificate: String, privateKey: String) throws(TLSFilesError) {
        current = Mutex(try Self.read(certificate: certificate, privateKey: privateKey))
    }

    /// Reads both files again; on any error the served pair stays as it was.
    func reload(certificate: String, privateKey: String) throws(TLSFilesError) {
        let pair = try Self.read(certificate: certificate, privateKey: privateKey)
        current.withLock { $0 = pair }
    }

    static func read(certificate: String, privateKey: String) throws(TLSFilesError) -> Pair {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw TLSFilesError("tls.certificate: cannot read a PEM certificate from \(certificate) (\(error))")
        }
        guard !chain.isEmpty else { throw TLSFilesError("tls.certificate: \(certificate) holds no certificate") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: privateKey, format: .pem) } catch {
            throw TLSFilesError("tls.private_key: cannot read a PEM private key from \(privateKey) (\(error))")
        }
        return Pair(chain: chain, key: key)
    }

    /// The server configuration: TLS 1.2 or newer, HTTP/1.1, the pair chosen per handshake.
    func configuration() -> TLSConfiguration {
        let pair = current.withLock { $0 }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        tls.minimumTLSVersion = .tlsv12
        tls.applicationProtocols = ["http/1.1"]
        tls.sslContextCallback = { [self] _, promise in
            let pair = current.withLock { $0 }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return tls
    }
}

/// A certificate or key file that cannot be used, with what to do about it.
struct TLSFilesError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
