import Foundation
import Testing
@testable import Storage
@testable import Privacy

/// The PII scrubber's corpus: every positive must be replaced by its placeholder (and
/// the value must be gone), every negative must come back unchanged. Card numbers and
/// IBANs carry valid checksums (computed for this corpus); the negatives include near
/// misses with one digit changed.
enum PIICorpus {
    typealias Kind = PIIScrubber.Kind

    static let emails = [
        "m.rossi@libero.it", "kim.lee@example.kr", "priya.sharma@example.in", "olga@yandex.example", "dev+alerts@ops.example.io", "j_smith@uni.example.edu", "anna-lena.schmidt@example.at", "tom@tom.example", "billing@acme-widgets.example", "x.y_z-1@a-b.example.org", "info@xn--mnchen-3ya.example", "someone@example.travel",
        "jane.doe@example.com", "j.doe+news@mail.example.co.uk", "ALICE@EXAMPLE.ORG", "bob_smith99@sub.domain.io",
        "first-last@company-name.de", "x@y.fr", "user%tag@example.net", "o'neil@example.com".replacingOccurrences(of: "'", with: ""),
        "support@veil-canary.example", "a.b.c.d@e.f.gh", "name123@gmail.com", "z@example.museum", "t.test@xn--bcher-kva.example",
        "sales.team@startup.ai", "marie.curie@universite.fr", "hans.mueller@web.de", "yuki.tanaka@example.jp",
        "info@shop.example.com.br", "no-reply@notifications.example.com", "ceo@big-corp.example",
    ]
    static let phones = [
        "+1 (415) 555-2671", "+44 (0)20 7946 0958".replacingOccurrences(of: "(0)", with: ""), "+31 6 12345678", "+46 8 123 456 78", "+48 22 123 45 67", "+351 21 123 4567", "+852 2123 4567", "(212) 555-0123", "650-253-0000", "0044 20 7946 0958", "040 123456789", "0221 9876543",
        "+14155552671", "+1 415 555 2671", "+1-415-555-2671", "+44 20 7946 0958", "+44 7700 900123", "+49 30 12345678",
        "+33 1 23 45 67 89", "+81 3-1234-5678", "+61 2 9876 5432", "+91 98765 43210", "+353 1 234 5678", "+34 612 345 678",
        "(415) 555-2671", "415-555-2671", "415.555.2671", "415 555 2671", "1-800-555-0199", "1 212 555 0123",
        "020 7946 0958", "07700 900123", "030 12345678", "0171 1234567", "01 23 45 67 89", "06-12345678",
        "0612 345 678", "089 1234 5678", "+39 06 1234 5678", "+7 495 123-45-67", "+86 10 1234 5678", "+55 11 91234-5678",
    ]
    static let cards = [
        "4661 3186 0913 9090", "5396030824628190", "5448 2199 3518 1904", "2500937865797546", "343231948757494", "371186252760184", "6011 9555 9797 1141", "6571049746507527", "3530 9170 3423 6677", "4127684268465631", "5121 2233 0792 4408",
        "4526018159083012", "4661318609133", "4909960308246281946", "5182199351819098", "5237865797543238", "5519487574911865",
        "2221252760189551", "2720597971147103", "344974650752919", "377034236671271", "6011684268465635", "6521223307924402",
        "6442685995289072", "3528866661760315", "3589372159010921", "36815901396241", "30059571177773", "6241215472803857",
        "6228084148525388853", "4393363387500472", "5543957551313731", "375379907511633", "6011726516761222", "5120297299752887",
        "4526 0181 5908 3012", "5182-1993-5181-9098", "3449 746507 52919", "6011 6842 6846 5635",
    ]
    static let ibans = [
        "LU120010001234567891", "CZ6508000000192000145399", "HU42117730161111101800000000", "RO49AAAA1B31007593840000", "GR1601101250000000012300695", "HR1210010051863000160", "SK3112000000198742637541", "LT121000011101001000",
        "DE89370400440532013000", "GB29NWBK60161331926819", "FR1420041010050500013M02606", "NL91ABNA0417164300",
        "ES9121000418450200051332", "IT60X0542811101000000123456", "BE68539007547034", "CH800076201162385295",
        "AT611904300234573201", "PL61109010140000071219812874", "SE4550000000058398257466", "DK670040044011587510",
        "NO9386011117947", "IE29AIBK93115212345678", "PT50000201231234567890154", "FI2112345600000785",
        "DE89 3704 0044 0532 0130 00", "GB29 NWBK 6016 1331 9268 19", "de89370400440532013000", "NL91 ABNA 0417 1643 00",
    ]
    static let ips = [
        "192.168.1.254", "203.0.113.255", "93.184.216.34", "151.101.1.69", "2001:4860:4860::8888", "2620:fe::fe", "2001:db8:3333:4444:5555:6666:7777:8888", "fe80::a00:27ff:fe4e:66a1", "64:ff9b::192.0.2.33", "0.0.0.0",
        "203.0.113.7", "198.51.100.23", "192.0.2.1", "10.0.0.1", "172.16.254.1", "8.8.8.8", "255.255.255.255", "127.0.0.1",
        "2001:db8::1", "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "fe80::1ff:fe23:4567:890a", "::1", "2001:db8:0:0:1:0:0:1",
        "::ffff:192.0.2.128", "2606:4700:4700::1111", "2a00:1450:4001:82a::200e", "fd12:3456:789a:1::1", "100.64.0.1",
        "169.254.1.1", "1.1.1.1",
    ]
    static let ssns = [
        "518-76-3322", "612-34-0987", "045-67-8901", "777-88-9999", "101-10-1010", "350-40-5060",
        "123-45-6789", "078-05-1121", "219-09-9999", "457-55-5462", "536-22-1234", "001-01-0001", "899-99-9999",
        "123 45 6789", "234-56-7890", "665-12-3456", "321-54-9876", "555-12-3456", "732-01-4567", "409-52-2002",
    ]
    static let tokens = [
        "ghs_aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0u", "xoxp-1234-5678-abcdEFGH1234ijkl", "ASIAY34FZKBOKMUTVV7A", "rk_live_51HqLyjWDarjtT1zdp7dc9Xk", "Lk8Jm2Nq5Rt9Vw3Xz6Bc1Df4Gh7", "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.MEUCIQDkFq8yZx3V7n2Lp",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V4YW1wbGUuY29tIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_test_BQokikJOvBiI2HlWgH4olfQ2", "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
        "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP", "xoxb-2048-4096-a1b2C3d4E5f6G7h8", "glpat-x9Yz8Wv7Ut6Sr5Qp4On3",
        "AKIAIOSFODNN7EXAMPLE", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "npm_a1B2c3D4e5F6g7H8i9J0kLmNoPqRsTuVwXyZ",
        "Zx8Qp3Lm9Tr2Vb7Nc4Kd6Hs1", "aB3dE5fG7hJ9kL2mN4pQ6rS8tV0w", "q8Wz3Xr7Yp2Lk9Mn4Bv6Cx1Zt5", "R4nd0mT0k3nW1thM1x3dC4s3X9",
        "tok_9Fh3Kd8Lq2Zx7Vb4Nm1Pw6Rt", "Q2xv9WkT4pZm8RbN3sJc7YdL1fHg", "mQ9vX2kP7zR4tB8nW3yL6cF1hJ5d",
    ]

    static var positives: [(text: String, kind: Kind, secret: String)] {
        let contexts = ["%@", "/users/%@/profile", "contact %@ today", "ref: %@.", "(%@)", "value=%@&x=1"]
        var out: [(String, Kind, String)] = []
        let groups: [(Kind, [String])] = [(.email, emails), (.phone, phones), (.card, cards), (.iban, ibans), (.ip, ips), (.ssn, ssns), (.token, tokens)]
        var n = 0
        for (kind, values) in groups {
            for value in values {
                out.append((contexts[n % contexts.count].replacingOccurrences(of: "%@", with: value), kind, value))
                n += 1
            }
        }
        return out
    }

    static let negatives: [String] = [
        // Dates and times
        "2026-11-22", "22/11/2026", "11/22/2026", "2026-11-22T10:15:30Z", "2026-11-22 10:15:30", "10:15:30", "23:59",
        "Mon, 22 Nov 2026 10:15:30 GMT", "20261122", "2026/11/22", "Q3 2026", "FY2026", "1999-12-31T23:59:59.999+01:00",
        "22.11.2026", "12.31.99", "2026-W47", "12:30:45.123", "31 Dec 2025", "1 January 2026", "14:00-16:00",
        // Versions
        "1.2.3", "v2.10.1", "version 10.0.19041.1", "Chrome/120.0.6099.109", "iOS 17.1.2", "Python 3.11.7", "node v20.20.2",
        "Swift 6.3.1", "1.2.3-beta.4", "3.10.12-1", "build 2026.11.22.1", "v1.2.3.4", "release-2026.11", "OpenSSL 3.0.19",
        "macOS 14.1", "Android 14", "Windows NT 10.0", "API v2", "semver 0.0.1", "libc 2.36",
        // Prices and quantities
        "$19.99", "€1.299,00", "£5", "1,234,567.89", "USD 2,500", "19.99 EUR", "price: 0.99", "-15%", "+20%", "3x 12.50",
        "total 1234.56", "¥120000", "4.5 stars", "99.9% uptime", "1e6", "3.14159", "2^32", "100 000", "1 000 000 €", "12.5kg",
        // Order numbers and IDs
        "order 12345678", "ORD-2026-000123", "invoice #INV-00042", "PO 4500012345", "ticket 987654", "SKU 8712345678901",
        "ISBN 978-3-16-148410-0", "EAN 4006381333931", "id=42", "user/12345", "/product/1234567890", "ref 2026112200001",
        "1200182633043486", "7395486205798688", "8282880729022274", "9918058887180339", "1401878017598980", "7347887838483722",
        "4526018159083013", "4661318609134", "4909960308246281947", "5182199351819099", "5237865797543239", "5519487574911866",
        "2221252760189552", "2720597971147104", "12345", "1234567", "123456789", "9876543210", "00000000", "0000-0000",
        "DE90370400440532013000", "GB30NWBK60161331926819", "FR1520041010050500013M02606", "NL92ABNA0417164300",
        "ES9221000418450200051332", "IT61X0542811101000000123456", "BIC DEUTDEFF", "SWIFT NWBKGB2L",
        "550e8400-e29b-41d4-a716-446655440000", "123e4567-e89b-12d3-a456-426614174000",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "5d41402abc4b2a76b9719d911017c592", "commit 9fceb02", "sha 1a2b3c4d", "0x7fffffff", "#ff8800", "rgb(255, 128, 0)",
        "000-00-0000", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000", "1234-56-789",
        // Paths and code
        "/blog/2026/11/22/hello-world", "/docs/v2/getting-started", "/api/v1/users", "/static/app.3f9a2c.js", "/img/logo@2x.png",
        "/search?q=shoes", "/category/mens-shoes/running", "/checkout/step-2", "/user/settings/notifications", "/en-us/pricing",
        "std::vector<int>", "Foo::bar()", "a::b", "dead::beef", "localhost:8080", "example.com:443", "http://example.com/a.b.c",
        "obj.method().chain()", "my_variable_name", "CONSTANT_VALUE_42", "getUserProfileByIdentifier", "handleSubmitButtonClick",
        "ThisIsAVeryLongCamelCaseIdentifierName", "background-color", "font-family-sans-serif", "node_modules/package/dist/index.js",
        "AbstractSingletonProxyFactoryBean2024", "mobile-navigation-toggle-button", "data-veil-event", "utm_source=newsletter",
        "twitter@handle-like text", "@username", "@ mentions", "email me at", "name at example dot com", "user@localhost",
        "user@", "@example.com", "a@b", "foo@bar.1", "mailto:", "noreply", "ab@c.d",
        // Phone-like but not phones
        "12 34", "1 2 3 4 5 6 7 8", "123 456", "12-34-56", "1-2-3", "555-0199", "call 911", "room 1234", "ext. 42",
        "+1", "+20%", "+3.5", "1.800", "(2026)", "(1) (2) (3)", "0 1 2 3 4 5 6 7 8 9", "800", "page 2 of 10", "step 3/5",
        "01/02/2026", "01-02-2026", "2026 11 22", "1 000", "5 5 5", "300 400 500", "(555) 5555", "1-800-FLOWERS",
        // Text
        "Hello, world!", "Signup", "pageview", "Add to cart", "Download PDF", "plan: pro", "Premium Plan (annual)", "checkout_completed",
        "Français, Deutsch, 日本語", "café crème", "Ünïcödé", "emoji 🎉 party", "The quick brown fox jumps over the lazy dog",
        "lorem ipsum dolor sit amet", "COVID-19", "B2B SaaS", "4K UHD", "5G network", "MP3 player", "H2O", "A4 paper",
        "Route 66", "Boeing 747", "iPhone 15 Pro", "PS5", "Windows 11", "Formula 1", "24/7 support", "3-in-1", "4x4",
        "tokenization", "secret santa", "password reset", "card game", "ip address field", "ssn field label", "phone number label",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ABABABABABABABABABABABAB12", "xxxxxxxx-xxxx-xxxx", "1111111111111111", "0000000000000000",
        "Supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
    ]
}

@Suite("PII scrubber corpus")
struct PIICorpusTests {
    let scrubber = PIIScrubber()

    @Test func corpusIsLargeEnough() {
        #expect(PIICorpus.positives.count >= 200)
        #expect(PIICorpus.negatives.count >= 200)
    }

    @Test(arguments: PIICorpus.positives.map { [$0.text, $0.kind.rawValue, $0.secret] })
    func positive(_ item: [String]) {
        let (text, kind, secret) = (item[0], PIIScrubber.Kind(rawValue: item[1])!, item[2])
        let result = scrubber.scrub(text)
        #expect(result.text.contains(kind.placeholder), "\(text) → \(result.text)")
        #expect(!result.text.contains(secret), "\(text) → \(result.text)")
        #expect(result.counts[kind] == 1, "\(text) → \(result.counts)")
    }

    @Test(arguments: PIICorpus.negatives)
    func negative(_ text: String) {
        let result = scrubber.scrub(text)
        #expect(result.text == text, "\(text) → \(result.text)")
        #expect(result.counts.isEmpty)
    }

    /// Random strings over the characters the scanners care about: the scrubber must never
    /// trap (it runs on every ingested string) and must be idempotent.
    @Test func fuzzNeverTrapsAndIsIdempotent() {
        var rng = SplitMix(0x5EED) // Storage's deterministic generator
        let alphabet = Array("0123456789 +-.()/:@_abcdefxyzABCDEFXYZ%&=éß😀\t".unicodeScalars)
        for _ in 0..<20_000 {
            let length = Int(rng.next() % 40)
            var s = String.UnicodeScalarView()
            for _ in 0..<length { s.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            let once = scrubber.scrub(String(s))
            #expect(scrubber.scrub(once.text).text == once.text)
        }
    }

    @Test func severalKindsInOneString() {
        let r = scrubber.scrub("mail jane@example.com or call +44 20 7946 0958 from 203.0.113.7, order 12345678")
        #expect(r.text == "mail [email] or call [phone] from [ip], order 12345678")
        #expect(r.counts == [.email: 1, .phone: 1, .ip: 1])
    }
}

