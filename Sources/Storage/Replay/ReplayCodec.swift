import Crypto
import Privacy

/// The stored form of recorded events, chosen for size: the events of one chunk as JSON
/// lines, compressed with zlib, after two lossless rewrites.
///
/// - Node IDs that are one more than the previous node's (in document order within a
///   snapshot, and across the added subtrees of one mutation) are left out; the decoder
///   puts them back. rrweb numbers nodes sequentially, so almost every ID goes, and
///   distinct increasing numbers are what deflate compresses worst.
/// - Stylesheet text (`_cssText` attributes and style text nodes) of at least
///   `styleThreshold` bytes is replaced by a reference to a content-addressed copy
///   stored once however many recordings use it.
public enum ReplayCodec {
    public static let styleThreshold = 512
    /// Marks a style reference. A NUL cannot start real stylesheet text; incoming text
    /// that does is stripped of it so a recording cannot forge a reference.
    static let marker = "\u{0}css:"

    public struct Style: Sendable, Equatable {
        public var hash: [UInt8]
        public var text: String
    }

    public struct Encoded: Sendable {
        public var lines: [UInt8]
        public var styles: [Style]
    }

    public static func encode(_ events: [JSONValue]) -> Encoded {
        var styles: [Style] = []
        var out = ""
        for event in events {
            JSONWriter.append(rewrite(event, styles: &styles), to: &out)
            out += "\n"
        }
        return Encoded(lines: Array(out.utf8), styles: styles)
    }

    /// Turns stored lines back into events; `style` resolves references.
    public static func decode(lines: [UInt8], style: (String) -> String?) throws(JSONParseError) -> [JSONValue] {
        var events: [JSONValue] = []
        var start = 0
        for i in lines.indices where lines[i] == UInt8(ascii: "\n") {
            if i > start {
                let value = try JSONParser.parse(Array(lines[start..<i]), maxDepth: 512)
                events.append(restore(value, style: style))
            }
            start = i + 1
        }
        return events
    }

    // MARK: encoding

    /// Applies `transform` to the node trees an event carries (a full snapshot's document,
    /// each node a mutation adds), with one running "previous ID" across them.
    static func mapNodeTrees(_ event: JSONValue, _ transform: (JSONValue, inout Int) -> JSONValue) -> JSONValue {
        var last = 0
        switch event["type"]?.intValue {
        case 2:
            return event.replacing("data") { $0.replacing("node") { transform($0, &last) } }
        case 3 where event["data"]?["source"]?.intValue == 0:
            return event.replacing("data") { data in
                data.replacing("adds") { adds in adds.mapArray { $0.replacing("node") { transform($0, &last) } } }
            }
        default:
            return event
        }
    }

    static func rewrite(_ event: JSONValue, styles: inout [Style]) -> JSONValue {
        mapNodeTrees(event) { elide($0, last: &$1, styles: &styles) }
    }

    static func elide(_ node: JSONValue, last: inout Int, styles: inout [Style]) -> JSONValue {
        guard case .object(var members) = node else { return node }
        if let i = members.firstIndex(where: { $0.0 == "id" }) {
            if let id = members[i].1.intValue {
                if id == last + 1 { members.remove(at: i) }
                last = id
            }
        } else {
            // Kept explicit so the decoder does not number it.
            members.append(("id", .null))
        }
        let isStyleText = members.contains { $0.0 == "isStyle" && $0.1 == .bool(true) }
        for i in members.indices {
            switch members[i].0 {
            case "childNodes":
                members[i].1 = members[i].1.mapArray { elide($0, last: &last, styles: &styles) }
            case "attributes":
                members[i].1 = members[i].1.replacing("_cssText") { extract($0, styles: &styles) }
            case "textContent" where isStyleText:
                members[i].1 = extract(members[i].1, styles: &styles)
            default:
                break
            }
        }
        return .object(members)
    }

    static func extract(_ value: JSONValue, styles: inout [Style]) -> JSONValue {
        guard case .string(var text) = value else { return value }
        while text.hasPrefix("\u{0}") { text.removeFirst() }
        guard text.utf8.count >= styleThreshold else { return .string(text) }
        let hash = Array(SHA256.hash(data: Array(text.utf8)))
        if !styles.contains(where: { $0.hash == hash }) { styles.append(Style(hash: hash, text: text)) }
        return .string(marker + hash.hexString)
    }

    // MARK: decoding

    static func restore(_ event: JSONValue, style: (String) -> String?) -> JSONValue {
        mapNodeTrees(event) { unelide($0, last: &$1, style: style) }
    }

    static func unelide(_ node: JSONValue, last: inout Int, style: (String) -> String?) -> JSONValue {
        guard case .object(var members) = node else { return node }
        if let present = members.first(where: { $0.0 == "id" })?.1 {
            if let id = present.intValue { last = id }
        } else {
            last += 1
            members.insert(("id", .number(Double(last))), at: 0)
        }
        for i in members.indices {
            switch members[i].0 {
            case "childNodes":
                members[i].1 = members[i].1.mapArray { unelide($0, last: &last, style: style) }
            case "attributes":
                members[i].1 = members[i].1.replacing("_cssText") { resolve($0, style: style) }
            case "textContent":
                members[i].1 = resolve(members[i].1, style: style)
            default:
                break
            }
        }
        return .object(members)
    }

    static func resolve(_ value: JSONValue, style: (String) -> String?) -> JSONValue {
        guard case .string(let text) = value, text.hasPrefix(marker) else { return value }
        return .string(style(String(text.dropFirst(marker.count))) ?? "")
    }
}
