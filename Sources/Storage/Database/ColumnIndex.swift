import GRDB

/// Where each named column of a statement sits, looked up once per statement: loops over
/// millions of rows read them by name without a name search per row.
struct ColumnIndex {
    private let positions: [String: Int]

    init(_ statement: Statement) {
        var positions: [String: Int] = [:]
        for (i, name) in statement.columnNames.enumerated() where positions[name] == nil { positions[name] = i }
        self.positions = positions
    }

    /// The position of `name`. Readers resolve their names once, when they are made; a missing
    /// column (an error in the SQL next to the reader) fails that read, never the process.
    subscript(_ name: String) -> Int {
        get throws(StorageError) {
            guard let i = positions[name] else { throw .database("the statement selects no column named \(name)") }
            return i
        }
    }
}
