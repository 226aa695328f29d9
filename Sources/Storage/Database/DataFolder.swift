import Foundation

/// The data folder's permissions: only Veil's own user may read what it holds.
enum DataFolder {
    /// Creates `folder` (0700) and the database file (0600) when missing, and tightens
    /// both, and any `-wal`/`-shm` already there, when they exist with looser modes.
    /// SQLite creates the `-wal` and `-shm` files with the database file's mode, so a
    /// 0600 database keeps them private too.
    static func prepare(folder: String, database: String) throws {
        let files = FileManager.default
        try files.createDirectory(atPath: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: folder)
        if !files.fileExists(atPath: database) {
            // An empty file is an empty SQLite database.
            guard files.createFile(atPath: database, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteNoPermission)
            }
        }
        for suffix in ["", "-wal", "-shm"] where files.fileExists(atPath: database + suffix) {
            try files.setAttributes([.posixPermissions: 0o600], ofItemAtPath: database + suffix)
        }
    }
}
