import Synchronization

/// Every statement a `ClickHouseClient` sent, with ClickHouse's answer, in order. Tests
/// use it to replay Veil's exact SQL on another ClickHouse version and compare answers.
final class ClickHouseStatementLog: Sendable {
    struct Entry: Sendable {
        /// The `query` URL parameter (inserts name their statement there, data in the body).
        var query: String?
        var body: [UInt8]
        var status: Int
        var answer: [UInt8]
    }

    private let entries = Mutex<[Entry]>([])

    func append(_ entry: Entry) { entries.withLock { $0.append(entry) } }

    var all: [Entry] { entries.withLock { $0 } }
}
