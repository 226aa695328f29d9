import Hummingbird
import NIOCore

/// Request context carrying the peer address (for the client IP) and, once the
/// dashboard auth has run, the signed-in user.
public struct VeilRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Whether the client is still there: long work for this request can stop.
    public let client: ClientProbe
    /// Set by a site route group's middleware: who may see which site.
    var access: SiteAccess?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.client = ClientProbe(channel: source.channel)
    }

    /// Bodies are read with explicit per-route limits; this is the outer bound.
    public var maxUploadSize: Int { 8 * 1024 * 1024 }
}

/// Tells whether the client of a connection went away while its request is worked on.
/// The HTTP pipeline reads nothing while a response is pending, so a closed connection
/// is not seen as an event; the socket's TCP state is asked instead (CLOSE_WAIT: the
/// peer sent FIN; CLOSE: reset). A client that only half-closes counts as gone.
public struct ClientProbe: Sendable {
    let channel: any Channel

    @Sendable public func gone() async -> Bool {
        // Only a real socket can tell; anything else (the router test tier) never goes away.
        guard let provider = channel as? any SocketOptionProvider else { return false }
        guard channel.isActive else { return true }
        #if os(Linux)
        guard let info = try? await provider.getTCPInfo().get() else { return false }
        return info.tcpi_state == 8 || info.tcpi_state == 7
        #else
        return false
        #endif
    }
}
