import NIOCore
import NIOHTTPTypes
import Synchronization

/// Deadlines the idle timeout cannot give: a client trickling one byte every few seconds
/// is never idle, yet must not hold a connection for hours. A request's head must be
/// complete within `header` of its first byte, and its body within `body` of its head;
/// past either the connection is closed and counted.
public struct RequestDeadlineSettings: Sendable, Equatable {
    public var headerSeconds = 10
    public var bodySeconds = 120
    public init() {}
}

/// How often each deadline closed a connection (for `/metrics`).
public final class DeadlineStats: Sendable {
    public enum Phase: String, Sendable, CaseIterable { case header, body }
    private let counts = Mutex([Phase: Int]())
    public init() {}
    func count(_ phase: Phase) { counts.withLock { $0[phase, default: 0] += 1 } }
    public var snapshot: [Phase: Int] { counts.withLock { $0 } }
}

/// Sits after the HTTP decoder: it sees when a head is complete and when a request ends.
/// It adds its partner at the front of the pipeline, which sees the raw bytes and so when
/// a request starts. Both run on the connection's event loop and share one timer.
final class RequestDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart

    private let settings: RequestDeadlineSettings
    private let stats: DeadlineStats
    /// Between a request's end and the next head: the next bytes start a head.
    fileprivate var awaitingHead = true
    fileprivate var timer: Scheduled<Void>?

    init(settings: RequestDeadlineSettings, stats: DeadlineStats) {
        self.settings = settings
        self.stats = stats
    }

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.pipeline.syncOperations.addHandler(RequestStartWatch(owner: self), position: .first)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            awaitingHead = false
            arm(context, seconds: settings.bodySeconds, phase: .body)
        case .body:
            break
        case .end:
            timer?.cancel()
            timer = nil
            awaitingHead = true
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    /// The first bytes of a new request arrived.
    fileprivate func requestStarted(_ context: ChannelHandlerContext) {
        guard awaitingHead, timer == nil else { return }
        arm(context, seconds: settings.headerSeconds, phase: .header)
    }

    private func arm(_ context: ChannelHandlerContext, seconds: Int, phase: DeadlineStats.Phase) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let stats = stats
        timer = context.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) {
            stats.count(phase)
            loopBound.value.close(promise: nil)
        }
    }
}

/// The front half: raw bytes, before the decoder.
private final class RequestStartWatch: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let owner: RequestDeadlineHandler
    private var ownerContext: ChannelHandlerContext?

    init(owner: RequestDeadlineHandler) { self.owner = owner }

    func handlerAdded(context: ChannelHandlerContext) {
        ownerContext = try? context.pipeline.syncOperations.context(handler: owner)
    }

    func handlerRemoved(context: ChannelHandlerContext) { ownerContext = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if let ownerContext, unwrapInboundIn(data).readableBytes > 0 { owner.requestStarted(ownerContext) }
        context.fireChannelRead(data)
    }
}
