// swift-tools-version: 6.0
// kiln: a declarative image build-plan compiler.
//
// Data flow, one module per concern:
//   CYAML, CZlib, CZstd, CLZMA (C shims) → YAML (node tree with marks)
//   → Plan (ImageBuildPlan, validation) → Layers (tar, compression, digests,
//   strategies) → OCI (types, canonical JSON, layout) → Debian (packages
//   strategy) → Kiln (build pipeline, cache, diff, inspect) → kiln (CLI).
import PackageDescription

let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")

let package = Package(
    name: "kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        // Not shipped: generates the input trees benchmarks/run times.
        .executable(name: "layer-bench", targets: ["LayerBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        // C libraries, from Debian -dev packages.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),

        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "Plan", dependencies: ["YAML"]),
        .target(name: "Layers", dependencies: ["Plan", "CZlib", "CZstd", "CLZMA", crypto]),
        .target(name: "Debian", dependencies: ["Plan", "Layers", "OCI", "KilnHTTP", "CLZMA", "CZlib", "CZstd", crypto]),
        .target(name: "OCI", dependencies: ["Plan", "Layers", crypto]),
        // The one HTTP client seam (downloads, later registries); depends on
        // no other kiln module.
        .target(name: "KilnHTTP", dependencies: [
            crypto,
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        .target(name: "Kiln", dependencies: ["Plan", "Layers", "Debian", "OCI", crypto]),
        .executableTarget(name: "kiln", dependencies: [
            "Kiln", "Plan", "OCI", "Debian",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "LayerBench", path: "benchmarks/LayerBench"),

        // What every test target shares: temporary directories, running
        // outside tools, sha256sum digests, the kiln binary under test.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "TestSupport"]),
        .testTarget(name: "PlanTests", dependencies: ["Plan", "YAML", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LayersTests", dependencies: ["Layers", "Plan", "CZlib", "TestSupport"]),
        .testTarget(name: "KilnHTTPTests", dependencies: ["KilnHTTP", "TestSupport"]),
        .testTarget(name: "DebianTests", dependencies: ["Debian", "Layers", "Plan", "TestSupport"]),
        .testTarget(name: "OCITests", dependencies: ["OCI", "Layers", "Plan", "TestSupport"]),
        .testTarget(name: "KilnTests", dependencies: ["Kiln", "OCI", "Layers", "Plan", "TestSupport"]),
    ]
)

// Uniform compiler settings for every Swift target.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
