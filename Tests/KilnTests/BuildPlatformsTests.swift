import KilnCore
import Foundation
import Testing
import TestSupport

/// SPEC §1.5: `platforms:` builds one image per platform and an image index
/// over them, checked with the peers (skopeo per architecture and `copy
/// --all`, oci-image-tool, umoci on each platform's manifest), and the arm64
/// program a build layer cross-compiles runs under qemu.
@Suite(.requires(Peers.tools, .root, .tools("gcc", "aarch64-linux-gnu-gcc", "qemu-aarch64-static", "dpkg-deb")))
struct BuildPlatformsTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-platforms")
        try scratch.write("plan/hello.c", """
            #include <stdio.h>
            int main(void) { puts("hello from " ARCH); return 0; }

            """)
        try scratch.write("plan/plan.yaml", """
            kiln: 1
            name: registry.example.com/team/multi
            tag: "2.0"
            created: "2024-01-01T00:00:00Z"
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: config
                type: files
                files:
                  - { path: /etc/motd, content: "shared\\n" }
              - name: app
                type: build
                inputs: [hello.c]
                command: |
                  case "$TARGETARCH" in
                    amd64) cc=gcc ;;
                    arm64) cc=aarch64-linux-gnu-gcc ;;
                    *) echo "unexpected TARGETARCH=$TARGETARCH"; exit 1 ;;
                  esac
                  mkdir -p "$KILN_OUT/usr/bin"
                  echo "$KILN_PLATFORM|$KILN_OS|$KILN_ARCH|$TARGETPLATFORM|$TARGETOS|$TARGETARCH|$TARGETVARIANT" > "$KILN_OUT/platform.txt"
                  $cc -static -O2 -DARCH="\\"$KILN_ARCH\\"" -o "$KILN_OUT/usr/bin/hello" hello.c
            entrypoint: ["/usr/bin/hello"]
            annotations: { org.opencontainers.image.vendor: Example }

            """)
    }

    /// The layout's index, the image index it points at, and each
    /// platform's manifest.
    struct MultiLayout {
        let path: String
        let index: IndexJSON
        let imageIndex: IndexJSON
        let manifests: [String: ManifestJSON]

        init(_ path: String) throws {
            self.path = path
            let decoder = JSONDecoder()
            index = try decoder.decode(IndexJSON.self, from: Data(try Files.bytes(path + "/index.json")))
            imageIndex = try decoder.decode(IndexJSON.self, from: Data(try Files.bytes(BuiltLayout.blob(index.manifests[0].digest, in: path))))
            var manifests: [String: ManifestJSON] = [:]
            for entry in imageIndex.manifests {
                let platform = try #require(entry.platform)
                let key = [platform.os, platform.architecture, platform.variant].compactMap { $0 }.joined(separator: "/")
                manifests[key] = try decoder.decode(ManifestJSON.self, from: Data(try Files.bytes(BuiltLayout.blob(entry.digest, in: path))))
            }
            self.manifests = manifests
        }

        /// A layout beside this one whose `index.json` names only
        /// `platform`'s manifest, tagged `tag`: what umoci and kiln's
        /// single-image checks read.
        func view(_ platform: String, tag: String, at directory: String) throws -> BuiltLayout {
            let entry = try #require(imageIndex.manifests.first { entry in
                [entry.platform?.os, entry.platform?.architecture, entry.platform?.variant].compactMap { $0 }.joined(separator: "/") == platform
            })
            try FileManager.default.createDirectory(atPath: directory + "/blobs", withIntermediateDirectories: true)
            try Tools.run(["cp", "-al", path + "/blobs/sha256", directory + "/blobs/sha256"])
            try Tools.run(["cp", path + "/oci-layout", directory + "/oci-layout"])
            let index = #"{"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"\#(tag)"},"digest":"\#(entry.digest)","#
                + #""mediaType":"\#(entry.mediaType)","size":\#(entry.size)}],"schemaVersion":2}"#
            try Data(index.utf8).write(to: URL(fileURLWithPath: directory + "/index.json"))
            return try BuiltLayout(directory)
        }
    }

    /// Runs `kiln build ARGUMENTS` (with `-o DIR` last but one), which
    /// must succeed, and reads the multi-platform layout it wrote.
    func multiLayout(_ arguments: [String]) throws -> MultiLayout {
        let result = try Build.run(arguments, in: scratch.path)
        guard result.succeeded else { throw TestSupportError("kiln build \(arguments) failed: \(result.stderr)") }
        return try MultiLayout(scratch.path(arguments[arguments.firstIndex(of: "-o")! + 1]))
    }

    @Test func twoPlatformsMakeAnIndexThePeersReadPerArchitecture() throws {
        let result = try Build.run(["plan/plan.yaml", "-o", "out", "--json"], in: scratch.path)
        #expect(result.succeeded, "\(result.stderr)")
        let layout = try MultiLayout(scratch.path("out"))

        // index.json: one entry, the image index, with both name annotations.
        #expect(layout.index.manifests.count == 1)
        let entry = layout.index.manifests[0]
        #expect(entry.mediaType == "application/vnd.oci.image.index.v1+json")
        #expect(entry.annotations?["org.opencontainers.image.ref.name"] == "2.0")
        #expect(entry.annotations?["io.containerd.image.name"] == "registry.example.com/team/multi:2.0")
        #expect(entry.annotations?["org.opencontainers.image.vendor"] == "Example")
        #expect(layout.imageIndex.mediaType == "application/vnd.oci.image.index.v1+json")
        #expect(layout.imageIndex.manifests.map(\.platform) == [
            PlatformJSON(architecture: "amd64", os: "linux"), PlatformJSON(architecture: "arm64", os: "linux"),
        ])
        #expect(layout.imageIndex.manifests.allSatisfy { $0.mediaType == "application/vnd.oci.image.manifest.v1+json" })

        // The files layer is built once and its blob shared; the build
        // layer differs per platform.
        let amd64 = try #require(layout.manifests["linux/amd64"])
        let arm64 = try #require(layout.manifests["linux/arm64"])
        #expect(amd64.layers[0].digest == arm64.layers[0].digest)
        #expect(amd64.layers[1].digest != arm64.layers[1].digest)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let layers = try #require(report["layers"] as? [[String: Any]])
        #expect(layers.map { $0["name"] as? String } == ["config", "app", "app"])
        #expect(layers.map { $0["platform"] as? String } == [nil, "linux/amd64", "linux/arm64"])
        #expect(report["manifest_digest"] as? String == entry.digest)
        let platforms = try #require(report["platforms"] as? [[String: Any]])
        #expect(platforms.map { $0["manifest_digest"] as? String } == layout.imageIndex.manifests.map(\.digest))
        #expect(result.stderr.contains("app@arm64"), "\(result.stderr)")

        // Docker's manifest.json lists the host's (amd64) image.
        let docker = try JSONDecoder().decode([DockerManifestJSON].self, from: Data(try Files.bytes(scratch.path("out/manifest.json"))))
        #expect(docker.map(\.Config) == ["blobs/sha256/" + amd64.config.digest.dropFirst(7)])

        // skopeo picks each architecture from the index; copy --all copies both.
        for architecture in ["amd64", "arm64"] {
            let inspected = try JSONDecoder().decode(Peers.SkopeoImage.self, from: Data(try Tools.run([
                "skopeo", "--insecure-policy", "inspect", "--override-arch", architecture, "oci:\(layout.path):2.0",
            ]).utf8))
            #expect(inspected.Architecture == architecture)
            #expect(inspected.Layers == layout.manifests["linux/" + architecture]!.layers.map(\.digest))
        }
        let copied = try Tools.run(["skopeo", "--insecure-policy", "copy", "--all", "oci:\(layout.path):2.0", "oci:\(scratch.path("copy")):2.0"])
        #expect(copied.contains("Copying 2 of 2 images in list"), "\(copied)")
        let validation = try Tools.run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=2.0", layout.path])
        #expect(validation.contains("Validation succeeded"))

        // Each platform's manifest passes every peer, umoci included.
        for (architecture, expected) in [("amd64", "linux/amd64|linux|amd64|linux/amd64|linux|amd64|"), ("arm64", "linux/arm64|linux|arm64|linux/arm64|linux|arm64|")] {
            let view = try layout.view("linux/" + architecture, tag: architecture, at: scratch.path("view-" + architecture))
            let rootfs = try Peers.check(view, name: "registry.example.com/team/multi", tag: architecture, in: scratch.path, architecture: architecture)
            #expect(try Files.text(rootfs + "/platform.txt") == expected + "\n")
            #expect(try Files.text(rootfs + "/etc/motd") == "shared\n")
        }

        // inspect lists both images, each naming the index it is in.
        let inspected = try Tools.execute([KilnBinary.path, "inspect", "out", "--json"], in: scratch.path)
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any])
        let images = try #require(summary["images"] as? [[String: Any]])
        #expect(images.map { $0["platform"] as? String } == ["linux/amd64", "linux/arm64"])
        #expect(images.allSatisfy { $0["index_digest"] as? String == entry.digest })

        // The arm64 program, exported from the index, runs under qemu.
        let export = try Tools.execute([KilnBinary.path, "export", "out", "--platform", "linux/arm64", "--rootfs", "arm64-root"], in: scratch.path)
        #expect(export.succeeded, "\(export.stderr)")
        #expect(try Tools.run(["qemu-aarch64-static", scratch.path("arm64-root/usr/bin/hello")]) == "hello from arm64\n")
        // Without --platform, export takes this machine's image.
        let host = try Tools.execute([KilnBinary.path, "export", "out", "--rootfs", "host-root"], in: scratch.path)
        #expect(host.succeeded, "\(host.stderr)")
        #expect(try Tools.run([scratch.path("host-root/usr/bin/hello")]) == "hello from amd64\n")
    }

    /// examples/multiarch builds, and each platform's program runs: amd64
    /// here, arm64 under qemu.
    @Test func theMultiarchExampleRunsOnBothArchitectures() throws {
        let plan = Build.examples + "/multiarch/multiarch.yaml"
        let layout = try multiLayout([plan, "-o", "example"])
        #expect(layout.manifests.keys.sorted() == ["linux/amd64", "linux/arm64"])
        for (platform, runner) in [("linux/amd64", [String]()), ("linux/arm64", ["qemu-aarch64-static"])] {
            let root = scratch.path("example-" + platform.replacingOccurrences(of: "/", with: "-"))
            let export = try Tools.execute([KilnBinary.path, "export", "example", "--platform", platform, "--rootfs", root], in: scratch.path)
            #expect(export.succeeded, "\(export.stderr)")
            let output = try Tools.run(runner + [root + "/usr/bin/hello"])
            #expect(output.hasPrefix("hello from multiarch, built for \(platform), running on "), "\(output)")
        }
    }

    @Test func platformPicksOneImageAndRefusesAPlatformThePlanLacks() throws {
        let full = try multiLayout(["plan/plan.yaml", "-o", "all"])
        let one = try Build.layout(["plan/plan.yaml", "-o", "one", "--platform", "linux/arm64"], in: scratch.path)
        // A single image, the very manifest the index lists for arm64.
        #expect(one.index.manifests[0].mediaType == "application/vnd.oci.image.manifest.v1+json")
        #expect(one.index.manifests[0].platform == PlatformJSON(architecture: "arm64", os: "linux"))
        #expect(one.index.manifests[0].digest == full.imageIndex.manifests[1].digest)
        #expect(one.index.manifests[0].annotations?["org.opencontainers.image.ref.name"] == "2.0")

        let refused = try Build.run(["plan/plan.yaml", "-o", "none", "--platform", "linux/s390x"], in: scratch.path)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--platform linux/s390x: the plan builds linux/amd64, linux/arm64"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("none")))
    }

    /// `--sbom` on a `platforms:` build attaches one SBOM per platform
    /// image, each an artifact whose subject is that platform's manifest,
    /// listed in index.json after the tagged index without a ref.name.
    @Test func eachPlatformImageGetsItsOwnSBOM() throws {
        let layout = try multiLayout(["plan/plan.yaml", "-o", "with-sbom", "--sbom", "spdx"])
        #expect(layout.index.manifests.count == 3)
        #expect(layout.index.manifests[0].mediaType == "application/vnd.oci.image.index.v1+json")
        var subjects: [String] = []
        for artifact in layout.index.manifests.dropFirst() {
            #expect(artifact.annotations?["org.opencontainers.image.ref.name"] == nil)
            let manifest = try #require(try JSONSerialization.jsonObject(with: Data(try Files.bytes(BuiltLayout.blob(artifact.digest, in: layout.path)))) as? [String: Any])
            #expect(manifest["artifactType"] as? String == "application/spdx+json")
            subjects.append(try #require((manifest["subject"] as? [String: Any])?["digest"] as? String))
        }
        #expect(subjects.sorted() == layout.imageIndex.manifests.map(\.digest).sorted())
    }

    /// `kiln diff` of two multi-platform layouts compares one platform's
    /// images: `--platform`'s, else this machine's.
    @Test func diffComparesOnePlatformOfTwoIndexes() throws {
        _ = try multiLayout(["plan/plan.yaml", "-o", "before"])
        let plan = try Files.text(scratch.path("plan/plan.yaml"))
        try scratch.write("plan/plan.yaml", plan.replacingOccurrences(of: "echo \"$KILN_PLATFORM", with: "echo \"v2 $KILN_PLATFORM"))
        _ = try multiLayout(["plan/plan.yaml", "-o", "after"])
        for platform in ["linux/arm64", nil] {
            let result = try Tools.execute([KilnBinary.path, "diff", "before", "after", "--format", "json"] + (platform.map { ["--platform", $0] } ?? []), in: scratch.path)
            #expect(result.status == 1, "\(result.stderr)")
            #expect(result.stdout.contains("platform.txt"), "\(result.stdout)")
        }
        let refused = try Tools.execute([KilnBinary.path, "diff", "before", "after", "--platform", "linux/s390x"], in: scratch.path)
        #expect(refused.status != 0 && refused.status != 1 || refused.stderr.contains("s390x"), "\(refused.stderr)")
    }

    /// A one-platform plan's build commands see the platform variables too,
    /// the variant empty; a variant reaches the descriptor and the config.
    @Test func singlePlatformAndVariantsSetThePlatformVariables() throws {
        try scratch.write("v7/plan.yaml", """
            kiln: 1
            name: example.com/e2e/v7
            platforms: [linux/arm/v7]
            layers:
              - name: probe
                type: build
                command: 'echo "$KILN_PLATFORM|$TARGETARCH|$TARGETVARIANT" > "$KILN_OUT/platform.txt"'

            """)
        let built = try multiLayout(["v7/plan.yaml", "-o", "v7-out"])
        #expect(built.imageIndex.manifests.map(\.platform) == [PlatformJSON(architecture: "arm", os: "linux", variant: "v7")])
        let view = try built.view("linux/arm/v7", tag: "v7", at: scratch.path("v7-view"))
        #expect(view.configBytes.count > 0)
        let config = try #require(try JSONSerialization.jsonObject(with: Data(view.configBytes)) as? [String: Any])
        #expect(config["variant"] as? String == "v7")
        let listed = try Tools.run(["tar", "-xzOf", view.layerBlobs[0], "platform.txt"])
        #expect(listed == "linux/arm/v7|arm|v7\n")

        try scratch.write("single/plan.yaml", """
            kiln: 1
            name: example.com/e2e/single
            platform: linux/amd64
            layers:
              - name: probe
                type: build
                command: 'echo "$KILN_PLATFORM|$KILN_OS|$KILN_ARCH|$TARGETPLATFORM|$TARGETOS|$TARGETARCH|[$TARGETVARIANT]" > "$KILN_OUT/platform.txt"'

            """)
        let single = try Build.layout(["single/plan.yaml", "-o", "single-out"], in: scratch.path)
        #expect(try Tools.run(["tar", "-xzOf", single.layerBlobs[0], "platform.txt"]) == "linux/amd64|linux|amd64|linux/amd64|linux|amd64|[]\n")
    }

    /// Packages layers resolve per architecture from the same sources; the
    /// lock file pins each platform's resolution under its own key, and a
    /// locked build uses them.
    @Test func packagesResolvePerArchitectureAndTheLockPinsEach() throws {
        for architecture in ["amd64", "arm64"] {
            let root = "pkgs/tool-\(architecture)"
            try scratch.write("\(root)/DEBIAN/control", "Package: tool\nVersion: 1.0-\(architecture)\nArchitecture: \(architecture)\nMaintainer: kiln <kiln@example.com>\nDepends: tool-data\nDescription: test\n")
            try scratch.write("\(root)/usr/bin/tool", "built for \(architecture)\n")
            try scratch.directory("plan/debs", mode: 0o755)
            try Tools.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", scratch.path(root), scratch.path("plan/debs/tool_1.0-\(architecture)_\(architecture).deb")])
        }
        try scratch.write("pkgs/tool-data/DEBIAN/control", "Package: tool-data\nVersion: 2.0\nArchitecture: all\nMaintainer: kiln <kiln@example.com>\nDescription: test\n")
        try scratch.write("pkgs/tool-data/usr/share/tool/data", "data\n")
        try Tools.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", scratch.path("pkgs/tool-data"), scratch.path("plan/debs/tool-data_2.0_all.deb")])
        try scratch.write("plan/packages.yaml", """
            kiln: 1
            name: example.com/e2e/packages
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: runtime
                type: packages
                sources: [{ dir: debs }]
                names: [tool]

            """)
        let lock = try Tools.execute([KilnBinary.path, "lock", "plan/packages.yaml"], in: scratch.path,
                                     environment: Build.environment(cache: scratch.path(".cache")))
        #expect(lock.succeeded, "\(lock.stderr)")
        let lockJSON = try #require(try JSONSerialization.jsonObject(with: Data(try Files.bytes(scratch.path("plan/packages.lock.json")))) as? [String: Any])
        let locked = try #require(lockJSON["layers"] as? [String: [String: Any]])
        #expect(locked.keys.sorted() == ["runtime@linux/amd64", "runtime@linux/arm64"])
        for architecture in ["amd64", "arm64"] {
            let packages = try #require(locked["runtime@linux/" + architecture]?["packages"] as? [[String: Any]])
            #expect(packages.map { $0["name"] as? String } .sorted { ($0 ?? "") < ($1 ?? "") } == ["tool", "tool-data"])
            #expect(packages.contains { $0["version"] as? String == "1.0-" + architecture && $0["architecture"] as? String == architecture })
        }

        let layout = try multiLayout(["plan/packages.yaml", "-o", "pkg-out", "--locked"])
        for architecture in ["amd64", "arm64"] {
            let manifest = try #require(layout.manifests["linux/" + architecture])
            let tool = try Tools.run(["tar", "-xzOf", BuiltLayout.blob(manifest.layers[0].digest, in: layout.path), "usr/bin/tool"])
            #expect(tool == "built for \(architecture)\n")
        }

        // A lock that pins only one platform is stale for the other.
        var trimmed = lockJSON
        trimmed["layers"] = ["runtime@linux/amd64": locked["runtime@linux/amd64"]!]
        try JSONSerialization.data(withJSONObject: trimmed).write(to: URL(fileURLWithPath: scratch.path("plan/packages.lock.json")))
        let stale = try Build.run(["plan/packages.yaml", "-o", "pkg-stale", "--locked"], in: scratch.path)
        #expect(stale.status == 1)
        #expect(stale.stderr.contains("runtime@linux/arm64"), "\(stale.stderr)")
    }

    /// arm64 packages from the build host's own Debian sources (the
    /// archive carries every architecture), only with KILN_ONLINE_TESTS=1.
    @Test(.requires(.online))
    func arm64PackagesComeFromTheSystemSources() throws {
        try scratch.write("online/zlib.yaml", """
            kiln: 1
            name: example.com/e2e/zlib
            platforms: [linux/amd64, linux/arm64]
            layers:
              - name: zlib
                type: packages
                names: [zlib1g]
                resolve: none

            """)
        let layout = try multiLayout(["online/zlib.yaml", "-o", "zlib-out"])
        for (architecture, triplet) in [("amd64", "x86_64-linux-gnu"), ("arm64", "aarch64-linux-gnu")] {
            let manifest = try #require(layout.manifests["linux/" + architecture])
            let listing = try Tools.run(["tar", "-tzf", BuiltLayout.blob(manifest.layers[0].digest, in: layout.path)])
            #expect(listing.split(separator: "\n").contains { $0.hasPrefix("usr/lib/\(triplet)/libz.so.1") }, "\(listing)")
            let status = try Tools.run(["tar", "-xzOf", BuiltLayout.blob(manifest.layers[0].digest, in: layout.path), "var/lib/dpkg/status.d/zlib1g"])
            #expect(status.contains("Architecture: \(architecture)\n"), "\(status)")
        }
    }

    /// A files layer's cache entry does not depend on the platform: a
    /// second plan for another platform reuses it.
    @Test func filesLayersShareCacheEntriesAcrossPlatforms() throws {
        for (name, platform) in [("a", "linux/amd64"), ("b", "linux/arm64")] {
            try scratch.write("cache/\(name).yaml", """
                kiln: 1
                name: example.com/e2e/cache
                platform: \(platform)
                layers:
                  - name: config
                    type: files
                    files:
                      - { path: /etc/motd, content: "same\\n" }

                """)
        }
        let environment = Build.environment(cache: scratch.path("shared-cache"))
        let first = try Build.run(["cache/a.yaml", "-o", "a-out", "--json"], in: scratch.path, environment: environment)
        let second = try Build.run(["cache/b.yaml", "-o", "b-out", "--json"], in: scratch.path, environment: environment)
        #expect(first.succeeded && second.succeeded, "\(first.stderr)\(second.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        let layers = try #require(report["layers"] as? [[String: Any]])
        #expect(layers.first?["cached"] as? Bool == true)
    }
}
