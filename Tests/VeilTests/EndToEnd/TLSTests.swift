import Foundation
import Testing

/// HTTPS on the real binary with a certificate the test makes: served through
/// swift-nio-ssl, a plain listener that only redirects, Secure cookies, and a renewed
/// certificate picked up on SIGHUP. curl and openssl are the clients.
@Suite("TLS")
struct TLSTests {
    static func tool(_ name: String) -> String? {
        ["/usr/bin/\(name)", "/usr/local/bin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static var ready: Bool { DurabilityTests.binary != nil && tool("openssl") != nil && tool("curl") != nil }

    /// Runs a tool to completion (bounded by its own timeouts) and returns status and output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], input: String? = nil) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe(), stdin = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A self-signed certificate for localhost and 127.0.0.1, named `name`.
    static func makeCertificate(name: String, certificate: String, key: String) throws {
        let (status, output) = try run(tool("openssl")!, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                                           "-keyout", key, "-out", certificate, "-days", "2", "-subj", "/CN=\(name)",
                                                           "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        #expect(status == 0, "openssl req: \(output)")
    }

    @Test(.enabled(if: ready, "needs the veil binary, openssl and curl"))
    func httpsRedirectSecureCookiesAndCertificateReload() async throws {
        let dir = TempDir()
        let files = dir.path + "-tls"
        try FileManager.default.createDirectory(atPath: files, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: files) }
        let cert = files + "/cert.pem", key = files + "/key.pem", config = files + "/veil.yaml", log = files + "/serve.log"
        try Self.makeCertificate(name: "veil-first", certificate: cert, key: key)
        let redirectPort = try DurabilityTests.freePort()
        try "tls:\n  certificate: \(cert)\n  private_key: \(key)\n  redirect_listen: 127.0.0.1:\(redirectPort)\n".write(toFile: config, atomically: true, encoding: .utf8)
        // The helper's readiness probe speaks plain HTTP, so start by hand and probe with curl.
        let port = try DurabilityTests.freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \"$0\" \"$@\" 2>>\"$SERVE_LOG_PATH\"", DurabilityTests.binary!, "serve", "--config", config,
                             "--listen", "127.0.0.1:\(port)", "--data-dir", dir.path]
        process.environment = ["PATH": "/usr/bin:/bin", "SERVE_LOG_PATH": log]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let curl = Self.tool("curl")!
        let https = "https://localhost:\(port)"
        let pin = ["--cacert", cert, "--resolve", "localhost:\(port):127.0.0.1", "--max-time", "10", "-s"]
        var healthy = false
        for _ in 0..<400 where !healthy {
            healthy = (try Self.run(curl, pin + ["-o", "/dev/null", "-w", "%{http_code}", "\(https)/healthz"])).1 == "200"
            if !healthy { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(healthy, "HTTPS /healthz never answered 200")
        // Plain HTTP on the TLS port is not served.
        #expect((try Self.run(curl, ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/healthz"])).1 != "200")

        // Cookies set over HTTPS are Secure (the sign-in form's CSRF cookie).
        let (_, head) = try Self.run(curl, pin + ["-D", "-", "-o", "/dev/null", "\(https)/login"])
        let cookie = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie: veil_login_csrf=") } ?? ""
        #expect(cookie.contains("; Secure") && cookie.contains("HttpOnly"), "\(head)")

        // The plain listener only redirects, keeping path and query; 308 keeps a POST a POST.
        let (_, redirect) = try Self.run(curl, ["-s", "--max-time", "5", "-D", "-", "-o", "/dev/null", "-H", "Host: localhost:\(redirectPort)",
                                                "http://127.0.0.1:\(redirectPort)/login?next=%2Flocalhost"])
        #expect(redirect.hasPrefix("HTTP/1.1 301") && redirect.lowercased().contains("location: https://localhost:\(port)/login?next=%2flocalhost"), "\(redirect)")
        let (_, post) = try Self.run(curl, ["-s", "--max-time", "5", "-D", "-", "-o", "/dev/null", "-X", "POST", "-H", "Host: localhost",
                                            "http://127.0.0.1:\(redirectPort)/api/event"])
        #expect(post.hasPrefix("HTTP/1.1 308"), "\(post)")
        let (_, bent) = try Self.run(curl, ["-s", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Host: evil.example/@x",
                                            "http://127.0.0.1:\(redirectPort)/"])
        #expect(bent == "400", "a Host that could bend the Location: \(bent)")

        // A renewed certificate is served after SIGHUP, without a restart.
        func servedSubject() throws -> String {
            try Self.run(Self.tool("openssl")!, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"], input: "").1
        }
        #expect(try servedSubject().contains("CN = veil-first"))
        try Self.makeCertificate(name: "veil-renewed", certificate: cert, key: key)
        kill(process.processIdentifier, SIGHUP)
        let text = try await ReloadTests.waitForLog(log, count: "TLS certificate re-read", atLeast: 1)
        #expect(text.contains("TLS certificate re-read"), "\(text)")
        #expect(try servedSubject().contains("CN = veil-renewed"))
        // A broken certificate file is refused and the renewed one stays.
        try "not a certificate".write(toFile: cert, atomically: true, encoding: .utf8)
        kill(process.processIdentifier, SIGHUP)
        let after = try await ReloadTests.waitForLog(log, count: "TLS certificate reload failed", atLeast: 1)
        #expect(after.contains("the previous certificate is still served"), "\(after)")
        #expect(try servedSubject().contains("CN = veil-renewed"))
        #expect(process.isRunning)
    }
}
