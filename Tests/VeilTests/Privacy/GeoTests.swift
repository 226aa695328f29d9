import Foundation
import Testing
@testable import Privacy
@testable import Storage
@testable import Web

/// Writes small MaxMind DB files for the tests (IPv6 tree, 24-bit records), from the
/// public format specification, so the reader is tested on bytes it did not produce.
struct MMDBWriter {
    /// (network, prefix length, country code); IPv4 networks are placed under ::/96.
    var networks: [(String, Int, String)]

    func build() -> [UInt8] {
        // Trie nodes: each record is .node(i), .empty or .data(offset).
        enum Record { case node(Int), empty, data(Int) }
        var nodes: [[Record]] = [[.empty, .empty]]
        var data: [UInt8] = []
        for (network, length, country) in networks {
            let bytes = IPAddress.parse(network)!
            let full = bytes.count == 4 ? [UInt8](repeating: 0, count: 12) + bytes : bytes
            let bits = bytes.count == 4 ? 96 + length : length
            let offset = data.count
            data += Self.map([("country", Self.map([("iso_code", Self.string(country))]))])
            var node = 0
            for i in 0..<bits {
                let bit = Int(full[i / 8] >> (7 - UInt8(i % 8)) & 1)
                if i == bits - 1 {
                    nodes[node][bit] = .data(offset)
                } else if case .node(let next) = nodes[node][bit] {
                    node = next
                } else {
                    nodes.append([.empty, .empty])
                    nodes[node][bit] = .node(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
        }
        let count = nodes.count
        var out: [UInt8] = []
        for n in nodes {
            for r in n {
                let v: Int
                switch r {
                case .node(let i): v = i
                case .empty: v = count
                case .data(let o): v = count + 16 + o
                }
                out += [UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            }
        }
        out += [UInt8](repeating: 0, count: 16) + data
        out += [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)
        out += Self.map([("node_count", Self.uint32(count)), ("record_size", Self.uint16(24)), ("ip_version", Self.uint16(6)),
                         ("database_type", Self.string("Veil-Test-Country")), ("binary_format_major_version", Self.uint16(2))])
        return out
    }

    static func string(_ s: String) -> [UInt8] { [0x40 | UInt8(s.utf8.count)] + Array(s.utf8) }
    static func uint16(_ v: Int) -> [UInt8] { [0xA2, UInt8(v >> 8), UInt8(v & 0xFF)] }
    static func uint32(_ v: Int) -> [UInt8] { [0xC4, UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    static func map(_ pairs: [(String, [UInt8])]) -> [UInt8] { [0xE0 | UInt8(pairs.count)] + pairs.flatMap { string($0.0) + $0.1 } }
}

@Suite("Country lookup (MaxMind DB format)")
struct GeoTests {
    static let db = MMDBWriter(networks: [("203.0.113.0", 24, "DE"), ("198.51.100.128", 25, "FR"), ("127.0.0.0", 8, "NL"), ("2001:db8::", 32, "JP")])

    @Test func lookups() throws {
        let reader = try MMDB(bytes: Self.db.build())
        #expect(reader.databaseType == "Veil-Test-Country" && reader.recordSize == 24 && reader.ipVersion == 6)
        #expect(reader.country(ip: "203.0.113.7") == "DE")
        #expect(reader.country(ip: "203.0.113.255") == "DE")
        #expect(reader.country(ip: "203.0.114.1") == nil)
        #expect(reader.country(ip: "198.51.100.200") == "FR")
        #expect(reader.country(ip: "198.51.100.5") == nil)      // the other half of the /24
        #expect(reader.country(ip: "127.0.0.1") == "NL")
        #expect(reader.country(ip: "2001:db8:1::5") == "JP")
        #expect(reader.country(ip: "[2001:db8::1]") == "JP")
        #expect(reader.country(ip: "2001:db9::1") == nil)
        #expect(reader.country(ip: "::ffff:203.0.113.9") == nil) // mapped form is not under ::/96
        #expect(reader.country(ip: "not an ip") == nil && reader.country(ip: "1.2.3") == nil && reader.country(ip: "300.1.1.1") == nil)
    }

    @Test func damagedFilesAreErrorsNotCrashes() throws {
        #expect(throws: MMDB.Failure.noMetadata) { try MMDB(bytes: Array("hello".utf8)) }
        let good = Self.db.build()
        // Every truncation and a deterministic set of byte flips either loads or fails cleanly.
        var rng = SplitMix(7)
        for cut in stride(from: 0, to: good.count, by: 7) { _ = (try? MMDB(bytes: Array(good.prefix(cut))))?.country(ip: "203.0.113.7") }
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            if let reader = try? MMDB(bytes: bytes) {
                for ip in ["203.0.113.7", "198.51.100.200", "2001:db8::1", "10.0.0.1"] { _ = reader.country(ip: ip) }
            }
        }
    }

    @Test func ingestStoresTheCountryNotTheAddress() async throws {
        let dir = TempDir()
        let file = dir.path + "/countries.mmdb"
        _ = FileManager.default.createFile(atPath: file, contents: Data(Self.db.build()))
        var config = TestData.config(dataDir: dir.path + "/data")
        config.geoipDatabase = file
        config.trustedProxies = ["127.0.0.1"]
        try await withLiveVeil(config) { client in
            let r = try await client.post("/api/event", #"{"site":"localhost","name":"pageview","url":"http://localhost/","w":390,"l":"fr-CA"}"#,
                                          headers: [.init("X-Forwarded-For")!: "198.51.100.201"])
            #expect(r.status == .accepted)
        }
        let db = try VeilDatabase.open(folder: dir.path + "/data")
        let day = DayCalendar.utc.day(of: Int64(Date().timeIntervalSince1970 * 1000))
        let scope = StatsScope(site: "localhost", fromDay: day, toDay: day + 1)
        #expect(try await db.breakdown(scope, .country, limit: 5).rows.map(\.value) == ["FR"])
        #expect(try await db.breakdown(scope, .screen, limit: 5).rows.map(\.value) == ["Mobile"])
        #expect(try await db.breakdown(scope, .language, limit: 5).rows.map(\.value) == ["fr"])
        try await db.checkpoint()
        for (name, bytes) in dir.allBytes() where name.hasPrefix("data/") {
            #expect(!bytes.contains(bytes: Array("198.51.100.201".utf8)))
            #expect(!bytes.contains(bytes: [198, 51, 100, 201]))
        }
    }

    @Test func unreadableDatabaseStopsStartupWithAClearMessage() async throws {
        let dir = TempDir()
        var config = TestData.config(dataDir: dir.path)
        config.geoipDatabase = dir.path + "/missing.mmdb"
        await #expect(throws: StartupError.self) { _ = try await buildApplication(config: config, environment: TestData.environment()) }
        _ = FileManager.default.createFile(atPath: dir.path + "/bad.mmdb", contents: Data("nope".utf8))
        config.geoipDatabase = dir.path + "/bad.mmdb"
        do {
            _ = try await buildApplication(config: config, environment: TestData.environment())
            Issue.record("a file without MaxMind metadata was accepted")
        } catch {
            #expect("\(error)".contains("not a MaxMind DB file"))
        }
    }
}
