/// Decoding of lz-string's `compressToBase64` format, which posthog-js sends with
/// `compression=lz64`. Written from the format's description: an LZW variant over
/// UTF-16 code units whose code width grows as the dictionary does, packed into bits
/// that are carried six to a base64 character.
public enum LZString {
    public enum Outcome: Sendable, Equatable {
        case decoded([UInt8])
        /// The text would exceed the limit (decoding stops there).
        case tooLarge
        case damaged
    }

    /// Decodes to UTF-8 bytes, holding the decoded text to `limit` bytes. Work and memory
    /// are linear in the output, which the limit bounds.
    public static func decompressFromBase64(_ input: [UInt8], limit: Int) -> Outcome {
        var values: [UInt8] = []
        values.reserveCapacity(input.count)
        for byte in input {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"), UInt8(ascii: "-"): values.append(62)
            case UInt8(ascii: "/"), UInt8(ascii: "_"): values.append(63)
            case UInt8(ascii: "="), UInt8(ascii: "\n"), UInt8(ascii: "\r"): continue
            case UInt8(ascii: " "): values.append(62)  // a `+` that went through form decoding
            default: return .damaged
            }
        }
        guard !values.isEmpty else { return .damaged }
        var reader = BitReader(values: values)
        var units: [UInt16] = []
        // Each code unit becomes at most 3 UTF-8 bytes; `limit` code units is a safe bound
        // that the UTF-8 check below makes exact.
        guard let first = reader.read(2) else { return .damaged }
        var dictionary: [[UInt16]] = [[], [], []]
        var w: [UInt16]
        switch first {
        case 0, 1:
            guard let c = reader.read(first == 0 ? 8 : 16) else { return .damaged }
            w = [UInt16(c)]
        default:
            return .decoded([])
        }
        dictionary.append(w)
        units += w
        var enlargeIn = 4, numBits = 3
        while true {
            guard let code = reader.read(numBits) else { return .damaged }
            var index = code
            switch code {
            case 0, 1:
                guard let c = reader.read(code == 0 ? 8 : 16) else { return .damaged }
                dictionary.append([UInt16(c)])
                index = dictionary.count - 1
                enlargeIn -= 1
            case 2:
                let text = String(decoding: units, as: UTF16.self)
                let bytes = Array(text.utf8)
                return bytes.count <= limit ? .decoded(bytes) : .tooLarge
            default:
                break
            }
            if enlargeIn == 0 {
                enlargeIn = 1 << numBits
                numBits += 1
            }
            let entry: [UInt16]
            if index < dictionary.count, index > 2 || !dictionary[index].isEmpty {
                entry = dictionary[index]
            } else if index == dictionary.count {
                entry = w + [w[0]]
            } else {
                return .damaged
            }
            units += entry
            if units.count > limit { return .tooLarge }
            dictionary.append(w + [entry[0]])
            enlargeIn -= 1
            w = entry
            if enlargeIn == 0 {
                enlargeIn = 1 << numBits
                numBits += 1
            }
            if numBits > 24 { return .damaged }
        }
    }

    /// Reads bits lowest-first from six-bit values, most significant bit of each value first.
    private struct BitReader {
        let values: [UInt8]
        var index = 0
        var position: UInt8 = 32

        init(values: [UInt8]) { self.values = values }

        mutating func read(_ count: Int) -> Int? {
            var bits = 0
            for power in 0..<count {
                guard index < values.count else { return nil }
                if values[index] & position != 0 { bits |= 1 << power }
                position >>= 1
                if position == 0 {
                    position = 32
                    index += 1
                }
            }
            return bits
        }
    }
}
