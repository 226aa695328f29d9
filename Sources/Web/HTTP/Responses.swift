import Foundation
import Hummingbird
import NIOCore
import Privacy

/// A JSON error answer: `{"error": code, "detail": …}` with a 4xx/5xx status.
public struct APIError: Error, Sendable {
    public var status: HTTPResponse.Status
    public var code: String
    public var detail: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
    }

    public var response: Response {
        var r = Response.json(status: status, JSONWriter.object([("error", code), ("detail", detail)]))
        for field in headers { r.headers.append(field) }
        return r
    }
}

extension Response {
    static func json(status: HTTPResponse.Status = .ok, _ body: String, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "application/json; charset=utf-8"
        h[.cacheControl] = "no-store"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    /// An Encodable answer as JSON, keys sorted (not for the ingest hot path, which
    /// writes its few fixed answers by hand). Escaped like `JSONWriter.string`
    /// (`JSONWriter.htmlSafe`), so a hostile value can never close a tag.
    static func json<T: Encodable>(status: HTTPResponse.Status = .ok, _ value: T, headers: HTTPFields = [:]) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = JSONWriter.htmlSafe(String(decoding: try encoder.encode(value), as: UTF8.self))
        return json(status: status, text, headers: headers)
    }

    static func html(status: HTTPResponse.Status = .ok, _ body: String, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.contentType] = "text/html; charset=utf-8"
        h[.cacheControl] = "no-store"
        return Response(status: status, headers: h, body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func seeOther(_ location: String, headers: HTTPFields = [:]) -> Response {
        var h = headers
        h[.location] = location
        return Response(status: .seeOther, headers: h)
    }
}

extension APIError {
    /// The 400 for a JSON body that does not parse: `invalid_utf8`, `duplicate_key` or
    /// `invalid_json`, with what was expected.
    static func json(_ error: JSONParseError, expected: String) -> APIError {
        switch error {
        case .invalidUTF8: return APIError(.badRequest, "invalid_utf8", "the body is not valid UTF-8")
        case .duplicateKey(let key): return APIError(.badRequest, "duplicate_key", "the key \"\(key.prefix(64))\" appears twice in one object")
        case .tooDeep: return APIError(.badRequest, "invalid_json", "the body nests too deeply; send \(expected)")
        case .syntax(let offset, let what): return APIError(.badRequest, "invalid_json", "expected \(what) at byte \(offset); send \(expected)")
        }
    }
}
