/// Errors raised by the Storage module.
public enum StorageError: Error, Sendable, CustomStringConvertible {
    /// The data folder or database could not be opened.
    case cannotOpen(path: String, reason: String)
    /// The write queue is full; the caller should answer 503 with Retry-After.
    case queueFull
    /// The writer has shut down and accepts no more work.
    case shuttingDown
    /// A database operation failed.
    case database(String)
    /// The task asking was cancelled (its client went away); the statement was interrupted.
    case cancelled
    /// A change that would break a rule (a taken name, removing the last admin).
    case conflict(String)
    /// ClickHouse answered with an error (its HTTP status and message).
    case clickhouse(status: Int, message: String)
    /// ClickHouse could not be reached (refused, timed out, reset).
    case clickhouseUnreachable(String)
    /// The outbox holds as many unshipped events as configured; answer 503 with Retry-After.
    case outboxFull
    /// The configured backend cannot answer this question yet.
    case unsupported(String)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let reason): return "cannot open the database at \(path): \(reason)"
        case .queueFull: return "the write queue is full"
        case .shuttingDown: return "the writer is shutting down"
        case .database(let message): return "database error: \(message)"
        case .cancelled: return "cancelled"
        case .conflict(let message): return message
        case .clickhouse(let status, let message): return "ClickHouse answered \(status): \(message)"
        case .clickhouseUnreachable(let reason): return "ClickHouse is unreachable: \(reason)"
        case .unsupported(let what): return "\(what) is not available with this storage backend yet"
        case .outboxFull: return "the outbox is full (ClickHouse has not taken events for a while)"
        }
    }
}

extension StorageError {
    /// ClickHouse could not answer now (unreachable, or refusing while it starts or stops).
    public var isClickHouseOutage: Bool {
        switch self {
        case .clickhouseUnreachable: true
        case .clickhouse(let status, _): status == 503
        default: false
        }
    }
}
