import Foundation
import KilnCore
import Testing
import TestSupport

/// The layer cache a CI fleet shares in a registry (SPEC §5.1): two
/// "runners" (two cache directories, two working copies at different
/// paths) and one real `docker-registry` on loopback; faults from the test
/// proxy never fail a build.
@Suite(.requires(.tools("docker-registry", "python3")))
struct SharedCacheTests {
    let scratch: TemporaryDirectory
    let registry: RegistryServer

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-shared-cache")
        registry = try RegistryServer(mode: .plain)
        for runner in ["one", "two"] {
            try scratch.write("\(runner)/app/data/blob.txt", String(repeating: "kiln shared cache\n", count: 4096))
            try scratch.write("\(runner)/app/app.yaml", """
                kiln: 1
                name: \(registry.host)/team/app
                tag: "v1"
                created: "2024-01-01T00:00:00Z"
                layers:
                  - { name: data, type: files, files: [{ path: /data, source: data }] }
                  - { name: motd, type: files, files: [{ path: /etc/motd, content: "hi\\n" }] }

                """)
        }
    }

    struct Report: Decodable {
        struct Layer: Decodable { var name: String; var cached: Bool; var digest: String }
        struct Shared: Decodable { var repository: String; var fetched: Int; var uploaded: Int }
        struct Pushed: Decodable { var uploaded: Int; var mounted: Int; var existing: Int }
        var manifest_digest: String
        var layers: [Layer]
        var cache_registry: Shared?
        var push: Pushed?
    }

    /// `kiln build` in `runner`'s working copy with its own cache; must succeed.
    func build(_ runner: String, _ extra: [String], host: String? = nil, environment: [String: String] = [:]) throws -> (Report, String) {
        let host = host ?? registry.host
        let result = try Tools.execute(
            [KilnBinary.path, "build", "app.yaml", "-o", "out", "--json", "--cache-registry", host + "/ci/kiln-cache", "--insecure-registry", host] + extra,
            in: scratch.path(runner + "/app"),
            environment: Build.environment(cache: scratch.path(runner + "/cache"), setting: environment))
        guard result.succeeded else { throw TestSupportError("kiln build in \(runner) exited \(result.status): \(result.stderr)") }
        return (try JSONDecoder().decode(Report.self, from: Data(result.output)), result.stderr)
    }

    @Test func aSecondRunnerBuildsNothingAndPushesNoLayer() throws {
        let (first, firstLog) = try build("one", [])
        #expect(first.layers.allSatisfy { !$0.cached })
        #expect(first.cache_registry?.uploaded == 2 && first.cache_registry?.fetched == 0)
        #expect(firstLog.contains("note: cache registry \(registry.host)/ci/kiln-cache: 0 layers fetched, 2 entries uploaded"))
        let uploadsAfterFirst = registry.requests(method: "PUT", pathContains: "/ci/kiln-cache/manifests/kiln-")
        #expect(uploadsAfterFirst == 2)

        let (second, _) = try build("two", ["--push"])
        #expect(second.manifest_digest == first.manifest_digest)
        #expect(second.layers.allSatisfy { $0.cached })
        #expect(second.cache_registry?.fetched == 2 && second.cache_registry?.uploaded == 0)
        // Both layers are mounted from the cache's repository: only the
        // config goes up.
        #expect(second.push?.mounted == 2)
        #expect(second.push?.uploaded == 1)
        #expect(registry.requests(method: "PUT", pathContains: "/ci/kiln-cache/manifests/kiln-") == uploadsAfterFirst)

        // Entries are what SPEC §5.1 says: an artifact manifest tagged by
        // the key, its config the entry, its one layer the blob.
        let tags = try Tools.run(["skopeo", "--insecure-policy", "list-tags", "--tls-verify=false", "docker://\(registry.host)/ci/kiln-cache"])
        #expect(tags.components(separatedBy: "\"kiln-").count - 1 == 2)
    }

    @Test func cacheInfoAndDiffSayWhatTheSharedCacheHolds() throws {
        let directory = scratch.path("two/app")
        let environment = Build.environment(cache: scratch.path("two/cache"), setting: ["KILN_INSECURE_REGISTRIES": registry.host])
        let reference = registry.host + "/ci/kiln-cache"
        let empty = try Tools.execute([KilnBinary.path, "cache", "info", "app.yaml", "--cache-registry", reference], in: directory, environment: environment)
        #expect(empty.succeeded, "\(empty.stderr)")
        #expect(empty.stdout.hasSuffix("0 of 2 layers of app.yaml held, 0 B\n"))
        _ = try build("one", [])
        let held = try Tools.execute([KilnBinary.path, "cache", "info", "app.yaml", "--cache-registry", reference], in: directory, environment: environment)
        #expect(held.stdout.contains("  motd: held, "))
        #expect(held.stdout.contains("  data: held, "))
        #expect(held.stdout.contains("2 of 2 layers of app.yaml held"))

        // A changed layer that another runner already built is fetched, not built.
        try scratch.write("one/app/next.yaml", try Files.text(scratch.path("one/app/app.yaml")).replacingOccurrences(of: "hi\\n", with: "hello\\n"))
        try scratch.write("two/app/next.yaml", try Files.text(scratch.path("one/app/next.yaml")))
        let before = try Tools.execute([KilnBinary.path, "diff", "app.yaml", "next.yaml", "--cache-registry", reference], in: directory, environment: environment)
        #expect(before.stdout.contains("rebuilt  motd  (spec)\n"), "\(before.stdout)")
        _ = try Tools.execute([KilnBinary.path, "build", "next.yaml", "--cache-registry", reference], in: scratch.path("one/app"),
                              environment: Build.environment(cache: scratch.path("one/cache"), setting: ["KILN_INSECURE_REGISTRIES": registry.host]))
        let after = try Tools.execute([KilnBinary.path, "diff", "app.yaml", "next.yaml", "--cache-registry", reference, "--format", "json"], in: directory, environment: environment)
        #expect(after.stdout.contains(#""outcome":"rebuilt","reasons":["spec"],"shared":true"#), "\(after.stdout)")
    }

    @Test func aPushOnlyBuildLeavesSharedLayersInTheRegistry() throws {
        let (first, _) = try build("one", [])
        // No -o, no --tar: the build only pushes, to the cache's registry,
        // so shared layers nothing reads are mounted there, not downloaded.
        let result = try Tools.execute(
            [KilnBinary.path, "build", "app.yaml", "--json", "--cache-registry", registry.host + "/ci/kiln-cache",
             "--insecure-registry", registry.host, "--push", registry.host + "/team/pushed:v1"],
            in: scratch.path("two/app"), environment: Build.environment(cache: scratch.path("two/cache")))
        #expect(result.succeeded, "\(result.stderr)")
        let report = try JSONDecoder().decode(Report.self, from: Data(result.output))
        #expect(report.manifest_digest == first.manifest_digest)
        #expect(report.layers.allSatisfy { $0.cached })
        #expect(report.push?.mounted == 2 && report.push?.uploaded == 1)
        // The top layer is never downloaded; "data" is, because the build
        // checks the files layer above it against it (SPEC §1.4).
        #expect(registry.requests(method: "GET", pathContains: "/ci/kiln-cache/blobs/" + first.layers[1].digest) == 0)
        #expect(registry.requests(method: "GET", pathContains: "/ci/kiln-cache/blobs/" + first.layers[0].digest) == 1)
        #expect(try Files.entries(scratch.path("two/cache/kiln/layers/blobs/sha256")) == [String(first.layers[0].digest.dropFirst(7))])
        #expect(result.stderr.contains("nothing written (no -o or --tar)"))
        // What the registry serves is the image, whole.
        try Tools.run(["skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", "docker://\(registry.host)/team/pushed:v1", "oci:\(scratch.path)/copied:v1"])
        let copied = try BuiltLayout(scratch.path("copied"))
        #expect(copied.index.manifests[0].digest == first.manifest_digest)
        #expect(copied.manifest.layers.map(\.digest) == first.layers.map(\.digest))
    }

    @Test func twoRunnersAtOnceBothSucceedAndAgree() throws {
        // Both start on empty caches at the same moment: each may miss and
        // build, both upload; the first tag stays, and the bytes agree.
        var runs: [(Process, Pipe)] = []
        for runner in ["one", "two"] {
            let kiln = Process()
            kiln.executableURL = URL(fileURLWithPath: KilnBinary.path)
            kiln.arguments = ["build", "app.yaml", "-o", "out", "--json", "--cache-registry", registry.host + "/ci/kiln-cache", "--insecure-registry", registry.host]
            kiln.currentDirectoryURL = URL(fileURLWithPath: scratch.path(runner + "/app"))
            kiln.environment = Build.environment(cache: scratch.path(runner + "/cache"))
            let output = Pipe()
            kiln.standardOutput = output
            kiln.standardError = FileHandle.nullDevice
            try kiln.run()
            runs.append((kiln, output))
        }
        var digests: [String] = []
        for (kiln, output) in runs {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            kiln.waitUntilExit()
            #expect(kiln.terminationStatus == 0)
            digests.append(try JSONDecoder().decode(Report.self, from: data).manifest_digest)
        }
        #expect(digests.count == 2 && digests[0] == digests[1])
        // A third runner finds every layer.
        try FileManager.default.removeItem(atPath: scratch.path("two/cache"))
        let (third, _) = try build("two", [])
        #expect(third.layers.allSatisfy { $0.cached })
        #expect(third.manifest_digest == digests[0])
    }

    @Test func readModeUploadsNothing() throws {
        let (report, _) = try build("one", ["--cache-registry-mode", "read"])
        #expect(report.cache_registry?.uploaded == 0)
        let (fromEnvironment, _) = try build("two", [], environment: ["KILN_CACHE_REGISTRY_MODE": "read"])
        #expect(fromEnvironment.cache_registry?.uploaded == 0)
        #expect(registry.requests(method: "PUT", pathContains: "/manifests/") == 0)
        // …and without it, the same build uploads.
        try FileManager.default.removeItem(atPath: scratch.path("two/cache"))
        let (readwrite, _) = try build("two", [])
        #expect(readwrite.cache_registry?.uploaded == 2)
    }

    @Test func aRegistryThatIsDownIsANoteAndALocalBuild() throws {
        let address = registry.host
        registry.stop()
        let (report, log) = try build("one", [], host: address)
        #expect(report.layers.allSatisfy { !$0.cached })
        #expect(log.contains("note: cache registry \(address)/ci/kiln-cache not used for the rest of this build"))
    }

    @Test func faultsFromTheRegistryNeverFailTheBuild() throws {
        let (first, _) = try build("one", [])
        let proxy = try FaultProxy(in: registry)

        // A blob that does not match its digest: that entry is ignored.
        try proxy.inject([FaultProxy.Rule("GET", "/ci/kiln-cache/blobs/" + first.layers[0].digest, .corrupt, count: 10)])
        let (corrupt, corruptLog) = try build("two", [], host: proxy.host)
        #expect(corrupt.manifest_digest == first.manifest_digest)
        #expect(corrupt.layers.map(\.cached) == [false, true])
        #expect(corruptLog.contains("layer \"data\": entry kiln-"))
        #expect(corruptLog.contains("ignored"))

        // 500s: the cache is skipped for the build, which still succeeds.
        try FileManager.default.removeItem(atPath: scratch.path("two/cache"))
        try proxy.inject([FaultProxy.Rule(nil, "/ci/kiln-cache/", .status(500), count: 100)])
        let (failing, failingLog) = try build("two", [], host: proxy.host)
        #expect(failing.manifest_digest == first.manifest_digest)
        #expect(failingLog.contains("not used for the rest of this build: 500"))

        // A slow registry: past KILN_CACHE_REGISTRY_TIMEOUT the build goes on.
        try FileManager.default.removeItem(atPath: scratch.path("two/cache"))
        try proxy.inject([FaultProxy.Rule(nil, "/ci/kiln-cache/manifests/", .delay(seconds: 20), count: 100)])
        let (slow, slowLog) = try build("two", [], host: proxy.host, environment: ["KILN_CACHE_REGISTRY_TIMEOUT": "1"])
        #expect(slow.manifest_digest == first.manifest_digest)
        #expect(slowLog.contains("took longer than 1 s"), "\(slowLog)")
    }
}
