import HTTPTypes
import Hummingbird
import Logging
import Storage
import NIOHTTP1

/// Turns every error into a proper answer: JSON for API paths, an HTML page otherwise.
/// Nothing escapes as an empty 500; unexpected errors are logged with the request ID.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let pages: PageRenderer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return wantsJSON(request) ? error.response : page(error.status, error.detail, headers: error.headers)
        } catch is CancellationError, StorageError.cancelled {
            // The client went away (a cancelled report); nobody reads this answer.
            context.logger.info("request cancelled: the client went away", metadata: ["path": "\(request.uri.path)"])
            return APIError(.serviceUnavailable, "cancelled", "the request was cancelled").response
        } catch StorageError.unsupported(let what) {
            let error = APIError(.notImplemented, "not_available", "\(what) is not available with storage.backend: clickhouse yet (README \"Scaling out\")")
            return wantsJSON(request) ? error.response : page(error.status, error.detail)
        } catch let error as StorageError where error.isClickHouseOutage {
            context.logger.error("ClickHouse did not answer", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            let error = APIError(.serviceUnavailable, "storage_unavailable", "the event store (ClickHouse) is unreachable; retry shortly", headers: [.retryAfter: "5"])
            return wantsJSON(request) ? error.response : page(error.status, error.detail, headers: error.headers)
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "not_found"
            case .methodNotAllowed: code = "method_not_allowed"
            case .contentTooLarge: code = "body_too_large"
            case .badRequest: code = "bad_request"
            default: code = "http_\(error.status.code)"
            }
            let detail = error.body ?? error.status.reasonPhrase
            if wantsJSON(request) {
                return APIError(error.status, code, detail, headers: error.headers).response
            }
            return page(error.status, detail)
        } catch let error as HTTPParserError {
            // A body that stops being valid HTTP midway (a bad chunk size): the client's fault.
            let (status, code, detail) = ProtocolErrorHandler.describe(error)
            return wantsJSON(request) ? APIError(status, code, detail).response : page(status, detail)
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            let status = HTTPResponse.Status.internalServerError
            return wantsJSON(request) ? APIError(status, "internal", "an internal error occurred; see the server log").response : page(status, "Something went wrong; the server log has details.")
        }
    }

    private func wantsJSON(_ request: Request) -> Bool {
        request.uri.path.hasPrefix("/api/") || request.uri.path == "/healthz" || request.uri.path == "/metrics"
    }

    private func page(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) -> Response {
        var response = Response.html(status: status, pages.render(ErrorPage(status: Int(status.code), title: status.reasonPhrase, message: message), template: "error"))
        // Retry-After, Allow and the like apply to the page as much as to JSON.
        for field in headers where response.headers[field.name] == nil { response.headers.append(field) }
        return response
    }
}

/// Headers every answer carries. The dashboard's CSP allows only same-origin scripts
/// and styles, so even an escaping bug could not run injected script.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "same-origin"
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            // A page with its own policy (the replay player) keeps it.
            if response.headers[.contentSecurityPolicy] == nil {
                response.headers[.contentSecurityPolicy] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            }
            response.headers[.xFrameOptions] = "DENY"
        }
        return response
    }
}

extension HTTPField.Name {
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let xFrameOptions = Self("X-Frame-Options")!
}
