import Foundation
import Logging
import Synchronization
import Testing
@testable import Web

@Suite("Log lines: text and JSON")
struct LogFormatTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
    }

    func logger(_ format: VeilLogHandler.Format, into sink: Lines) -> Logger {
        Logger(label: "veil") { _ in EscapingLogHandler(VeilLogHandler(format: format) { line in sink.lines.withLock { $0.append(line) } }) }
    }

    @Test func textPutsTheSentenceFirstAndJSONIsOneObjectPerLine() throws {
        let text = Lines()
        logger(.text, into: text).notice("Created the dashboard user; its password is shown only this once, so note it now.",
                                         metadata: ["username": "admin", "password": "s3cret", "evil": "a\nb\u{1b}[31m"])
        let line = try #require(text.all.first)
        // Cut at 80 columns, the line still says what happened.
        let words = line.split(separator: " ", maxSplits: 2)
        #expect(words[1] == "notice" && words[2].hasPrefix("Created the dashboard user; its password is shown only this once"))
        #expect(line.contains(" password=s3cret") && line.contains(" username=admin") && line.hasSuffix("\n"))
        #expect(line.filter { $0 == "\n" }.count == 1 && !line.contains("\u{1b}"), "a value must not break or colour the line")
        let json = Lines()
        logger(.json, into: json).warning("disk \"full\"", metadata: ["site": "shop.example", "message": "spoofed"])
        let jsonLine = try #require(json.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(jsonLine.utf8)) as? [String: String])
        #expect(object["level"] == "warning" && object["message"] == "disk \"full\"" && object["site"] == "shop.example" && object["time"]?.hasSuffix("Z") == true)
        #expect(json.all.first?.filter { $0 == "\n" }.count == 1)
    }
}
