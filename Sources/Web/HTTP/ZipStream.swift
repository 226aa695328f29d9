/// A ZIP archive written as it goes (stored entries, no compression), enough for data
/// exports, which any unzip tool opens. Each entry's data passes through as it comes and
/// is followed by a data descriptor with its CRC and size, so no entry is held whole;
/// the central directory is written at the end. Sizes are limited to 4 GiB (no ZIP64).
struct ZipStream {
    enum Failure: Error { case tooLarge }

    private var central: [UInt8] = []
    private var offset: UInt64 = 0
    private var count: UInt16 = 0
    private var entry: (name: [UInt8], offset: UInt64, crc: UInt32, size: UInt64)?

    /// The local header of a new entry (bit 3: sizes follow the data).
    mutating func begin(_ name: String) -> [UInt8] {
        let nameBytes = Array(name.utf8)
        entry = (nameBytes, offset, 0xFFFF_FFFF, 0)
        return emit(le32(0x0403_4B50) + le16(20) + le16(0x0808) + le16(0) + le16(0) + le16(0x21)
                    + le32(0) + le32(0) + le32(0) + le16(UInt16(nameBytes.count)) + le16(0) + nameBytes)
    }

    /// Part of the current entry's data, passed through.
    mutating func data(_ bytes: [UInt8]) -> [UInt8] {
        guard var e = entry else { return [] }
        e.crc = CRC32.update(e.crc, bytes)
        e.size += UInt64(bytes.count)
        entry = e
        return emit(bytes)
    }

    /// The current entry's data descriptor; its central directory record is kept for `finish`.
    mutating func end() throws(Failure) -> [UInt8] {
        guard let e = entry else { return [] }
        entry = nil
        guard e.size <= UInt64(UInt32.max), e.offset <= UInt64(UInt32.max) else { throw .tooLarge }
        let crc = e.crc ^ 0xFFFF_FFFF, size = UInt32(e.size)
        central += le32(0x0201_4B50) + le16(20) + le16(20) + le16(0x0808) + le16(0) + le16(0) + le16(0x21)
        central += le32(crc) + le32(size) + le32(size) + le16(UInt16(e.name.count))
        central += le16(0) + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(e.offset)) + e.name
        count += 1
        return emit(le32(0x0807_4B50) + le32(crc) + le32(size) + le32(size))
    }

    /// A whole small entry at once.
    mutating func file(_ name: String, _ bytes: [UInt8]) throws(Failure) -> [UInt8] {
        begin(name) + data(bytes) + (try end())
    }

    /// The central directory and its end record.
    mutating func finish() throws(Failure) -> [UInt8] {
        guard offset <= UInt64(UInt32.max) else { throw .tooLarge }
        let directory = central
        return emit(directory + le32(0x0605_4B50) + le16(0) + le16(0) + le16(count) + le16(count)
                    + le32(UInt32(directory.count)) + le32(UInt32(offset)) + le16(0))
    }

    private mutating func emit(_ bytes: [UInt8]) -> [UInt8] {
        offset += UInt64(bytes.count)
        return bytes
    }

    private func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    private func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)] }
}

/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as ZIP requires.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Running form: start from 0xFFFFFFFF, finish by inverting.
    static func update(_ crc: UInt32, _ data: [UInt8]) -> UInt32 {
        var c = crc
        for byte in data { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c
    }

    static func checksum(_ data: [UInt8]) -> UInt32 { update(0xFFFF_FFFF, data) ^ 0xFFFF_FFFF }
}
