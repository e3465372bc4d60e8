// swift-tools-version: 6.0
// kiln: a declarative image build-plan compiler.
//
// Data flow, one module per concern (docs/architecture.md draws it):
//   KilnCore: the shared vocabulary (ContentDigest, Timestamp, Compression,
//     Platform, canonical JSON, atomic files, the worker pool) that every
//     module may use.
//   KilnProcess: the one child-process runner and the signal watch, for the
//     modules that run programs (Strategies, Debian, Kiln, the CLI).
//   Both over CLinux (the glibc calls Swift's Glibc module leaves out).
//   CYAML → YAML (node tree with marks) → Plan (ImageBuildPlan, validation)
//   CZlib, CZstd, CLZMA → Archive (tar, codecs, the streaming layer writer)
//   Strategies (files, build, derivation; LayerPreparing, provenance)
//   OCI (types, layout read/write) over Archive
//   KilnHTTP (the one HTTP client seam, on async-http-client)
//   Debian (packages strategy) over Strategies and KilnHTTP
//   Registry (the OCI distribution API client: credentials, tokens, pull
//     and push of manifests and blobs) over OCI, KilnHTTP and KilnProcess
//   Kiln (build pipeline, cache, diff, inspect) → kiln (CLI).
import PackageDescription

let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")

let package = Package(
    name: "kiln",
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        // Not shipped: generates the input trees benchmarks/run times.
        .executable(name: "layer-bench", targets: ["LayerBench"]),
        // Not shipped: the fuzz targets (scripts/fuzz builds it with
        // -sanitize=fuzzer,address; a plain build replays inputs).
        .executable(name: "kiln-fuzz", targets: ["KilnFuzz"]),
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
        // The opt-in libdeflate gzip engine (docs/layers.md), linked
        // statically (see its module.modulemap): no pkg-config, whose
        // flags would link the shared library.
        .systemLibrary(name: "CLibdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CLZMA", pkgConfig: "liblzma", providers: [.apt(["liblzma-dev"])]),
        // glibc calls declared only under _GNU_SOURCE, and the wait-status
        // macros: a C target, because the define must precede the headers.
        .target(name: "CLinux"),

        .target(name: "KilnCore", dependencies: ["CLinux", crypto]),
        .target(name: "KilnProcess", dependencies: ["CLinux"]),
        .target(name: "YAML", dependencies: ["CYAML"]),
        .target(name: "Plan", dependencies: ["YAML", "KilnCore", crypto]),
        .target(name: "Archive", dependencies: ["KilnCore", "CLinux", "CZlib", "CZstd", "CLZMA", "CLibdeflate", crypto]),
        .target(name: "Strategies", dependencies: ["KilnCore", "KilnProcess", "Plan", "Archive"]),
        .target(name: "OCI", dependencies: ["KilnCore", "CLinux", "Archive", crypto]),
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
        .target(name: "Debian", dependencies: ["KilnCore", "KilnProcess", "Plan", "Archive", "Strategies", "KilnHTTP", "CLZMA", "CZlib", "CZstd", crypto]),
        // The distribution API client; the only module that sees credentials.
        .target(name: "Registry", dependencies: ["KilnCore", "KilnProcess", "KilnHTTP", "OCI", crypto]),
        .target(name: "Kiln", dependencies: ["KilnCore", "KilnProcess", "Plan", "Archive", "Strategies", "Debian", "OCI", "Registry", crypto]),
        .executableTarget(name: "kiln", dependencies: [
            "Kiln", "KilnCore", "KilnProcess", "Plan", "OCI", "Debian", "Registry", "Strategies", "CLinux",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .executableTarget(name: "LayerBench", path: "benchmarks/LayerBench"),
        .executableTarget(name: "KilnFuzz", dependencies: ["Plan", "Archive", "Debian", "OCI", "Registry"], path: "fuzz/KilnFuzz"),

        // What every test target shares: temporary directories, running
        // outside tools, sha256sum digests, the kiln binary under test.
        .target(name: "TestSupport", dependencies: ["KilnCore", "KilnProcess"], path: "Tests/TestSupport"),
        .testTarget(name: "KilnCoreTests", dependencies: ["KilnCore", "TestSupport"]),
        .testTarget(name: "KilnProcessTests", dependencies: ["KilnProcess", "TestSupport"]),
        .testTarget(name: "YAMLTests", dependencies: ["YAML", "TestSupport"]),
        .testTarget(name: "PlanTests", dependencies: ["Plan", "YAML", "KilnCore", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ArchiveTests", dependencies: ["Archive", "KilnCore", "CZlib", "CLibdeflate", "TestSupport"]),
        .testTarget(name: "StrategiesTests", dependencies: ["KilnProcess", "Strategies", "Archive", "Plan", "KilnCore", "TestSupport"]),
        .testTarget(name: "KilnHTTPTests", dependencies: ["KilnHTTP", "TestSupport"]),
        .testTarget(name: "DebianTests", dependencies: ["Debian", "Strategies", "Archive", "Plan", "KilnCore", "TestSupport"]),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "KilnHTTP", "OCI", "KilnCore", "TestSupport"]),
        .testTarget(name: "OCITests", dependencies: ["OCI", "Archive", "KilnCore", "TestSupport"]),
        // The registry test support itself (a real docker-registry, the
        // token issuer, the fault proxy), checked with skopeo.
        .testTarget(name: "RegistrySupportTests", dependencies: ["TestSupport"]),
        .testTarget(name: "KilnTests", dependencies: ["KilnProcess", "Kiln", "OCI", "Registry", "Strategies", "Archive", "Plan", "KilnCore", "CZlib", "CZstd", "TestSupport"]),
    ]
)

// Uniform compiler settings for every Swift target (not the C ones).
let cTargets: Set = ["CLinux"]
for target in package.targets where target.type != .system && !cTargets.contains(target.name) {
    target.swiftSettings = (target.swiftSettings ?? []) + [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
