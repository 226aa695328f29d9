import CZlib

/// Streaming gzip, for files too large to hold: the event export and archive write
/// through `GzipWriter`, import reads through `GzipReader`. Each holds its z_stream at a
/// fixed address (zlib keeps a pointer back to it), so they are classes used by one task.
public final class GzipWriter {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var open = false
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    public init?(level: Int32 = 6) {
        stream.initialize(to: z_stream())
        guard deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        open = true
    }

    deinit {
        if open { deflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Compresses `input`; returns the compressed bytes ready so far (often none).
    public func write(_ input: [UInt8]) -> [UInt8] { run(input, flush: Z_NO_FLUSH) }

    /// Ends the stream; returns the last compressed bytes and the gzip trailer.
    public func finish() -> [UInt8] { run([], flush: Z_FINISH) }

    private func run(_ input: [UInt8], flush: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var source = input
        source.withUnsafeMutableBufferPointer { src in
            stream.pointee.next_in = src.baseAddress
            stream.pointee.avail_in = uInt(src.count)
            while true {
                let (status, produced): (Int32, Int) = buffer.withUnsafeMutableBufferPointer { dst in
                    stream.pointee.next_out = dst.baseAddress
                    stream.pointee.avail_out = uInt(dst.count)
                    let s = deflate(stream, flush)
                    return (s, dst.count - Int(stream.pointee.avail_out))
                }
                out.append(contentsOf: buffer.prefix(produced))
                if flush == Z_FINISH ? status == Z_STREAM_END : stream.pointee.avail_in == 0 && produced < buffer.count { break }
                if status != Z_OK && status != Z_BUF_ERROR { break }
            }
        }
        return out
    }
}

/// Inflates a gzip stream fed in pieces.
public final class GzipReader {
    public enum Failure: Error, Sendable { case damaged }

    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    private var open = false
    private var buffer = [UInt8](repeating: 0, count: 256 * 1024)
    public private(set) var ended = false

    public init?() {
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        open = true
    }

    deinit {
        if open { inflateEnd(stream) }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The bytes `input` inflates to. Work is linear in the output, which the caller
    /// consumes piece by piece.
    public func read(_ input: [UInt8]) throws(Failure) -> [UInt8] {
        guard !ended else { return [] }
        var out: [UInt8] = []
        var source = input
        let failed: Bool = source.withUnsafeMutableBufferPointer { src in
            stream.pointee.next_in = src.baseAddress
            stream.pointee.avail_in = uInt(src.count)
            while true {
                let (status, produced): (Int32, Int) = buffer.withUnsafeMutableBufferPointer { dst in
                    stream.pointee.next_out = dst.baseAddress
                    stream.pointee.avail_out = uInt(dst.count)
                    let s = inflate(stream, Z_NO_FLUSH)
                    return (s, dst.count - Int(stream.pointee.avail_out))
                }
                out.append(contentsOf: buffer.prefix(produced))
                if status == Z_STREAM_END { ended = true; return false }
                if status == Z_BUF_ERROR || (status == Z_OK && stream.pointee.avail_in == 0 && produced < buffer.count) { return false }
                if status != Z_OK { return true }
            }
        }
        if failed { throw .damaged }
        return out
    }
}
