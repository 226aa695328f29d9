// swift-tools-version: 6.2
import PackageDescription

// Dependencies point one way: App → Web → Storage → Privacy.
// VeilAssets embeds Resources/ into the binary; it is its own target because
// `.embedInCode` recompiles the whole target on any asset edit.
let package = Package(
    name: "veil",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "veil", targets: ["App"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0", traits: [.defaults, "YAML", "CommandLineArguments"]),
        .package(url: "https://github.com/jpsim/Yams", "5.4.0"..<"7.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // ClickHouse's HTTP interface (storage.backend: clickhouse).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The system zlib (Debian: zlib1g-dev), for gzip responses.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "Privacy",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "Storage",
            dependencies: [
                "Privacy",
                "CZlib",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's own API, for the scans' hot loops (Stats/Stream/RawStep.swift).
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "VeilAssets",
            path: "Resources",
            exclude: [],
            sources: ["VeilAssets.swift"],
            resources: [
                .embedInCode("js"),
                .embedInCode("css"),
                .embedInCode("templates"),
                .embedInCode("config"),
            ]
        ),
        .target(
            name: "Web",
            dependencies: [
                "Storage",
                "Privacy",
                "VeilAssets",
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                // HTTPS through swift-nio-ssl (tls.certificate / tls.private_key).
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "App",
            dependencies: [
                "Web",
                "Storage",
                "Privacy",
                "VeilAssets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                // `veil serve` says "stopping" the moment SIGTERM/SIGINT arrives.
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // Test support in C: an SQLite VFS that counts syncs (see DurabilityTests).
        .target(name: "CSyncCounter", path: "Tests/CSyncCounter", linkerSettings: [.linkedLibrary("sqlite3")]),
        .testTarget(
            name: "VeilTests",
            dependencies: [
                "App", "Web", "Storage", "Privacy", "VeilAssets", "CSyncCounter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
