import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Privacy

/// Keeps the error contract below the router, where the HTTP layer would otherwise answer
/// on its own: a request that does not parse (bad bytes in a header, an unknown method or
/// `Transfer-Encoding`, a bad `Content-Length`, headers over the limit) gets a 4xx with the
/// JSON error body instead of an empty 400; `CONNECT` gets a 405 instead of opening a
/// tunnel; and a response sent before its request's body was read (413, 429, 503…) closes
/// the connection, so the rest of a huge or endless body is never read.
final class ProtocolErrorHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// Between a request's head and its end.
    private var readingBody = false
    /// Between a response's head and its end.
    private var responding = false
    private var closeAfterResponse = false
    private var closed = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        switch unwrapInboundIn(data) {
        case .head(let head):
            if head.method == .connect {
                answer(context, status: .methodNotAllowed, code: "method_not_allowed", detail: "CONNECT is not supported", extra: [.allow: "GET, HEAD, POST, DELETE, OPTIONS"])
                return
            }
            readingBody = true
        case .body:
            break
        case .end:
            readingBody = false
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parse = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !readingBody && !responding {
            // No request in progress: nobody above would answer with a body, so answer here.
            let (status, code, detail) = Self.describe(parse)
            answer(context, status: status, code: code, detail: detail)
            return
        }
        // Mid-body (a bad chunk size): the route sees the error and answers 400; then close.
        closeAfterResponse = true
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closed else {
            promise?.succeed()
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head):
            responding = true
            if readingBody || closeAfterResponse {
                closeAfterResponse = true
                head.headerFields[.connection] = "close"
                context.write(wrapOutboundOut(.head(head)), promise: promise)
                return
            }
        case .body:
            break
        case .end:
            responding = false
            if closeAfterResponse {
                closed = true
                let channel = context.channel
                context.writeAndFlush(data).whenComplete { _ in channel.close(promise: nil) }
                promise?.succeed()
                return
            }
        }
        context.write(data, promise: promise)
    }

    private func answer(_ context: ChannelHandlerContext, status: HTTPResponse.Status, code: String, detail: String, extra: HTTPFields = [:]) {
        closed = true
        let body = JSONWriter.object([("error", code), ("detail", detail)])
        var fields: HTTPFields = [.contentType: "application/json; charset=utf-8", .contentLength: "\(body.utf8.count)", .connection: "close", .cacheControl: "no-store"]
        fields.append(contentsOf: extra)
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(context.channel.allocator.buffer(string: body))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }

    static func describe(_ error: HTTPParserError) -> (HTTPResponse.Status, String, String) {
        switch error {
        case .headerOverflow:
            return (.init(code: 431), "headers_too_large", "the request headers are larger than the server accepts")
        case .invalidMethod:
            return (.methodNotAllowed, "method_not_allowed", "the request method is not supported")
        case .unexpectedContentLength, .invalidContentLength:
            return (.badRequest, "bad_request", "the Content-Length header is not valid")
        case .invalidChunkSize:
            return (.badRequest, "bad_request", "a chunk size of the chunked body is not valid")
        default:
            return (.badRequest, "bad_request", "the request is not valid HTTP/1.1")
        }
    }
}
