/// Splits a byte stream into lines, holding at most one line.
public struct LineReader {
    public enum Line { case line([UInt8]), tooLong }
    let maxLine: Int
    private var partial: [UInt8] = []
    private var skipping = false

    public init(maxLine: Int) { self.maxLine = maxLine }

    public mutating func feed(_ bytes: [UInt8]) -> [Line] {
        var out: [Line] = []
        var start = 0
        for i in bytes.indices where bytes[i] == UInt8(ascii: "\n") {
            if skipping {
                skipping = false
            } else {
                partial += bytes[start..<i]
                if partial.count > maxLine { out.append(.tooLong) } else if !partial.isEmpty { out.append(.line(partial)) }
            }
            partial.removeAll(keepingCapacity: true)
            start = i + 1
        }
        if !skipping { partial += bytes[start...] }
        if partial.count > maxLine {
            partial.removeAll()
            skipping = true
            out.append(.tooLong)
        }
        return out
    }

    /// The last line when the stream did not end with a newline.
    public mutating func finish() -> [UInt8]? { skipping || partial.isEmpty ? nil : partial }
}
