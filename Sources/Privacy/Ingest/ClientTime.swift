/// How far a client's own timestamp is believed (SDK protocols send when an event
/// happened; a queue may deliver it later). Outside the window the event is stored at
/// the server's time and counted as `clock_skew`.
public struct ClientTimeWindow: Sendable, Equatable {
    public var pastMillis: Int64
    public var futureMillis: Int64

    public init(pastMillis: Int64 = 7 * 86_400_000, futureMillis: Int64 = 3_600_000) {
        self.pastMillis = pastMillis
        self.futureMillis = futureMillis
    }

    /// The time to store: the client's when within the window of `receivedAt`, else nil.
    public func accept(_ clientTime: Int64, receivedAt: Int64) -> Int64? {
        clientTime >= receivedAt - pastMillis && clientTime <= receivedAt + futureMillis ? clientTime : nil
    }
}

/// Client timestamps: ISO-8601 parsing and Segment-style skew correction.
public enum ClientTime {
    /// `timestamp` moved by the client's clock error, measured as `receivedAt − sentAt`
    /// (the request is sent the instant `sentAt` is stamped). Without `sentAt`, as sent.
    public static func corrected(_ timestamp: Int64, sentAt: Int64?, receivedAt: Int64) -> Int64 {
        guard let sentAt else { return timestamp }
        return timestamp &+ (receivedAt &- sentAt)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM|±HHMM)` (a space may replace `T`;
    /// no zone means UTC) into milliseconds since 1970. Anything else is nil.
    public static func parseISO8601(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        guard b.count >= 19, b.count <= 40 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= b.count else { return nil }
            var v = 0
            for i in from..<(from + count) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int(b[i] - 48)
            }
            return v
        }
        guard let year = digits(0, 4), b[4] == 45, let month = digits(5, 2), b[7] == 45, let day = digits(8, 2),
              b[10] == 84 || b[10] == 116 || b[10] == 32,
              let hour = digits(11, 2), b[13] == 58, let minute = digits(14, 2), b[16] == 58, let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var i = 19
        var millis = 0
        if i < b.count, b[i] == 46 {
            i += 1
            var scale = 100, n = 0
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                millis += Int(b[i] - 48) * scale
                scale /= 10
                i += 1
                n += 1
            }
            guard n > 0 else { return nil }
        }
        var offsetSeconds = 0
        if i < b.count {
            if b[i] == 90 || b[i] == 122, i + 1 == b.count {
                i += 1
            } else if b[i] == 43 || b[i] == 45 {
                let sign = b[i] == 45 ? -1 : 1
                guard let oh = digits(i + 1, 2) else { return nil }
                var j = i + 3
                var om = 0
                if j < b.count, b[j] == 58 { j += 1 }
                if j < b.count { guard let m = digits(j, 2) else { return nil }; om = m; j += 2 }
                guard j == b.count, oh < 24, om < 60 else { return nil }
                offsetSeconds = sign * (oh * 3600 + om * 60)
                i = j
            } else {
                return nil
            }
        }
        guard i == b.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second - offsetSeconds)
        return seconds * 1000 + Int64(millis)
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}
