import KilnCore
import Foundation
import Testing
import TestSupport

/// SPEC §1.2 and §3 on what the real binary writes: the config, the
/// manifest, `index.json` and Docker's `manifest.json` byte for byte, and
/// the `--tar` archive as podman, skopeo and GNU tar read it.
@Suite(.requires(.tools("python3", "sha256sum", "tar")))
struct BuildOutputTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-output")
        try scratch.write("plan/plan.yaml", """
            kiln: 1
            name: registry.example.com/team/app
            tag: "1.4.2"
            platform: linux/amd64
            created: "2024-01-01T00:00:00Z"
            layers:
              - name: config
                type: files
                files:
                  - { path: /etc/app.conf, content: "port=8080\\n" }
              - name: gen
                type: build
                command: 'mkdir -p "$KILN_OUT/usr/bin" && printf "#!/bin/sh\\necho app\\n" > "$KILN_OUT/usr/bin/app" && chmod 755 "$KILN_OUT/usr/bin/app"'
            entrypoint: ["/usr/bin/app"]
            cmd: ["--port", "8080"]
            env: { B: two words, A: "1" }
            workdir: /app
            user: "65532:65532"
            expose: ["8080/tcp", "53/udp"]
            volumes: ["/var/lib/app", "/data"]
            stop_signal: SIGTERM
            labels: { org.opencontainers.image.source: "https://example.com/app" }
            annotations: { org.opencontainers.image.vendor: Example, org.example.build: "42" }

            """)
    }

    @Test func configManifestAndIndexAreExactlyWhatThePlanSays() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out"], in: scratch.path)
        // Layers: digests and sizes of the files, diff_ids from Python.
        var layerJSON: [String] = []
        var diffIDs: [String] = []
        for descriptor in layout.manifest.layers {
            let file = layout.blob(descriptor.digest)
            let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
            layerJSON.append(#"{"digest":"\#(try Tools.sha256(file: file))","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":\#(size)}"#)
            diffIDs.append(try LayerProbe(blob: file).diffID)
        }
        #expect(layerJSON.count == 2)
        let when = "2024-01-01T00:00:00Z"
        let config = #"{"architecture":"amd64","config":{"Cmd":["--port","8080"],"Entrypoint":["/usr/bin/app"],"Env":["A=1","B=two words"],"#
            + #""ExposedPorts":{"53/udp":{},"8080/tcp":{}},"Labels":{"org.opencontainers.image.source":"https://example.com/app"},"#
            + #""StopSignal":"SIGTERM","User":"65532:65532","Volumes":{"/data":{},"/var/lib/app":{}},"WorkingDir":"/app"},"#
            + #""created":"\#(when)","history":[{"created":"\#(when)","created_by":"kiln files config"},"#
            + #"{"created":"\#(when)","created_by":"kiln build gen"}],"os":"linux","#
            + #""rootfs":{"diff_ids":["\#(diffIDs[0])","\#(diffIDs[1])"],"type":"layers"}}"#
        let configDigest = layout.manifest.config.digest
        #expect(try Files.text(layout.blob(configDigest)) == config)
        #expect(configDigest == (try Tools.sha256(Array(config.utf8))))

        let annotations = #""annotations":{"org.example.build":"42","org.opencontainers.image.vendor":"Example"}"#
        let manifest = #"{\#(annotations),"config":{"digest":"\#(configDigest)","mediaType":"application/vnd.oci.image.config.v1+json","size":\#(config.utf8.count)},"#
            + #""layers":[\#(layerJSON.joined(separator: ","))],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#
        let manifestDigest = try Tools.sha256(Array(manifest.utf8))
        #expect(try Files.text(layout.blob(layout.index.manifests[0].digest)) == manifest)
        #expect(layout.index.manifests[0].digest == manifestDigest)

        // The index descriptor: the plan's annotations plus the ref name
        // (the tag) and containerd's image name (name:tag), and the platform.
        #expect(try Files.text(layout.path + "/index.json") == #"{"manifests":[{"annotations":{"io.containerd.image.name":"registry.example.com/team/app:1.4.2","#
            + #""org.example.build":"42","org.opencontainers.image.ref.name":"1.4.2","org.opencontainers.image.vendor":"Example"},"#
            + #""digest":"\#(manifestDigest)","mediaType":"application/vnd.oci.image.manifest.v1+json","platform":{"architecture":"amd64","os":"linux"},"#
            + #""size":\#(manifest.utf8.count)}],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#)

        // Docker's manifest.json, whose paths all exist.
        let layerPaths = layout.manifest.layers.map { "\"blobs/sha256/\($0.digest.dropFirst(7))\"" }.joined(separator: ",")
        #expect(try Files.text(layout.path + "/manifest.json")
            == #"[{"Config":"blobs/sha256/\#(configDigest.dropFirst(7))","Layers":[\#(layerPaths)],"RepoTags":["registry.example.com/team/app:1.4.2"]}]"#)
        let docker = try JSONDecoder().decode([DockerManifestJSON].self, from: Data(try Files.bytes(layout.path + "/manifest.json")))
        for path in [docker[0].Config] + docker[0].Layers {
            #expect(FileManager.default.fileExists(atPath: layout.path + "/" + path), "\(path)")
        }
        // Nothing else in the layout.
        #expect(try Files.entries(layout.path) == ["blobs", "index.json", "manifest.json", "oci-layout"])
        #expect(try layout.blobNames().count == 4)
    }

    @Test func platformWithVariantReachesTheConfigAndTheIndex() throws {
        try scratch.write("arm/plan.yaml", """
            kiln: 1
            name: example.com/e2e/arm
            platform: linux/arm64/v8
            layers:
              - name: one
                type: files
                files:
                  - { path: /motd, content: "hi\\n" }

            """)
        let layout = try Build.layout(["arm/plan.yaml", "-o", "arm-out"], in: scratch.path)
        #expect(layout.index.manifests[0].platform == PlatformJSON(architecture: "arm64", os: "linux", variant: "v8"))
        #expect(layout.config.architecture == "arm64" && layout.config.os == "linux")
        #expect(String(decoding: layout.configBytes, as: UTF8.self).contains(#""variant":"v8""#))
        #expect(layout.index.manifests[0].annotations?["org.opencontainers.image.ref.name"] == "latest")
    }

    // MARK: --tar

    @Test(.requires(.tools("skopeo")))
    func theArchiveIsTheLayoutTarredSortedWithOneMtime() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out", "--tar", "out.tar"], in: scratch.path)
        let archive = scratch.path("out.tar")
        let listing = try Tools.run(["tar", "-tv", "--full-time", "--numeric-owner", "-f", archive],
                                    environment: Tools.environment(setting: ["TZ": "UTC", "LC_ALL": "C"]))
        let fields = lines(listing).map { $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init) }
        let names = fields.map { $0[5] }
        #expect(names == names.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        #expect(names.prefix(2) == ["blobs", "blobs/sha256"])
        #expect(Set(names.suffix(3)) == ["index.json", "manifest.json", "oci-layout"])
        for entry in fields {
            #expect(entry[1] == "0/0" && entry[3] == "2024-01-01" && entry[4] == "00:00:00", "\(entry)")
            #expect(entry[0] == (entry[0].hasPrefix("d") ? "drwxr-xr-x" : "-rw-r--r--"), "\(entry)")
        }
        // The same files as the layout, byte for byte.
        let unpacked = try scratch.directory("unpacked")
        try Tools.run(["tar", "-xf", archive, "-C", unpacked])
        #expect(try Build.files(unpacked) == (try Build.files(layout.path)))
        // An archive alone is the same archive.
        let alone = try Build.run(["plan/plan.yaml", "--tar", "alone.tar"], in: scratch.path)
        #expect(alone.status == 0)
        #expect(try Files.bytes(scratch.path("alone.tar")) == (try Files.bytes(archive)))

        let inspected = try JSONDecoder().decode(Peers.SkopeoImage.self, from: Data(
            try Tools.run(["skopeo", "--insecure-policy", "inspect", "oci-archive:" + archive]).utf8))
        #expect(inspected.Digest == layout.index.manifests[0].digest)
        #expect(inspected.Layers == layout.manifest.layers.map(\.digest))
    }

    @Test(.requires(.tools("podman", "runc")))
    func podmanLoadsTheArchiveUnderItsName() throws {
        let layout = try Build.layout(["plan/plan.yaml", "-o", "out", "--tar", "out.tar"], in: scratch.path)
        let podman = try Podman()
        defer { podman.remove() }
        let loaded = try podman.run(["load", "-i", scratch.path("out.tar")])
        #expect(loaded.contains("registry.example.com/team/app:1.4.2"))
        let images = try podman.run(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(lines(images) == ["registry.example.com/team/app:1.4.2"])
        let rootfs = try podman.run(["image", "inspect", "--format", "{{json .RootFS.Layers}}", "registry.example.com/team/app:1.4.2"])
        let quoted = layout.config.rootfs.diff_ids.map { "\"\($0)\"" }.joined(separator: ",")
        #expect(rootfs.trimmingCharacters(in: .whitespacesAndNewlines) == "[\(quoted)]")
        let config = try podman.run(["image", "inspect", "--format", "{{json .Config.Entrypoint}} {{.Config.User}} {{.Config.WorkingDir}}",
                                      "registry.example.com/team/app:1.4.2"])
        #expect(config.trimmingCharacters(in: .whitespacesAndNewlines) == #"["/usr/bin/app"] 65532:65532 /app"#)
    }
}
