import Foundation
import Testing
import TestSupport

/// Every linux/amd64 example in `examples/` built by the real `kiln build`
/// and RUN with podman (as root, private vfs storage, runc), asserting on
/// what it prints. `BuildExampleTests` checks the same layouts' bytes with
/// skopeo, umoci and oci-image-tool.
@Suite(.requires(Peers.tools, .root, .tools("podman", "runc", "curl", "cc")))
struct ExampleRunTests {
    let scratch: TemporaryDirectory
    let podman: Podman

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-run-examples")
        podman = try Podman()
    }

    /// Where each example directory is built and run, so one added
    /// without a test fails here. The others of the gallery:
    static let runHere: Set = ["build", "derivation", "files", "http-service", "debian-service", "base-and-app", "multiarch", "sbom"]
    static let elsewhere: [String: String] = [
        "packages": "BuildExampleTests: a runtime base with no program of its own (debian-service runs one on it)",
        "kiln-image": "scripts/test-release: it needs the release binary, built after the test suite",
        "wasm": "BuildWasmTests: built and its blob compared with hello.wasm byte for byte; a wasip1/wasm image runs under runwasi, not podman",
    ]

    @Test func everyExampleDirectoryIsBuiltAndRunByATest() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Build.examples).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: Build.examples + "/" + name, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        #expect(Set(names) == Self.runHere.union(Self.elsewhere.keys), "add the new example to ExampleRunTests")
    }

    /// A copy of `examples/NAME` in the scratch directory, so locks and
    /// layouts written next to a plan never touch the checkout.
    func copy(_ name: String) throws -> String {
        let copy = scratch.path(name)
        try FileManager.default.copyItem(atPath: Build.examples + "/" + name, toPath: copy)
        return copy
    }

    /// `kiln lock PLAN` afresh (the committed lock may pin `.deb`s the
    /// archive has since replaced), then `kiln build PLAN --locked -o OUTPUT`.
    func lockAndBuild(_ plan: String, output: String) throws -> BuiltLayout {
        let lock = try Tools.execute([KilnBinary.path, "lock", plan], in: scratch.path,
                                     environment: Build.environment(cache: scratch.path(".cache")))
        #expect(lock.succeeded, "kiln lock \(plan): \(lock.stderr)")
        return try Build.layout([plan, "--locked", "-o", output], in: scratch.path)
    }

    /// The image of `layout` loaded into podman under the name kiln gave it
    /// (`io.containerd.image.name`).
    func load(_ layout: BuiltLayout) throws -> String {
        guard let named = layout.index.manifests[0].annotations?["io.containerd.image.name"],
              let colon = named.lastIndex(of: ":") else {
            throw TestSupportError("\(layout.path): no io.containerd.image.name")
        }
        return try podman.load(layout.path, tag: String(named[named.index(after: colon)...]), as: String(named[..<colon]))
    }

    func expectRun(_ layout: BuiltLayout, _ arguments: [String] = [], prints expected: String,
                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try podman.container(try load(layout), arguments)
        #expect(result.succeeded, "podman run: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stdout == expected, sourceLocation: sourceLocation)
    }

    @Test func buildExampleRunsItsStaticProgram() throws {
        let layout = try Build.layout([Build.examples + "/build/build.yaml", "-o", "out"], in: scratch.path)
        try expectRun(layout, prints: "hello from a kiln build layer (0 arguments)\n")
        try expectRun(layout, ["a", "b"], prints: "hello from a kiln build layer (2 arguments)\n")
    }

    /// The two-platform example: podman takes this machine's (amd64) image
    /// from the index and runs it; BuildPlatformsTests runs the arm64 one
    /// under qemu.
    @Test func multiarchExampleRunsTheHostsImage() throws {
        let result = try Build.run([Build.examples + "/multiarch/multiarch.yaml", "-o", "multiarch"], in: scratch.path)
        #expect(result.succeeded, "\(result.stderr)")
        let image = try podman.load(scratch.path("multiarch"), tag: "1.0", as: "example.com/kiln/multiarch")
        let run = try podman.container(image, [])
        #expect(run.succeeded, "podman run: \(run.stderr)")
        #expect(run.stdout == "hello from multiarch, built for linux/amd64, running on x86_64\n")
    }

    /// The sbom example's program is a script on an image without a shell
    /// (its SBOM is validated in BuildExampleTests): as for files, podman
    /// loads the image — the SBOM artifact beside it in index.json — and
    /// creates a container holding the declared files.
    @Test func sbomExampleLoadsWithItsSBOMAndHoldsItsFiles() throws {
        let layout = try Build.layout([Build.examples + "/sbom/sbom.yaml", "-o", "out"], in: scratch.path)
        #expect(layout.artifacts.count == 1)
        let container = try podman.run(["create"] + Podman.limits + [try load(layout)])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try podman.run(["export", "-o", scratch.path("sbom.tar"), container])
        #expect(try Tools.run(["tar", "-xOf", scratch.path("sbom.tar"), "etc/motd"]) == "Built by kiln, with an SBOM.\n")
        #expect(try Tools.run(["tar", "-xOf", scratch.path("sbom.tar"), "usr/local/bin/greet"]).hasPrefix("#!/bin/sh\n"))
    }

    @Test func derivationExampleRunsFromItsStorePath() throws {
        _ = try BuildExampleTests.derivationStore.get()
        let layout = try Build.layout([Build.examples + "/derivation/derivation.yaml", "-o", "out"], in: scratch.path)
        // hello reads its greeting from the other store path of its closure.
        try expectRun(layout, prints: "Hello from a store path.\n")
    }

    /// The files example's program is a shell script on an image without a
    /// shell (it shows the files layer, not a runnable app): podman creates
    /// a container from it, which holds the declared files, and takes its
    /// runtime config.
    @Test func filesExampleMakesAContainerHoldingTheDeclaredFiles() throws {
        let layout = try Build.layout([Build.examples + "/files/files.yaml", "-o", "out"], in: scratch.path)
        let container = try podman.run(["create"] + Podman.limits + [try load(layout)])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try podman.run(["export", "-o", scratch.path("files.tar"), container])
        #expect(try Tools.run(["tar", "-xOf", scratch.path("files.tar"), "etc/motd"]) == "Built by kiln.\n")
        let members = try Tools.run(["tar", "-tvf", scratch.path("files.tar"), "usr/local/bin/app", "var/lib/app"])
        #expect(lines(members).map { String($0.prefix(10)) } == ["-rwxr-xr-x", "drwxr-x---"])
        let config = try podman.run(["container", "inspect", "--format",
                                     "{{.Config.User}} {{.Config.WorkingDir}} {{.Config.StopSignal}}", container])
        #expect(config.trimmingCharacters(in: .whitespacesAndNewlines) == "65532:65532 /var/lib/app 15")
    }

    @Test func httpServiceAnswersAsNonRootAndPassesItsHealthCheck() throws {
        let layout = try Build.layout([Build.examples + "/http-service/http-service.yaml", "-o", "out"], in: scratch.path)
        let image = try load(layout)
        let port = String(try Loopback.freePort())
        let name = "kiln-hello-http-" + port
        try podman.run(["run", "-d", "--name", name, "--network", "host"] + Podman.limits + [image, "serve", port])
        defer { _ = try? podman.execute(["rm", "-f", name]) }
        let deadline = Date().addingTimeInterval(60)
        while !Loopback.accepts(port: Int(port)!) && Date() < deadline { usleep(100_000) }

        let url = "http://127.0.0.1:\(port)"
        #expect(try Tools.run(["curl", "-sS", "--max-time", "10", url + "/"]) == "hello from a kiln image on scratch\n")
        #expect(try Tools.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", url + "/healthz"]) == "200")
        #expect(try Tools.run(["curl", "-sS", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}", url + "/nothing"]) == "404")
        let check = try podman.execute(["exec", name, "/usr/local/bin/hello-http", "check", port])
        #expect(check.succeeded && check.stdout == "healthy\n", "health check: \(check.stdout)\(check.stderr)")

        // SIGTERM (the image's stop signal) ends it cleanly, well before
        // podman's 10 s would turn to SIGKILL.
        let started = Date()
        try podman.run(["stop", "-t", "10", name])
        #expect(Date().timeIntervalSince(started) < 8)
        #expect(try podman.run(["inspect", "--format", "{{.State.ExitCode}}", name]) == "0\n")
        #expect(lines(try podman.run(["logs", name])) == ["hello-http: listening on port \(port) as uid 65532", "hello-http: stopped"])

        // With the server gone the same check fails.
        let unhealthy = try podman.container(image, ["check", port], network: "host")
        #expect(unhealthy.status == 1)
        #expect(unhealthy.stdout.hasPrefix("unhealthy: cannot connect to port \(port)"))
        let config = try podman.run(["image", "inspect", "--format", "{{.Config.User}} {{json .Config.ExposedPorts}}",
                                     image])
        #expect(config == "65532:65532 {\"8080/tcp\":{}}\n")
    }

    /// Online (the Debian archive): the packages are locked afresh.
    @Test(.requires(.online))
    func debianServiceFindsItsRuntimeAndHasNoShell() throws {
        let example = try copy("debian-service")
        let layout = try lockAndBuild(example + "/debian-service.yaml", output: "out")
        let image = try load(layout)
        let run = try podman.container(image)
        #expect(run.succeeded, "podman run: \(run.stderr)")
        let printed = lines(run.stdout)
        #expect(printed.first?.hasPrefix("zlib 1.2.") == true && printed.first?.hasSuffix(": round trip ok") == true)
        #expect(Array(printed.dropFirst()) == [
            "time zone UTC: 2024-06-21 12:00 UTC",
            "time zone Europe/Paris: 2024-06-21 14:00 CEST",
            "time zone America/New_York: 2024-06-21 08:00 EDT",
            "certificates: more than 100",
            "all runtime dependencies present",
        ])

        // Distroless: no shell to start, no package manager in the tree.
        let shell = try podman.container(image, ["-c", "true"], options: ["--entrypoint", "/bin/sh"])
        #expect(!shell.succeeded && shell.stderr.contains("no such file or directory"))
        let rootfs = try Peers.check(layout, name: "example.com/kiln/debian-service", tag: "1.0", in: scratch.path)
        for path in ["usr/bin/sh", "usr/bin/dash", "usr/bin/bash", "usr/bin/dpkg", "usr/bin/apt", "usr/bin/perl"] {
            #expect(!FileManager.default.fileExists(atPath: rootfs + "/" + path), "\(path) is in the image")
        }
        let packages = try FileManager.default.contentsOfDirectory(atPath: rootfs + "/var/lib/dpkg/status.d")
            .filter { !$0.hasSuffix(".md5sums") }.sorted()
        #expect(packages == ["ca-certificates", "gcc-12-base", "libc6", "libgcc-s1", "tzdata", "zlib1g"])
    }

    /// Online (the Debian archive, for the base's busybox).
    @Test(.requires(.online))
    func appImageRunsOnTheBaseWithoutWhatItRemoved() throws {
        let example = try copy("base-and-app")
        let base = try lockAndBuild(example + "/base.yaml", output: example + "/base-layout")
        try expectRun(base, prints: "base shell: /usr/bin/sh\napp.conf\ndebug.conf\n")

        let app = try Build.layout([example + "/app.yaml", "-o", "app"], in: scratch.path)
        #expect(Array(app.manifest.layers.prefix(2)) == base.manifest.layers, "the base's layers are reused as they are")
        try expectRun(app, prints: """
            /etc/app/app.conf: greeting=hello from a layer of the base
            /etc/app/debug.conf: removed
            /usr/bin/sh: removed
            /usr/bin/busybox: removed
            /usr/share/doc: removed

            """)
        let shell = try podman.container(try load(app), ["-c", "true"], options: ["--entrypoint", "/usr/bin/sh"])
        #expect(!shell.succeeded && shell.stderr.contains("no such file or directory"))

        // umoci applies the whiteouts and the opaque /usr/bin the same way.
        let rootfs = try Peers.check(app, name: "example.com/kiln/app", tag: "1.0", in: scratch.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: rootfs + "/usr/bin") == [])
        #expect(try FileManager.default.contentsOfDirectory(atPath: rootfs + "/etc/app") == ["app.conf"])
        #expect(!FileManager.default.fileExists(atPath: rootfs + "/usr/share/doc"))
    }
}
