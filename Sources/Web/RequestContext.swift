import Hummingbird
import NIOCore

/// Request context carrying the peer address (for the client IP) and, once the
/// dashboard auth has run, the signed-in user.
public struct VeilRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Bodies are read with explicit per-route limits; this is the outer bound.
    public var maxUploadSize: Int { 8 * 1024 * 1024 }
}
