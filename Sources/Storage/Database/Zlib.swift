import CZlib

/// One-shot compression with the system zlib: zlib-wrapped streams for stored
/// recordings, gzip-wrapped ones for HTTP responses.
public enum Zlib {
    public enum Wrapper: Sendable { case zlib, gzip }

    public static func compress(_ input: [UInt8], level: Int32 = Z_BEST_COMPRESSION, wrapper: Wrapper = .zlib) -> [UInt8]? {
        var stream = z_stream()
        // windowBits 15 selects the zlib wrapper, 15 + 16 the gzip one.
        let bits: Int32 = wrapper == .gzip ? 15 + 16 : 15
        guard deflateInit2_(&stream, level, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(input.count))) + 32)
        var source = input
        let status: Int32 = source.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                return deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        return Array(output.prefix(Int(stream.total_out)))
    }

    /// Inflates a zlib stream; nil when it is damaged or would exceed `limit` bytes.
    public static func decompress(_ input: [UInt8], limit: Int = 256 << 20) -> [UInt8]? {
        if case .inflated(let bytes) = inflate(input, wrapper: .zlib, limit: limit) { return bytes }
        return nil
    }

    /// What inflating a stream gave.
    public enum Inflated: Sendable, Equatable {
        case inflated([UInt8])
        /// It would exceed the limit (inflating stops there: a bomb costs at most `limit` bytes).
        case tooLarge
        case damaged
    }

    /// Inflates a zlib or gzip stream, stopping as soon as the output passes `limit` bytes.
    public static func inflate(_ input: [UInt8], wrapper: Wrapper, limit: Int) -> Inflated {
        var stream = z_stream()
        guard inflateInit2_(&stream, wrapper == .gzip ? 15 + 16 : 15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return .damaged }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, input.count * 8))
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var source = input
        return source.withUnsafeMutableBufferPointer { src -> Inflated in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while true {
                let (status, produced): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { dst in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    let s = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (s, dst.count - Int(stream.avail_out))
                }
                output.append(contentsOf: chunk.prefix(produced))
                if output.count > limit { return .tooLarge }
                if status == Z_STREAM_END { return .inflated(output) }
                guard status == Z_OK else { return .damaged }
                if produced == 0 && stream.avail_in == 0 { return .damaged }
            }
        }
    }
}
