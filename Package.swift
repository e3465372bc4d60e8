// swift-tools-version: 6.0
// kiln: a declarative image build-plan compiler.
//
// Data flow, one module per concern (docs/architecture.md draws it):
//   KilnCore: the shared vocabulary (ContentDigest, Timestamp, Compression,
//     Platform, canonical JSON, child processes) that every module may use.
//   CYAML → YAML (node tree with marks) → Plan (ImageBuildPlan, validation)
//   CZlib, CZstd, CLZMA → Archive (tar, codecs, the streaming layer writer)
//   Strategies (files, build, derivation) over Plan and Archive
//   OCI (types, layout read/write) over Archive
//   Debian (packages strategy) over Strategies
//   Kiln (build pipeline, cache, diff, inspect) → kiln (CLI).
import PackageDescription

let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")

let package = Package(
    name: "kiln",
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        // Not shipped: generates the input trees benchmarks/run times.
        .executable(name: "layer-bench", targets: ["LayerBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        // C libraries, from Debian -dev packages.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),

        .target(name: "KilnCore"),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "Plan", dependencies: ["YAML", "KilnCore"]),
        .target(name: "Archive", dependencies: ["KilnCore", "CZlib", "CZstd", "CLZMA", crypto]),
        .target(name: "Strategies", dependencies: ["KilnCore", "Plan", "Archive"]),
        .target(name: "OCI", dependencies: ["KilnCore", "Archive", crypto]),
        .target(name: "Debian", dependencies: ["KilnCore", "Plan", "Archive", "Strategies", "CLZMA", "CZlib", "CZstd", crypto]),
        .target(name: "Kiln", dependencies: ["KilnCore", "Plan", "Archive", "Strategies", "Debian", "OCI", crypto]),
        .executableTarget(name: "kiln", dependencies: [
            "Kiln", "KilnCore", "Plan", "OCI", "Debian",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "LayerBench", path: "benchmarks/LayerBench"),

        // What every test target shares: temporary directories, running
        // outside tools, sha256sum digests, the kiln binary under test.
        .target(name: "TestSupport", dependencies: ["KilnCore"], path: "Tests/TestSupport"),
        .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore", "TestSupport"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "TestSupport"]),
        .testTarget(name: "PlanTests", dependencies: ["Plan", "YAML", "KilnCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "KilnCore", "CZlib", "TestSupport"]),
        .testTarget(name: "StrategiesTests", dependencies: ["Strategies", "Archive", "Plan", "KilnCore", "TestSupport"]),
        .testTarget(name: "DebianTests", dependencies: ["Debian", "Strategies", "Archive", "Plan", "KilnCore", "TestSupport"]),
        .testTarget(name: "OCITests", dependencies: ["OCI", "Archive", "KilnCore", "TestSupport"]),
        .testTarget(name: "KilnTests", dependencies: ["Kiln", "OCI", "Strategies", "Archive", "Plan", "KilnCore", "CZlib", "CZstd", "TestSupport"]),
    ]
)

// Uniform compiler settings for every Swift target.
for target in package.targets where target.type != .system {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
