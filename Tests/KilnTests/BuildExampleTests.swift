import KilnCore
import Foundation
import Testing
import TestSupport

/// Every example in `examples/` built by the real `kiln build` and checked
/// by the peers the SPEC names; the files example's unpacked root file
/// system must be exactly the tree its plan declares, written out by hand.
@Suite(.requires(Peers.tools, .root))
struct BuildExampleTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-examples")
    }

    /// Each layer's diff_id, recomputed by Python from the blob, is the
    /// config's, and each blob's sha256sum is its name and descriptor.
    func checkDigests(_ layout: BuiltLayout, compression: String = "gzip") throws {
        var diffIDs: [String] = []
        for layer in layout.manifest.layers {
            let probe = try LayerProbe(blob: layout.blob(layer.digest), compression: compression)
            diffIDs.append(probe.diffID)
            #expect(try Tools.sha256(file: layout.blob(layer.digest)) == layer.digest)
        }
        #expect(layout.config.rootfs.diff_ids == diffIDs)
        for name in try layout.blobNames() {
            #expect(try Tools.sha256(file: layout.path + "/blobs/sha256/" + name) == "sha256:" + name)
        }
    }

    @Test func filesExampleUnpacksToExactlyTheDeclaredTree() throws {
        let example = Build.examples + "/files"
        let layout = try Build.layout([example + "/files.yaml", "-o", "out"], in: scratch.path)
        try checkDigests(layout)
        let rootfs = try Peers.check(layout, name: "example.com/kiln/files-demo", tag: "1.0.0", in: scratch.path)
        // files.yaml, entry by entry: layer "config", then layer "tools"
        // (root: rootfs, paths: [usr/local/bin, etc/app/defaults.env]),
        // with every parent directory 0755 0:0.
        #expect(try Tree.listing(rootfs) == [
            Tree.directory("etc"),
            Tree.directory("etc/app"),
            try Tree.file("etc/app/config.yaml", copying: example + "/config/app.yaml"),
            try Tree.file("etc/app/defaults.env", copying: example + "/rootfs/etc/app/defaults.env"),
            try Tree.file("etc/motd", "Built by kiln.\n"),
            Tree.directory("usr"),
            Tree.directory("usr/bin"),
            Tree.symlink("usr/bin/app", to: "/usr/local/bin/app"),
            Tree.directory("usr/local"),
            Tree.directory("usr/local/bin"),
            try Tree.file("usr/local/bin/app", copying: example + "/rootfs/usr/local/bin/app", mode: "755"),
            Tree.directory("var"),
            Tree.directory("var/lib"),
            Tree.directory("var/lib/app", mode: "750", owner: "65532:65532"),
        ])
        #expect(layout.config.config == ConfigJSON.Runtime(
            User: "65532:65532", ExposedPorts: ["8080/tcp": [:]], Env: ["APP_ENV=production", "TZ=UTC"],
            Entrypoint: ["/usr/local/bin/app"], Cmd: ["--config", "/etc/app/config.yaml"], Volumes: ["/var/lib/app": [:]],
            WorkingDir: "/var/lib/app",
            Labels: ["org.opencontainers.image.source": "https://example.com/kiln/files-demo",
                     "org.opencontainers.image.description": "kiln files-layer example"],
            StopSignal: "SIGTERM"))
    }

    @Test(.requires(.tools("cc")))
    func buildExampleCompilesAProgramThatRunsFromTheImage() throws {
        let layout = try Build.layout([Build.examples + "/build/build.yaml", "-o", "out"], in: scratch.path)
        try checkDigests(layout)
        let rootfs = try Peers.check(layout, name: "example.com/kiln/hello-c", tag: "1.0", in: scratch.path)
        let listing = try Tree.listing(rootfs)
        #expect(listing.map { $0.split(separator: "|").prefix(4).joined(separator: "|") } == [
            "usr|d|755|0:0", "usr/local|d|755|0:0", "usr/local/bin|d|755|0:0", "usr/local/bin/hello|f|755|0:0",
        ])
        // Statically linked, so it runs straight from the unpacked image.
        let hello = try Tools.run([rootfs + "/usr/local/bin/hello", "one"])
        #expect(hello == "hello from a kiln build layer (1 argument)\n")
        #expect(layout.config.config?.Entrypoint == ["/usr/local/bin/hello"])
        #expect(layout.config.history == [ConfigJSON.History(created: "2024-01-01T00:00:00Z", created_by: "kiln build hello")])
    }

    /// `make-store.sh` writes the example's store under /var/tmp, where the
    /// plan names it; once per test run.
    static let derivationStore: Result<String, TestSupportError> = {
        do {
            return .success(try Tools.run([Build.examples + "/derivation/make-store.sh"]))
        } catch {
            return .failure(TestSupportError("make-store.sh failed: \(error)"))
        }
    }()

    @Test(.requires(.tools("cc")))
    func derivationExampleHoldsTheClosureAndNothingElse() throws {
        _ = try Self.derivationStore.get()
        let layout = try Build.layout([Build.examples + "/derivation/derivation.yaml", "-o", "out"], in: scratch.path)
        try checkDigests(layout)
        let rootfs = try Peers.check(layout, name: "example.com/kiln/hello-store", tag: "2.12", in: scratch.path)
        let store = "/var/tmp/kiln-example/nix/store"
        let hello = "0c4wpbvxxqkvbq0x3v6rhwsh3b6j2n8j-hello-2.12"
        let greeting = "1b9p6kq0vd2x7cmhzsfw5g3r8jyl4na0-greeting-1.0"
        // The store objects come in as they are (read-only, as Nix leaves
        // them); the unrelated store path is left out.
        #expect(try Tree.listing(rootfs) == [
            Tree.directory("var"),
            Tree.directory("var/tmp"),
            Tree.directory("var/tmp/kiln-example"),
            Tree.directory("var/tmp/kiln-example/nix"),
            Tree.directory("var/tmp/kiln-example/nix/store"),
            Tree.directory("var/tmp/kiln-example/nix/store/" + hello, mode: "555"),
            Tree.directory("var/tmp/kiln-example/nix/store/\(hello)/bin", mode: "555"),
            try Tree.file("var/tmp/kiln-example/nix/store/\(hello)/bin/hello", copying: "\(store)/\(hello)/bin/hello", mode: "555"),
            Tree.directory("var/tmp/kiln-example/nix/store/" + greeting, mode: "555"),
            Tree.directory("var/tmp/kiln-example/nix/store/\(greeting)/share", mode: "555"),
            try Tree.file("var/tmp/kiln-example/nix/store/\(greeting)/share/greeting.txt", "Hello from a store path.\n", mode: "444"),
        ])
    }

    /// Downloads from the Debian archive, so only with KILN_ONLINE_TESTS=1
    /// (CI sets it: its machines reach the archive). The example is locked
    /// afresh in a copy, so the test does not depend on the committed lock's
    /// `.deb`s still being in the archive's pool.
    @Test(.requires(.online))
    func packagesExampleLocksThenBuildsLockedTwiceToTheSameBytes() throws {
        let copy = try scratch.directory("example")
        try FileManager.default.copyItem(atPath: Build.examples + "/packages/packages.yaml", toPath: copy + "/packages.yaml")
        let plan = copy + "/packages.yaml"
        let lock = try Tools.execute([KilnBinary.path, "lock", plan], in: scratch.path, environment: Build.environment(cache: scratch.path + "/.cache"))
        #expect(lock.succeeded, "kiln lock: \(lock.stderr)")
        #expect(FileManager.default.fileExists(atPath: copy + "/packages.lock.json"))
        let first = try Build.layout([plan, "--locked", "-o", "first"], in: scratch.path)
        let second = try Build.layout(
            [plan, "--locked", "--no-cache", "-o", "second"], in: scratch.path,
            environment: Build.environment(cache: scratch.path + "/other-cache"))
        #expect(try Build.files(first.path) == (try Build.files(second.path)))
        try checkDigests(first)
        let rootfs = try Peers.check(first, name: "example.com/kiln/runtime-base", tag: "bookworm", in: scratch.path)
        let listing = try Tree.listing(rootfs)
        let paths = Set(listing.map { String($0.split(separator: "|")[0]) })
        for expected in ["etc/ssl/certs/ca-certificates.crt", "usr/share/zoneinfo/UTC", "var/lib/dpkg/status.d/tzdata",
                         "var/lib/dpkg/status.d/ca-certificates", "etc/passwd", "home/nonroot"] {
            #expect(paths.contains(expected), "\(expected) is not in the image")
        }
        #expect(listing.contains(Tree.directory("home/nonroot", mode: "700", owner: "65532:65532")))
        // usr-merge: /bin, /sbin and /lib* are symlinks into /usr, with
        // nothing of their own below them.
        let topLevel = listing.filter { !$0.split(separator: "|")[0].contains("/") }
        for name in ["bin", "lib", "lib64", "sbin"] where paths.contains(name) {
            #expect(topLevel.contains(Tree.symlink(name, to: "usr/" + name)))
        }
        #expect(paths.filter { ["bin", "sbin", "lib", "lib64"].contains($0.split(separator: "/")[0]) && $0.contains("/") }.isEmpty)
    }
}
