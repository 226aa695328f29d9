/// Small integer stand-ins for the strings and hashes a scan counts with. A scan hashes
/// each string once (to intern it) and then compares and hashes integers: at millions of
/// rows, string hashing and the allocations behind it were most of a filtered view's time.
struct Interner {
    private var ids: [String: Int32] = [:]
    private(set) var strings: [String] = []

    mutating func id(_ s: String) -> Int32 {
        if let id = ids[s] { return id }
        let id = Int32(strings.count)
        ids[s] = id
        strings.append(s)
        return id
    }

    /// The id of a string already interned, without adding it.
    func existing(_ s: String) -> Int32? { ids[s] }

    /// First id per hash of the bytes, so a value seen before is found without a String.
    private var byHash = FlatMap64<Int32>()

    /// `id` of text given as UTF-8 bytes (a column as SQLite holds it).
    mutating func id(bytes: UnsafeRawBufferPointer) -> Int32 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325 // FNV-1a, then mixed
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = mix64(h)
        if h == .max { h = 0 }
        if let i = byHash.find(h) {
            let known = byHash.values[i]
            let same = strings[Int(known)].utf8.withContiguousStorageIfAvailable { $0.elementsEqual(bytes) }
                ?? strings[Int(known)].utf8.elementsEqual(bytes)
            // Another text with the same hash: the dictionary decides.
            return same ? known : id(String(decoding: bytes, as: UTF8.self))
        }
        let new = id(String(decoding: bytes, as: UTF8.self))
        _ = byHash.slot(for: h, default: new)
        return new
    }

    func string(_ id: Int32) -> String { strings[Int(id)] }
}

/// A visitor hash (16 bytes) as two words.
struct VisitorKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64

    init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    init(bytes: UnsafeRawBufferPointer) {
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.prefix(16).enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h
        low = l
    }
}
