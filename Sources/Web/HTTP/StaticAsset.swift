import Storage
import Crypto
import Hummingbird
import NIOCore
import Privacy

/// An embedded file served with a strong ETag and, to clients that accept it, gzip
/// compression done once at startup (the tracker is fetched by every visitor of every site).
struct StaticAsset: Sendable {
    let plain: [UInt8]
    let gzipped: [UInt8]?
    let contentType: String
    let etag: String

    init(_ bytes: [UInt8], contentType: String) {
        plain = bytes
        let compressed = Zlib.compress(bytes, wrapper: .gzip)
        gzipped = compressed.flatMap { $0.count < bytes.count ? $0 : nil }
        self.contentType = contentType
        etag = "\"" + SHA256.hash(data: bytes).prefix(12).hexString + "\""
    }

    func response(to request: Request, extraHeaders: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.contentType: contentType, .cacheControl: "public, max-age=3600", .eTag: etag, .vary: "Accept-Encoding"]
        headers.append(contentsOf: extraHeaders)
        if let match = request.headers[.ifNoneMatch], match.split(separator: ",").contains(where: { $0.trimmingCharacters(in: .whitespaces) == etag }) {
            return Response(status: .notModified, headers: headers)
        }
        if let gzipped, Self.acceptsGzip(request.headers[.acceptEncoding]) {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: gzipped)))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: plain)))
    }

    /// `gzip` listed without `q=0`.
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        return header.lowercased().split(separator: ",").contains { part in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.first == "gzip" || pieces.first == "*" else { return false }
            return !pieces.dropFirst().contains { $0.replacingOccurrences(of: " ", with: "") == "q=0" || $0.hasPrefix("q=0.0") && Double($0.dropFirst(2)) == 0 }
        }
    }
}


import Foundation
