import Foundation

/// A reader for MaxMind DB (`.mmdb`) files, enough to map an IP address to a country.
///
/// Format facts from the public MaxMind DB specification v2: a binary search tree over
/// the address bits, 16 zero bytes, a typed data section, and a metadata map after the
/// last `\xAB\xCD\xEFMaxMind.com` marker. The reader works on bytes in memory (no I/O).
public struct MMDB: Sendable {
    public enum Value: Sendable, Equatable {
        case string(String), double(Double), bytes([UInt8]), uint(UInt64), int(Int32), map([String: Value]), array([Value]), bool(Bool)

        public subscript(key: String) -> Value? {
            if case .map(let m) = self { return m[key] }
            return nil
        }

        public var string: String? { if case .string(let s) = self { return s }; return nil }
        public var uint: UInt64? { if case .uint(let u) = self { return u }; return nil }
    }

    public enum Failure: Error, Sendable, Equatable, CustomStringConvertible {
        case noMetadata, badMetadata(String), corrupt(String)

        public var description: String {
            switch self {
            case .noMetadata: "not a MaxMind DB file (no metadata marker)"
            case .badMetadata(let why): "bad MaxMind DB metadata: \(why)"
            case .corrupt(let why): "corrupt MaxMind DB data: \(why)"
            }
        }
    }

    let bytes: [UInt8]
    public let nodeCount: Int
    public let recordSize: Int
    public let ipVersion: Int
    public let databaseType: String
    let dataStart: Int
    let ipv4Start: Int

    static let marker: [UInt8] = [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)

    public init(bytes: [UInt8]) throws(Failure) {
        self.bytes = bytes
        guard let markerAt = Self.lastIndex(of: Self.marker, in: bytes) else { throw .noMetadata }
        let metaStart = markerAt + Self.marker.count
        var decoder = Decoder(bytes: bytes, base: metaStart, limit: bytes.count)
        var offset = metaStart
        let meta = try decoder.decode(at: &offset, depth: 0)
        guard let nodes = meta["node_count"]?.uint, let record = meta["record_size"]?.uint, let version = meta["ip_version"]?.uint else {
            throw .badMetadata("node_count, record_size and ip_version are required")
        }
        guard [24, 28, 32].contains(record) else { throw .badMetadata("record_size \(record) is not 24, 28 or 32") }
        nodeCount = Int(nodes)
        recordSize = Int(record)
        ipVersion = Int(version)
        databaseType = meta["database_type"]?.string ?? ""
        let treeSize = recordSize * 2 / 8 * nodeCount
        guard treeSize + 16 <= markerAt else { throw .badMetadata("the search tree is larger than the file") }
        dataStart = treeSize + 16
        // In an IPv6 tree, IPv4 addresses live under ::/96: follow 96 zero bits once.
        var node = 0
        if ipVersion == 6 {
            for _ in 0..<96 where node < nodeCount { node = Self.record(bytes, node: node, bit: 0, size: recordSize) }
        }
        ipv4Start = node
    }

    /// The data record for an address, or nil when the database has none.
    public func lookup(_ address: [UInt8]) throws(Failure) -> Value? {
        guard address.count == 4 || address.count == 16 else { return nil }
        if address.count == 16 && ipVersion == 4 { return nil }
        var node = address.count == 4 ? ipv4Start : 0
        let bits = address.count * 8
        var i = 0
        while i < bits && node < nodeCount {
            let bit = Int(address[i >> 3] >> (7 - UInt8(i & 7)) & 1)
            node = Self.record(bytes, node: node, bit: bit, size: recordSize)
            i += 1
        }
        if node == nodeCount { return nil }
        guard node > nodeCount else { return nil }
        let offset = node - nodeCount - 16
        var decoder = Decoder(bytes: bytes, base: dataStart, limit: bytes.count)
        var at = dataStart + offset
        guard at < bytes.count else { throw .corrupt("data pointer beyond the end of the file") }
        return try decoder.decode(at: &at, depth: 0)
    }

    /// ISO 3166 country code of an address (`country`, else `registered_country`).
    public func country(ip: String) -> String? {
        guard let address = IPAddress.parse(ip), let record = try? lookup(address) else { return nil }
        return (record["country"]?["iso_code"] ?? record["registered_country"]?["iso_code"])?.string
    }

    static func record(_ b: [UInt8], node: Int, bit: Int, size: Int) -> Int {
        let base = node * size * 2 / 8
        guard base + size * 2 / 8 <= b.count else { return Int.max }
        func be(_ from: Int, _ n: Int) -> Int { (0..<n).reduce(0) { $0 << 8 | Int(b[from + $1]) } }
        switch size {
        case 24: return be(base + bit * 3, 3)
        case 28:
            let middle = Int(b[base + 3])
            return bit == 0 ? (middle & 0xF0) << 20 | be(base, 3) : (middle & 0x0F) << 24 | be(base + 4, 3)
        default: return be(base + bit * 4, 4)
        }
    }

    static func lastIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.count - needle.count
        while i >= 0 {
            if hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
            i -= 1
        }
        return nil
    }

    struct Decoder {
        let bytes: [UInt8]
        /// Pointers are offsets from here (data section, or metadata start).
        let base: Int
        let limit: Int

        func byte(_ i: Int) throws(Failure) -> Int {
            guard i < limit else { throw .corrupt("read past the end") }
            return Int(bytes[i])
        }

        mutating func decode(at offset: inout Int, depth: Int) throws(Failure) -> Value {
            guard depth < 64 else { throw .corrupt("nesting deeper than 64") }
            let control = try byte(offset)
            offset += 1
            var type = control >> 5
            if type == 1 {
                let ss = (control >> 3) & 3, v = control & 7
                var pointer: Int
                switch ss {
                case 0: pointer = v << 8 | (try byte(offset)); offset += 1
                case 1: pointer = (v << 16 | (try byte(offset)) << 8 | (try byte(offset + 1))) + 2048; offset += 2
                case 2: pointer = (v << 24 | (try byte(offset)) << 16 | (try byte(offset + 1)) << 8 | (try byte(offset + 2))) + 526_336; offset += 3
                default:
                    pointer = 0
                    for k in 0..<4 { pointer = pointer << 8 | (try byte(offset + k)) }
                    offset += 4
                }
                var target = base + pointer
                return try decode(at: &target, depth: depth + 1)
            }
            if type == 0 {
                type = 7 + (try byte(offset))
                offset += 1
            }
            var size = control & 0x1F
            if size >= 29 {
                let extra = size - 28
                var n = 0
                for k in 0..<extra { n = n << 8 | (try byte(offset + k)) }
                offset += extra
                size = [29, 285, 65_821][extra - 1] + n
            }
            func take(_ n: Int, _ offset: inout Int) throws(Failure) -> ArraySlice<UInt8> {
                guard offset + n <= limit else { throw .corrupt("field runs past the end") }
                defer { offset += n }
                return bytes[offset..<offset + n]
            }
            func unsigned(_ s: ArraySlice<UInt8>) -> UInt64 { s.reduce(0) { $0 << 8 | UInt64($1) } }
            switch type {
            case 2: return .string(String(decoding: try take(size, &offset), as: UTF8.self))
            case 3: return .double(Double(bitPattern: unsigned(try take(8, &offset))))
            case 4: return .bytes(Array(try take(size, &offset)))
            case 5, 6, 9: return .uint(unsigned(try take(size, &offset)))
            case 10: _ = try take(size, &offset); return .uint(0) // uint128: not needed for countries
            case 8: return .int(Int32(truncatingIfNeeded: unsigned(try take(size, &offset))))
            case 7:
                var map: [String: Value] = [:]
                for _ in 0..<size {
                    guard case .string(let key) = try decode(at: &offset, depth: depth + 1) else { throw .corrupt("a map key is not a string") }
                    map[key] = try decode(at: &offset, depth: depth + 1)
                }
                return .map(map)
            case 11:
                var array: [Value] = []
                for _ in 0..<size { array.append(try decode(at: &offset, depth: depth + 1)) }
                return .array(array)
            case 14: return .bool(size != 0)
            case 15: return .double(Double(Float(bitPattern: UInt32(unsigned(try take(4, &offset))))))
            default: throw .corrupt("unknown field type \(type)")
            }
        }
    }
}

/// Textual IPv4/IPv6 → bytes, without Foundation or the network stack.
public enum IPAddress {
    public static func parse(_ text: String) -> [UInt8]? {
        if text.contains(":") { return parse6(text) }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var out: [UInt8] = []
        for p in parts {
            guard !p.isEmpty, p.count <= 3, let v = UInt8(p) else { return nil }
            out.append(v)
        }
        return out
    }

    static func parse6(_ raw: String) -> [UInt8]? {
        var text = Substring(raw)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt8]? {
            if s.isEmpty { return [] }
            var out: [UInt8] = []
            let pieces = s.split(separator: ":", omittingEmptySubsequences: false)
            for (i, p) in pieces.enumerated() {
                if i == pieces.count - 1, p.contains("."), let v4 = parse(String(p)) { out += v4; continue }
                guard (1...4).contains(p.count), let v = UInt16(p, radix: 16) else { return nil }
                out += [UInt8(v >> 8), UInt8(v & 0xFF)]
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}
