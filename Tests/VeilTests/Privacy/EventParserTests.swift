import Testing
@testable import Privacy

@Suite("Parsing ingest bodies and limits")
struct EventParserTests {
    let parser = EventParser(limits: IngestLimits())

    func rejection(_ body: String, batch: Bool = false) -> IngestRejection.Code? {
        do {
            if batch { _ = try parser.parseBatch(Array(body.utf8)) } else { _ = try parser.parseSingle(Array(body.utf8)) }
            return nil
        } catch {
            return error.code
        }
    }

    @Test func parsesAFullEvent() throws {
        let e = try parser.parseSingle(Array(#"{"site":"example.com","name":"Signup","url":"https://example.com/","referrer":null,"props":{"plan":"pro","n":3,"ok":true,"x":null},"id":"u-1"}"#.utf8))
        #expect(e.name == "Signup")
        #expect(e.props.map { $0.0 + "=" + $0.1 } == ["plan=pro", "n=3", "ok=true"])
        #expect(e.clientID == "u-1")
    }

    @Test func batchInheritsSite() throws {
        let events = try parser.parseBatch(Array(#"{"site":"example.com","events":[{"name":"pageview","url":"https://example.com/"},{"site":"other.com","name":"x","url":"https://other.com/"}]}"#.utf8))
        #expect(events.map(\.site) == ["example.com", "other.com"])
    }

    @Test func invalidJSON() { #expect(rejection("{\"site\":") == .invalidJSON) }
    @Test func trailingGarbage() { #expect(rejection(#"{"site":"a","name":"b","url":"https://a/"} x"#) == .invalidJSON) }
    @Test func invalidUTF8() throws {
        var bytes = Array(#"{"site":"a","name":""#.utf8)
        bytes += [0xC3, 0x28]
        bytes += Array(#"","url":"https://a/"}"#.utf8)
        #expect(throws: IngestRejection.self) { try parser.parseSingle(bytes) }
        do { _ = try parser.parseSingle(bytes) } catch { #expect(error.code == .invalidUTF8) }
    }
    @Test func missingFields() {
        #expect(rejection(#"{"name":"b","url":"https://a/"}"#) == .missingField)
        #expect(rejection(#"{"site":"a","url":"https://a/"}"#) == .missingField)
        #expect(rejection(#"{"site":"a","name":"b"}"#) == .missingField)
    }
    @Test func wrongTypes() {
        #expect(rejection(#"{"site":1,"name":"b","url":"https://a/"}"#) == .invalidField)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":[1]}"#) == .invalidField)
        #expect(rejection(#"[]"#) == .invalidField)
    }
    @Test func tooManyProperties() {
        let props = (0...30).map { "\"k\($0)\":\"v\"" }.joined(separator: ",")
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"# + props + "}}") == .tooManyProperties)
        let ok = (0..<30).map { "\"k\($0)\":\"v\"" }.joined(separator: ",")
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"# + ok + "}}") == nil)
    }
    @Test func overLongKeysAndValues() {
        let longKey = String(repeating: "k", count: 65)
        let longValue = String(repeating: "v", count: 513)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"\#(longKey)":"v"}}"#) == .valueTooLong)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/","props":{"k":"\#(longValue)"}}"#) == .valueTooLong)
        #expect(rejection(#"{"site":"a","name":"\#(String(repeating: "n", count: 121))","url":"https://a/"}"#) == .valueTooLong)
        #expect(rejection(#"{"site":"a","name":"b","url":"https://a/\#(String(repeating: "p", count: 2048))"}"#) == .valueTooLong)
    }
    @Test func bodyTooLarge() {
        let body = #"{"site":"a","name":"b","url":"https://a/","props":{"k":""# + String(repeating: "x", count: 70_000) + "\"}}"
        #expect(rejection(body) == .bodyTooLarge)
    }
    @Test func tooManyEventsInABatch() {
        let one = #"{"name":"pageview","url":"https://a/"}"#
        #expect(rejection(#"{"site":"a","events":["# + Array(repeating: one, count: 101).joined(separator: ",") + "]}", batch: true) == .tooManyEvents)
        #expect(rejection(#"{"site":"a","events":["# + Array(repeating: one, count: 100).joined(separator: ",") + "]}", batch: true) == nil)
        #expect(IngestRejection(.tooManyEvents, "").httpStatus == 413)
        #expect(IngestRejection(.bodyTooLarge, "").httpStatus == 413)
        #expect(IngestRejection(.tooManyProperties, "").httpStatus == 400)
    }
    @Test func jsonParserHandlesEscapesAndSurrogates() throws {
        let v = try JSONParser.parse(Array(#"{"s":"a\"b\\c\u00e9\ud83d\ude00\n","n":-1.5e2,"a":[true,false,null]}"#.utf8))
        #expect(v["s"] == .string("a\"b\\cé😀\n"))
        // An exponent does not print back as written: kept as its literal (issue 13).
        #expect(v["n"] == .numberText("-1.5e2"))
        #expect(v["a"] == .array([.bool(true), .bool(false), .null]))
        // Text after an escape keeps its place.
        #expect(try JSONParser.parse(Array(#"["ab\"cd\nef","\u0041BC"]"#.utf8)) == .array([.string("ab\"cd\nef"), .string("ABC")]))
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(#"{"s":"\ud83d"}"#.utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array("01".utf8)) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(Array(String(repeating: "[", count: 100).utf8)) }
    }
}
