import Foundation
@testable import Kiln
import KilnCore
import Plan
import Testing
import TestSupport

/// SPEC §1.5's ELF check, end to end: a plan layer's ELF executables and
/// shared objects must match the image's architecture, or the build fails
/// at the layer's `file:line:col` naming the file, its machine and the
/// platform — for fresh and cached layers alike; `check_arch: false` turns
/// it off for one layer.
@Suite(.requires(.kilnBinary, .tools("gcc", "aarch64-linux-gnu-gcc")))
struct BuildArchitectureTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-arch")
        try scratch.write("src/hello.c", "#include <stdio.h>\nint main(void) { puts(\"hello\"); return 0; }\n")
        try scratch.write("src/lib.c", "int answer(void) { return 42; }\n")
        try scratch.directory("bin")
        try Tools.run(["gcc", "-O2", "-o", "bin/hello-amd64", "src/hello.c"], in: scratch.path)
        try Tools.run(["gcc", "-O2", "-shared", "-fPIC", "-o", "bin/libanswer-amd64.so", "src/lib.c"], in: scratch.path)
        try Tools.run(["aarch64-linux-gnu-gcc", "-O2", "-o", "bin/hello-arm64", "src/hello.c"], in: scratch.path)
        try Tools.run(["aarch64-linux-gnu-gcc", "-O2", "-shared", "-fPIC", "-o", "bin/libanswer-arm64.so", "src/lib.c"], in: scratch.path)
    }

    var environment: [String: String] { Build.environment(cache: scratch.path + "/cache") }

    /// A plan for `platform` whose layer "app" (at line 5, column 5) holds
    /// `files` (image path → host path under the plan directory).
    @discardableResult
    func plan(_ name: String, platform: String, files: [(String, String)], checkArch: Bool? = nil, extraLayer: String = "") throws -> String {
        let entries = files.map { "      - { path: \($0.0), source: \($0.1) }" }.joined(separator: "\n")
        return try scratch.write("\(name).yaml", """
            kiln: 1
            name: example.com/arch/\(name)
            platform: \(platform)
            layers:
              - name: app
                type: files
            \(checkArch.map { "    check_arch: \($0)\n" } ?? "")    files:
            \(entries)
            \(extraLayer)
            """)
    }

    func build(_ name: String) throws -> ProcessResult {
        try Build.run(["\(name).yaml", "-o", "out-\(name)"], in: scratch.path, environment: environment)
    }

    @Test func matchingBinariesBuildForTheirPlatform() throws {
        try plan("amd64", platform: "linux/amd64", files: [("/usr/bin/hello", "bin/hello-amd64"), ("/usr/lib/libanswer.so", "bin/libanswer-amd64.so")])
        try plan("arm64", platform: "linux/arm64", files: [("/usr/bin/hello", "bin/hello-arm64"), ("/usr/lib/libanswer.so", "bin/libanswer-arm64.so")])
        for name in ["amd64", "arm64"] {
            let result = try build(name)
            #expect(result.succeeded, "\(name): \(result.stderr)")
        }
    }

    @Test(arguments: [
        ("linux/arm64", "bin/hello-amd64", "x86-64 (64-bit LE)", "AArch64 (64-bit LE)"),
        ("linux/amd64", "bin/hello-arm64", "AArch64 (64-bit LE)", "x86-64 (64-bit LE)"),
        ("linux/arm/v7", "bin/hello-arm64", "AArch64 (64-bit LE)", "ARM (32-bit LE)"),
        ("linux/386", "bin/libanswer-amd64.so", "x86-64 (64-bit LE)", "Intel 80386 (32-bit LE)"),
    ])
    func aMismatchFailsAtTheLayerNamingFileMachineAndPlatform(platform: String, binary: String, machine: String, expected: String) throws {
        try plan("mismatch", platform: platform, files: [("/etc/motd", "src/lib.c")])
        #expect(try build("mismatch").succeeded)
        let previous = try Build.files(scratch.path("out-mismatch"))
        try plan("mismatch", platform: platform, files: [("/etc/motd", "src/lib.c"), ("/usr/bin/tool", binary)])
        let result = try build("mismatch")
        #expect(result.status == 1)
        #expect(result.stderrLines.last == "mismatch.yaml:5:5: error: layer \"app\": /usr/bin/tool is an ELF file for \(machine), "
            + "but the image's platform \(platform) runs \(expected); build it for \(platform.split(separator: "/")[1]), or set check_arch: false on the layer")
        // A failed build leaves the previous output as it was.
        #expect(try Build.files(scratch.path("out-mismatch")) == previous)
    }

    @Test func handMadeHeadersOfOtherMachinesAreCaughtAndNonELFIsNot() throws {
        try scratch.write("bin/riscv64", bytes: ELFFixture.header(bits: 64, machine: ELFFixture.riscv, trailing: 100))
        try scratch.write("bin/s390x", bytes: ELFFixture.header(bits: 64, bigEndian: true, machine: ELFFixture.s390, trailing: 100))
        try scratch.write("bin/i386.so", bytes: ELFFixture.header(bits: 32, type: 3, machine: ELFFixture.i386))
        try scratch.write("bin/truncated", bytes: Array(ELFFixture.header(bits: 64, machine: ELFFixture.riscv).prefix(40)))
        try scratch.write("bin/garbage", bytes: [0x7F, 0x45, 0x4C, 0x46] + Array("garbage after the magic, but no header at all......................".utf8))
        try scratch.write("bin/object.o", bytes: ELFFixture.header(bits: 64, type: 1, machine: ELFFixture.riscv))
        // Not ELF, or not a program: no error on any platform.
        try plan("harmless", platform: "linux/amd64", files: [
            ("/data/truncated", "bin/truncated"), ("/data/garbage", "bin/garbage"), ("/data/object.o", "bin/object.o"),
            ("/usr/bin/hello", "bin/hello-amd64"),
        ])
        let harmless = try build("harmless")
        #expect(harmless.succeeded, "\(harmless.stderr)")

        for (file, platform, machine) in [
            ("bin/riscv64", "linux/amd64", "RISC-V (64-bit LE)"), ("bin/s390x", "linux/amd64", "IBM S/390 (64-bit BE)"),
            ("bin/i386.so", "linux/amd64", "Intel 80386 (32-bit LE)"),
        ] {
            try plan("foreign", platform: platform, files: [("/opt/x", file)])
            let result = try build("foreign")
            #expect(result.status == 1)
            #expect(result.stderr.contains("foreign.yaml:5:5: error: layer \"app\": /opt/x is an ELF file for \(machine)"), "\(result.stderr)")
        }
        // The same headers on their own platforms build.
        for (file, platform) in [("bin/riscv64", "linux/riscv64"), ("bin/s390x", "linux/s390x"), ("bin/i386.so", "linux/386")] {
            try plan("native", platform: platform, files: [("/opt/x", file)])
            let result = try build("native")
            #expect(result.succeeded, "\(platform): \(result.stderr)")
        }
    }

    /// A `platforms:` build checks each platform's image: a shared files
    /// layer's binary is right for one platform and wrong for the other,
    /// while a build layer that cross-compiles per platform passes both.
    @Test func eachPlatformOfAPlatformsPlanIsChecked() throws {
        try scratch.write("multi.yaml", """
            kiln: 1
            name: example.com/arch/multi
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: app
                type: build
                inputs: [src]
                command: |
                  set -eu
                  mkdir -p "$KILN_OUT/usr/bin"
                  case "$TARGETARCH" in amd64) cc=gcc ;; arm64) cc=aarch64-linux-gnu-gcc ;; esac
                  $cc -O2 -o "$KILN_OUT/usr/bin/hello" src/hello.c

            """)
        let good = try build("multi")
        #expect(good.succeeded, "\(good.stderr)")
        try scratch.write("multi.yaml", """
            kiln: 1
            name: example.com/arch/multi
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: tools
                type: files
                files:
                  - { path: /usr/bin/hello, source: bin/hello-amd64 }

            """)
        let bad = try build("multi")
        #expect(bad.status == 1)
        #expect(bad.stderrLines.last == "multi.yaml:5:5: error: layer \"tools\": /usr/bin/hello is an ELF file for x86-64 (64-bit LE), "
            + "but the image's platform linux/arm64 runs AArch64 (64-bit LE); build it for arm64, or set check_arch: false on the layer (building linux/arm64)",
            "\(bad.stderr)")
    }

    @Test func checkArchFalseTurnsTheCheckOffForThatLayerOnly() throws {
        try plan("off", platform: "linux/amd64", files: [("/usr/bin/hello-arm64", "bin/hello-arm64")], checkArch: false)
        let off = try build("off")
        #expect(off.succeeded, "\(off.stderr)")
        // The other layer is still checked, at its own location.
        try plan("other", platform: "linux/amd64", files: [("/usr/bin/hello-arm64", "bin/hello-arm64")], checkArch: false, extraLayer: """
              - name: more
                type: files
                files:
                  - { path: /usr/lib/libanswer.so, source: bin/libanswer-arm64.so }

            """)
        let other = try build("other")
        #expect(other.status == 1)
        #expect(other.stderrLines.last?.hasPrefix("other.yaml:10:5: error: layer \"more\": /usr/lib/libanswer.so is an ELF file for AArch64 (64-bit LE)") == true, "\(other.stderr)")
    }

    /// The cache keeps each layer's ELF record: a layer reused from the
    /// cache (its key ignores check_arch) is checked as a fresh one.
    @Test func aCachedLayerIsCheckedToo() async throws {
        try plan("cached", platform: "linux/amd64", files: [("/usr/bin/hello", "bin/hello-arm64")], checkArch: false)
        let cache = scratch.path + "/in-process-cache"
        func build(_ observer: CachedFlags) async throws -> BuildReport {
            let plan = try PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64")).load(file: scratch.path("cached.yaml"))
            let options = BuildOptions(output: scratch.path("out-cached"), jobs: 2, useCache: true, cacheDirectory: cache)
            return try await ImageBuilder(plan: plan, options: options, observer: observer).build()
        }
        let first = CachedFlags()
        _ = try await build(first)
        #expect(first.flags == [false])
        let entries = try Files.entries(cache + "/layers/entries")
        #expect(entries.count == 1)
        let entry = try Files.text(cache + "/layers/entries/" + entries[0])
        #expect(entry.contains(#""elf":{"groups":[{"count":1,"kind":{"class":2,"data":1,"machine":183},"path":"/usr/bin/hello"}]}"#), "\(entry)")

        try plan("cached", platform: "linux/amd64", files: [("/usr/bin/hello", "bin/hello-arm64")])
        let observer = CachedFlags()
        let error = await #expect(throws: ImageBuildError.self) { try await build(observer) }
        #expect(observer.flags == [true], "the layer came from the cache")
        #expect(error.map { "\($0)" } == "\(scratch.path("cached.yaml")):5:5: error: layer \"app\": /usr/bin/hello is an ELF file for AArch64 (64-bit LE), "
            + "but the image's platform linux/amd64 runs x86-64 (64-bit LE); build it for amd64, or set check_arch: false on the layer")
    }
}

/// Whether each finished layer came from the cache.
final class CachedFlags: BuildObserver, @unchecked Sendable {
    private let lock = NSLock()
    private var collected: [Bool] = []

    func layerFinished(_ index: Int, report: LayerReport) {
        lock.withLock { collected.append(report.cached) }
    }

    var flags: [Bool] { lock.withLock { collected } }
}

/// The shared cache (SPEC §5.1) carries the ELF record in its entries: a
/// layer another runner built with `check_arch: false` and uploaded is
/// fetched, and still checked.
@Suite(.requires(.kilnBinary, .tools("docker-registry", "python3", "aarch64-linux-gnu-gcc")))
struct SharedCacheArchitectureTests {
    @Test func aLayerFetchedFromTheSharedCacheIsChecked() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-e2e-arch-shared")
        let registry = try RegistryServer(mode: .plain)
        try scratch.write("hello.c", "int main(void) { return 0; }\n")
        try Tools.run(["aarch64-linux-gnu-gcc", "-O2", "-o", "hello-arm64", "hello.c"], in: scratch.path)
        func plan(checkArch: Bool) throws {
            try scratch.write("app.yaml", """
                kiln: 1
                name: example.com/arch/shared
                platform: linux/amd64
                layers:
                  - name: app
                    type: files
                    check_arch: \(checkArch)
                    files:
                      - { path: /usr/bin/hello, source: hello-arm64 }

                """)
        }
        func build(cache: String) throws -> ProcessResult {
            try Tools.execute(
                [KilnBinary.path, "build", "app.yaml", "-o", "out", "--cache-registry", registry.host + "/ci/kiln-cache", "--insecure-registry", registry.host],
                in: scratch.path, environment: Build.environment(cache: scratch.path(cache)))
        }
        try plan(checkArch: false)
        let first = try build(cache: "one")
        #expect(first.succeeded, "\(first.stderr)")
        #expect(first.stderr.contains("0 layers fetched, 1 entry uploaded"), "\(first.stderr)")

        try plan(checkArch: true)
        let second = try build(cache: "two")
        #expect(second.status == 1)
        #expect(second.stderrLines.last?.hasPrefix(
            "app.yaml:5:5: error: layer \"app\": /usr/bin/hello is an ELF file for AArch64 (64-bit LE), but the image's platform linux/amd64") == true,
            "\(second.stderr)")
        // The layer came from the registry: its entry (with the ELF record)
        // is in the second runner's local cache, which started empty.
        let entries = try Files.entries(scratch.path("two/kiln/layers/entries"))
        #expect(entries.count == 1)
        #expect(try Files.text(scratch.path("two/kiln/layers/entries/" + entries[0])).contains(#""path":"/usr/bin/hello""#))
    }
}
