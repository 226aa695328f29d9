import GRDB
import GRDBSQLite

/// Steps a prepared statement through SQLite's own API and reads columns where SQLite
/// holds them, without a GRDB `Row` per step.
///
/// Why: a stream reads millions of rows, and looks up one visit per new session when its
/// read is narrowed. GRDB's `Row.fetchOne` builds a row and a column-name table each
/// time (a quarter of a narrowed stream's time in `perf`), and its cursor decodes every
/// text column into a new `String`. Here a column is read only when needed, blobs and
/// texts as bytes. SQL and binding stay GRDB's (`Statement.setArguments`); interruption
/// (a cancelled query) surfaces as GRDB's `DatabaseError`, as it would through a cursor.
struct RawStep {
    let statement: Statement
    private var handle: OpaquePointer { statement.sqliteStatement }

    init(_ statement: Statement, arguments: StatementArguments) throws {
        self.statement = statement
        sqlite3_reset(statement.sqliteStatement)
        try statement.setArguments(arguments)
    }

    /// Moves to the next row; false at the end.
    func next() throws -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let message = sqlite3_db_handle(handle).map { String(cString: sqlite3_errmsg($0)) }
        sqlite3_reset(handle)
        throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: message)
    }

    /// Ends the read so the statement holds no lock and can be bound again.
    func finish() { sqlite3_reset(handle) }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    /// A text or blob column's bytes, valid until the next step.
    func bytes(_ column: Int32) -> UnsafeRawBufferPointer {
        // Text first (sqlite3_column_bytes after sqlite3_column_text gives the text's length).
        guard let p = sqlite3_column_blob(handle, column) else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func string(_ column: Int32) -> String {
        String(decoding: bytes(column), as: UTF8.self)
    }

    /// Whether a text column holds exactly `ascii` (compared as bytes, no String made).
    func equals(_ column: Int32, _ ascii: StaticString) -> Bool {
        let b = bytes(column)
        guard b.count == ascii.utf8CodeUnitCount else { return false }
        return b.elementsEqual(UnsafeRawBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }
}
