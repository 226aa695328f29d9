import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import Privacy
@testable import Storage
@testable import Web

@Suite("Data-subject export and erasure")
struct SubjectTests {
    let minute: Int64 = 60_000

    /// Visitor 1 has two sessions (a 40-minute gap) carrying distinctive values; visitor 2 one session.
    func seed(_ db: VeilDatabase) async throws -> (subjectSession: Int64, otherSession: Int64) {
        let t = TestData.midnight + 9 * 3_600_000
        var a1 = TestData.clean(at: t, path: "/alpha-canary-7731", visitor: 1)
        a1.props = [("note", "alpha-prop-canary-5512")]
        let a2 = TestData.clean(at: t + 40 * minute, path: "/alpha-second-visit", visitor: 1)
        var b = TestData.clean(at: t + 5 * minute, path: "/bravo-keep-me", visitor: 2)
        b.props = [("note", "bravo-prop-keep")]
        _ = try await db.insert([a1, b, a2], sessionTimeoutMillis: 30 * minute)
        let sessions = try await db.sessions(site: "example.com")
        return (sessions.first { $0.visitor == Array(repeating: 1, count: 16) }!.id, sessions.first { $0.visitor == Array(repeating: 2, count: 16) }!.id)
    }

    @Test func exportHoldsExactlyTheSubjectsRowsAndParses() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let (session, _) = try await seed(db)
        let requests = PrivacyRequests(database: db, clock: ManualTime(TestData.midnight + TestData.day).source, secret: Array(repeating: 3, count: 32), rules: [:])
        let file = try await requests.export(site: "example.com", subject: .session(session), actor: "test")
        #expect(file.format == .json, "expected JSON for a small subject")
        let document = String(decoding: try await file.bytes(), as: UTF8.self)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        let events = try #require(json["events"] as? [[String: Any]])
        let sessions = try #require(json["sessions"] as? [[String: Any]])
        // Compare with a direct query of the subject's visitor hash.
        let expected = try await db.events(site: "example.com").filter { $0.visitor == Array(repeating: 1, count: 16) }
        #expect(events.compactMap { $0["id"] as? Int }.map(Int64.init) == expected.map(\.id))
        #expect(Set(events.compactMap { $0["path"] as? String }) == ["/alpha-canary-7731", "/alpha-second-visit"])
        #expect(sessions.count == 2)
        #expect(!document.contains("bravo"))
        #expect((json["fields"] as? [String: Any])?["events.visitor"] != nil)
        let audit = try await db.auditLog()
        #expect(audit.count == 1 && audit[0].action == "export" && audit[0].actor == "test" && audit[0].subjectKind == "session")
        #expect(audit[0].subjectHash == Subject.session(session).auditHash && audit[0].subjectHash.count == 64)
    }

    /// Whole rows: every exported table has exactly the columns "What Veil stores" lists,
    /// so nothing held is left out of an export (browser, channel, UTM, country…).
    @Test func exportedTablesHaveEveryStoredColumn() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let (session, _) = try await seed(db)
        let requests = PrivacyRequests(database: db, clock: ManualTime(TestData.midnight + TestData.day).source, secret: Array(repeating: 3, count: 32), rules: [:])
        let file = try await requests.export(site: "example.com", subject: .session(session), actor: "test")
        #expect(file.format == .json)
        let document = String(decoding: try await file.bytes(), as: UTF8.self)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(document.utf8)) as? [String: Any])
        for table in PrivacyRequests.exportedTables {
            let listed = Set(StoredFields.all.filter { $0.table == table }.map(\.column))
            #expect(!listed.isEmpty, "\(table) is described on What Veil stores")
            let rows = try #require(json[table] as? [[String: Any]], "\(table) is in the export")
            for row in rows { #expect(Set(row.keys) == listed, "\(table): \(Set(row.keys).symmetricDifference(listed))") }
            let fields = Set(((json["fields"] as? [String: Any]) ?? [:]).keys.filter { $0.hasPrefix(table + ".") })
            #expect(fields == Set(listed.map { table + "." + $0 }), "the header explains every exported column of \(table)")
        }
        #expect((json["sessions"] as? [[String: Any]])?.count == 2)
        #expect((json["events"] as? [[String: Any]])?.first?["browser"] as? String == "Chrome")
    }

    /// A quiet site's audit entries show even when a busy site logged hundreds since,
    /// and the log pages back without gaps or repeats.
    @Test func auditLogIsPerSiteAndPaged() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        for i in 0..<3 { try await db.appendAudit(AuditEntry(at: Int64(i), actor: "a", action: "export", site: "quiet.example", subjectKind: "session", subjectHash: "q\(i)", rows: "{}")) }
        for i in 0..<260 { try await db.appendAudit(AuditEntry(at: Int64(10 + i), actor: "a", action: "erase", site: "busy.example", subjectKind: "session", subjectHash: "b\(i)", rows: "{}")) }
        #expect(try await db.auditLog(site: "quiet.example", limit: 50).map(\.subjectHash) == ["q2", "q1", "q0"])
        var seen: [String] = []
        var before: Int64?
        var pages = 0
        while pages < 10 {
            let page = try await db.auditLog(site: "busy.example", limit: 50, before: before)
            if page.isEmpty { break }
            seen += page.map(\.subjectHash)
            before = page.last?.id
            pages += 1
        }
        #expect(pages == 6)
        #expect(seen == (0..<260).reversed().map { "b\($0)" })
    }

    @Test func eraseRemovesEveryRowAndTheBytesButNothingElse() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let (session, other) = try await seed(db)
        try await db.checkpoint()
        #expect(dir.allBytes().contains { $0.1.contains(bytes: Array("alpha-canary-7731".utf8)) })
        let requests = PrivacyRequests(database: db, clock: TimeSource.system, secret: Array(repeating: 3, count: 32), rules: [:])
        let counts = try await requests.erase(site: "example.com", subject: .session(session), actor: "test")
        #expect(counts == ["events": 2, "sessions": 2, "recordings": 0, "identity_links": 0, "feedback": 0])
        let records = try await db.records(site: "example.com", subject: .session(session))
        #expect(records.events.isEmpty && records.sessions.isEmpty)
        #expect(try await db.events(site: "example.com").allSatisfy { $0.visitor == Array(repeating: 2, count: 16) })
        #expect(try await db.records(site: "example.com", subject: .session(other)).events.count == 1)
        for (name, bytes) in dir.allBytes() {
            for canary in ["alpha-canary-7731", "alpha-prop-canary-5512", "alpha-second-visit"] {
                #expect(!bytes.contains(bytes: Array(canary.utf8)), "\(canary) still in \(name)")
            }
        }
        #expect(dir.allBytes().contains { $0.1.contains(bytes: Array("bravo-prop-keep".utf8)) })
        #expect(try await db.auditLog().first?.rows == #"{"events":2,"feedback":0,"identity_links":0,"recordings":0,"sessions":2}"#)
    }

    @Test func largeExportsAreAZipOfNDJSONFiles() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let t = TestData.midnight
        _ = try await db.insert((0..<25).map { TestData.clean(at: t + Int64($0) * 1000, path: "/p\($0)", visitor: 1) } + [TestData.clean(at: t, path: "/other", visitor: 2)],
                                sessionTimeoutMillis: 1_800_000)
        let session = try #require(try await db.sessions(site: "example.com").first { $0.visitor == Array(repeating: 1, count: 16) }).id
        let requests = PrivacyRequests(database: db, clock: .system, secret: Array(repeating: 3, count: 32), rules: [:])
        let file = try await requests.export(site: "example.com", subject: .session(session), actor: "test", zipAboveEvents: 10)
        #expect(file.format == .zip)
        let bytes = try await file.bytes()
        let path = dir.path + "/export.zip"
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        // Read it back with an independent implementation (Python's zipfile), CRCs checked.
        let script = """
            import json, sys, zipfile
            z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
            header = json.loads(z.read('export.json'))
            events = [json.loads(l) for l in z.read('events.ndjson').decode().splitlines()]
            sessions = [json.loads(l) for l in z.read('sessions.ndjson').decode().splitlines()]
            print(sorted(z.namelist()), len(events), len(sessions), header['veil_export']['subject'], 'events.path' in header['fields'], sorted({e['path'] for e in events}) == sorted('/p%d' % i for i in range(25)))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "['events.ndjson', 'export.json', 'feedback.ndjson', 'identity_links.ndjson', 'recordings.ndjson', 'replay_pages.ndjson', 'sessions.ndjson'] 25 1 session:\(session) True True", "\(output)")
    }

    @Test func apiExportAndErase() async throws {
        let dir = TempDir()
        try await withLiveVeil(TestData.config(dataDir: dir.path)) { client in
            for path in ["/one", "/two"] {
                _ = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost\#(path)"}"#)
            }
            let db = try VeilDatabase.open(folder: dir.path)
            let session = try #require(try await db.sessions(site: "localhost").first).id
            let export = try await client.execute(uri: "/api/privacy/export?site=localhost&session=\(session)", method: .get, headers: bearer)
            #expect(export.status == .ok)
            #expect(export.headers[.contentDisposition]?.contains("attachment") == true)
            #expect((export.json["events"] as? [Any])?.count == 2)
            #expect(try await client.execute(uri: "/api/privacy/export?site=localhost&session=\(session)", method: .get).status == .unauthorized)
            let badSubject = try await client.execute(uri: "/api/privacy/export?site=localhost&session=abc", method: .get, headers: bearer)
            #expect(badSubject.status == .badRequest)
            var jsonHeaders = bearer
            jsonHeaders[.contentType] = "application/json"
            let erase = try await client.execute(uri: "/api/privacy/erase", method: .post, headers: jsonHeaders, body: ByteBuffer(string: #"{"site":"localhost","session":\#(session)}"#))
            #expect(erase.text == #"{"erased":{"events":2,"feedback":0,"identity_links":0,"recordings":0,"sessions":1}}"#)
            let unauthorized = try await client.execute(uri: "/api/privacy/erase", method: .post, body: ByteBuffer(string: #"{"site":"localhost","session":1}"#))
            #expect(unauthorized.status == .unauthorized)
            #expect(try await db.eventCount(site: "localhost") == 0)
            #expect(try await db.auditLog().map(\.action) == ["erase", "export"])
        }
    }

    @Test func storedFieldsMatchTheSchemaAndTheReadme() async throws {
        let dir = TempDir()
        let db = try VeilDatabase.open(folder: dir.path)
        let schema = try await db.schemaColumns()
        var catalog: [String: [String]] = [:]
        for field in StoredFields.all { catalog[field.table, default: []].append(field.column) }
        #expect(Set(schema.keys) == Set(catalog.keys))
        for (table, columns) in schema {
            #expect(columns == catalog[table], "StoredFields for \(table) differ from the schema")
        }
        let readme = try String(contentsOfFile: "README.md", encoding: .utf8)
        for field in StoredFields.all {
            #expect(readme.contains("`\(field.table).\(field.column)`"), "README lacks \(field.table).\(field.column)")
        }
    }
}

import NIOCore
