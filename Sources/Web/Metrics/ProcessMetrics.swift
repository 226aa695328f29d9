import Foundation

/// What the kernel says about this process, read from /proc at each scrape (Linux): the
/// standard `process_*` series. Where /proc is absent the values are nil and not emitted.
struct ProcessMetrics: Sendable {
    var residentBytes: Double?
    var virtualBytes: Double?
    var cpuSeconds: Double?
    var openFiles: Double?
    var maxFiles: Double?
    var startTimeSeconds: Double?

    static func read() -> ProcessMetrics {
        var m = ProcessMetrics()
        let pageSize = Double(sysconf(Int32(_SC_PAGESIZE)))
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        if let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Fields after the command name (which may hold spaces), numbered from 3 (state).
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            func field(_ n: Int) -> Double? { n - 3 < fields.count ? Double(fields[n - 3]) : nil }
            if let user = field(14), let system = field(15), ticks > 0 { m.cpuSeconds = (user + system) / ticks }
            m.virtualBytes = field(23)
            if let pages = field(24) { m.residentBytes = pages * pageSize }
            if let startTicks = field(22), ticks > 0, let boot = bootTime() { m.startTimeSeconds = boot + startTicks / ticks }
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") { m.openFiles = Double(entries.count) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { m.maxFiles = Double(limit.rlim_cur) }
        return m
    }

    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
