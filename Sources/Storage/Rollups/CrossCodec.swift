import Foundation

/// The cells of one filter value on one day, as one compressed blob.
///
/// Why a blob and not a row per cell: a row per cell cost ~74 bytes (site, day, filter,
/// value and names repeated in every key), 1.8 rows per stored event at 1M, which more than
/// doubled the bytes per event (issue 12's target is ≤ 120). A filtered view reads all the
/// cells of its filter value for each day anyway, so they are stored together: names and
/// counts as varints, deflated (names repeat, counts are small).
enum CrossCodec {
    /// A cell under its rollup names. Visits counted on their start day from another day's
    /// blob have `daysBack` (start day = blob's day − daysBack) and, when they passed the
    /// filter on an earlier day too, `passedBack` (that day = blob's day − passedBack): see `CrossDay`.
    struct Cell: Equatable, Sendable {
        var dim: String
        var value: String
        var daysBack: Int64 = 0
        var passedBack: Int64 = 0
        /// A journey step from a page viewed that many days before: counts only in ranges holding that day.
        var needsBack: Int64 = 0
        var counts: RollupCounts

        /// Whether the cell counts in a range starting on `fromDay`, the blob being of `day`.
        func counts(fromDay: Int64, toDay: Int64, day: Int64) -> Bool {
            let bucket = day - daysBack
            return bucket >= fromDay && bucket < toDay && (passedBack == 0 || day - passedBack < fromDay) && day - needsBack >= fromDay
        }
    }

    static let version: UInt8 = 4

    static func encode(_ cells: [Cell]) -> [UInt8] {
        var out: [UInt8] = [version]
        out.reserveCapacity(cells.count * 24)
        func varint(_ n: UInt64) {
            var n = n
            while n >= 0x80 {
                out.append(UInt8(truncatingIfNeeded: n) | 0x80)
                n >>= 7
            }
            out.append(UInt8(n))
        }
        // Counts are never negative in a built day; zigzag keeps a negative one exact anyway.
        func signed(_ n: Int64) { varint(UInt64(bitPattern: (n << 1) ^ (n >> 63))) }
        func text(_ s: String) {
            varint(UInt64(s.utf8.count))
            out.append(contentsOf: s.utf8)
        }
        for c in cells {
            text(c.dim)
            text(c.value)
            signed(c.daysBack)
            signed(c.passedBack)
            signed(c.needsBack)
            for n in [Int64(c.counts.visitors), Int64(c.counts.hits), Int64(c.counts.pageviews), Int64(c.counts.sessions), Int64(c.counts.bounces), c.counts.duration] { signed(n) }
        }
        return Zlib.compress(out, level: 6) ?? []
    }

    /// The cells of a blob; nil when it is not one this version wrote (the day is then
    /// counted from its events instead).
    static func decode(_ blob: [UInt8]) -> [Cell]? {
        guard let bytes = Zlib.decompress(blob, limit: 64 << 20), bytes.first == version else { return nil }
        var i = 1
        func varint() -> UInt64? {
            var n: UInt64 = 0, shift: UInt64 = 0
            while i < bytes.count, shift < 64 {
                let b = bytes[i]
                i += 1
                n |= UInt64(b & 0x7F) << shift
                if b < 0x80 { return n }
                shift += 7
            }
            return nil
        }
        func signed() -> Int64? { varint().map { Int64(bitPattern: $0 >> 1) ^ -Int64(bitPattern: $0 & 1) } }
        func text() -> String? {
            guard let n = varint(), n <= bytes.count - i else { return nil }
            defer { i += Int(n) }
            return String(decoding: bytes[i..<i + Int(n)], as: UTF8.self)
        }
        var cells: [Cell] = []
        while i < bytes.count {
            guard let dim = text(), let value = text(), let back = signed(), let passed = signed(), let needs = signed() else { return nil }
            var c = RollupCounts()
            guard let v = signed(), let h = signed(), let p = signed(), let s = signed(), let b = signed(), let d = signed() else { return nil }
            c.visitors = Int(v); c.hits = Int(h); c.pageviews = Int(p); c.sessions = Int(s); c.bounces = Int(b); c.duration = d
            cells.append(Cell(dim: dim, value: value, daysBack: back, passedBack: passed, needsBack: needs, counts: c))
        }
        return cells
    }
}
