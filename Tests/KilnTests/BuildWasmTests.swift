import Foundation
import Testing
import TestSupport

/// `wasm` layers (SPEC §1.5), end to end: the blob is the module file's
/// bytes, the descriptor and config are what runwasi reads, plan errors
/// are at the layer's `file:line:col`, the cache reuses the layer, and the
/// layout passes skopeo and oci-image-tool.
@Suite(.requires(.kilnBinary, .tools("sha256sum")))
struct BuildWasmTests {
    static let mediaType = "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm"
    let scratch: TemporaryDirectory
    let module = ELFFixture.wasmModule(name: "hello", payload: Array("kiln wasm test".utf8))

    init() throws {
        scratch = try TemporaryDirectory(prefix: "kiln-e2e-wasm")
        try scratch.write("app.wasm", bytes: module)
        try scratch.write("plan.yaml", """
            kiln: 1
            name: example.com/wasm/hello
            tag: "1.0"
            platform: wasip1/wasm
            created: "2024-01-01T00:00:00Z"
            layers:
              - name: module
                type: wasm
                module: app.wasm

            """)
    }

    var environment: [String: String] { Build.environment(cache: scratch.path + "/cache") }

    @Test func theBlobIsTheModuleAndDescriptorAndConfigAreRunwasis() throws {
        let layout = try Build.layout(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        let moduleDigest = try Tools.sha256(file: scratch.path("app.wasm"))

        #expect(layout.index.manifests[0].platform == PlatformJSON(architecture: "wasm", os: "wasip1", variant: nil))
        #expect(layout.manifest.layers.count == 1)
        let layer = try #require(layout.manifest.layers.first)
        #expect(layer.mediaType == Self.mediaType)
        #expect(layer.digest == moduleDigest)
        #expect(layer.size == module.count)
        #expect(layer.annotations == nil && layer.platform == nil)
        #expect(try Files.bytes(layout.blob(layer.digest)) == module)
        #expect(try Tools.sha256(file: layout.blob(layer.digest)) == moduleDigest)

        #expect(layout.config.os == "wasip1")
        #expect(layout.config.architecture == "wasm")
        #expect(layout.config.rootfs.type == "layers")
        #expect(layout.config.rootfs.diff_ids == [moduleDigest])
        #expect(layout.config.config?.Entrypoint == ["/app.wasm"])
        #expect(layout.config.config?.Cmd == nil)
        #expect(layout.config.history == [ConfigJSON.History(created: "2024-01-01T00:00:00Z", created_by: "kiln wasm module", empty_layer: nil)])
        #expect(layout.config.created == "2024-01-01T00:00:00Z")

        // The docker manifest.json lists the module blob too.
        let docker = try JSONDecoder().decode([DockerManifestJSON].self, from: Data(try Files.bytes(layout.path + "/manifest.json")))
        #expect(docker.first?.Layers == ["blobs/sha256/" + moduleDigest.dropFirst("sha256:".count)])
    }

    @Test func aPlanEntrypointWinsAndTheBuildIsReproducibleAndCached() throws {
        try scratch.write("plan2.yaml", """
            kiln: 1
            name: example.com/wasm/hello
            platform: wasip1/wasm
            layers:
              - name: module
                type: wasm
                module: app.wasm
            entrypoint: ["/app.wasm", "--greet"]

            """)
        let cold = try Build.run(["plan2.yaml", "-o", "a", "--json"], in: scratch.path, environment: environment)
        #expect(cold.succeeded, "\(cold.stderr)")
        let warm = try Build.run(["plan2.yaml", "-o", "b", "--json"], in: scratch.path, environment: environment)
        #expect(warm.succeeded, "\(warm.stderr)")
        struct Report: Decodable { struct Layer: Decodable { var cached: Bool; var digest: String; var strategy: String }; var layers: [Layer] }
        let first = try JSONDecoder().decode(Report.self, from: Data(cold.stdout.utf8))
        let second = try JSONDecoder().decode(Report.self, from: Data(warm.stdout.utf8))
        #expect(first.layers.map(\.cached) == [false])
        #expect(second.layers.map(\.cached) == [true])
        #expect(second.layers.map(\.strategy) == ["wasm"])
        #expect(first.layers.map(\.digest) == [try Tools.sha256(module)])
        #expect(try Build.files(scratch.path("a")) == (try Build.files(scratch.path("b"))))
        #expect(try BuiltLayout(scratch.path("b")).config.config?.Entrypoint == ["/app.wasm", "--greet"])
        // A changed module is a changed key: rebuilt, new digest.
        let other = ELFFixture.wasmModule(name: "other")
        try scratch.write("app.wasm", bytes: other)
        let changed = try Build.run(["plan2.yaml", "-o", "c", "--json"], in: scratch.path, environment: environment)
        let third = try JSONDecoder().decode(Report.self, from: Data(changed.stdout.utf8))
        #expect(third.layers.map(\.cached) == [false])
        #expect(third.layers.map(\.digest) == [try Tools.sha256(other)])
    }

    @Test(.requires(.tools("skopeo", "oci-image-tool")))
    func skopeoAcceptsTheLayoutAndOCIImageToolRefusesOnlyTheMediaType() throws {
        let layout = try Build.layout(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        struct Inspected: Decodable { var Digest: String; var Architecture: String; var Os: String; var Layers: [String] }
        let inspected = try JSONDecoder().decode(Inspected.self, from: Data(
            try Tools.run(["skopeo", "--insecure-policy", "inspect", "oci:\(layout.path):1.0"]).utf8))
        #expect(inspected.Digest == layout.index.manifests[0].digest)
        #expect(inspected.Os == "wasip1" && inspected.Architecture == "wasm")
        #expect(inspected.Layers == [try Tools.sha256(module)])
        try Tools.run(["skopeo", "--insecure-policy", "copy", "oci:\(layout.path):1.0", "oci:\(scratch.path("copy")):1.0"])
        #expect(try Files.bytes(BuiltLayout.blob(inspected.Layers[0], in: scratch.path("copy"))) == module)

        // oci-image-tool 1.0.0-rc1 knows only the tar layer media types:
        // the manifest and the config validate on their own (with warnings
        // about the unknown media type, os and architecture), and the
        // layout as a whole fails on exactly that media type, nothing else.
        let manifest = try Tools.execute(["oci-image-tool", "validate", "--type", "manifest", layout.blob(layout.index.manifests[0].digest)])
        #expect(manifest.succeeded && manifest.stdout.contains("Validation succeeded"), "\(manifest.stdout)\(manifest.stderr)")
        let config = try Tools.execute(["oci-image-tool", "validate", "--type", "config", layout.blob(layout.manifest.config.digest)])
        #expect(config.succeeded && config.stdout.contains("Validation succeeded"), "\(config.stdout)\(config.stderr)")
        let whole = try Tools.execute(["oci-image-tool", "validate", "--type", "image", "--ref", "name=1.0", layout.path])
        #expect(!whole.succeeded)
        #expect((whole.stdout + whole.stderr).contains(
            #"1 errors detected: \n\#(layout.path): layer validation failed: invalid descriptor MediaType \"\#(Self.mediaType)\""#),
            "\(whole.stdout)\(whole.stderr)")
    }

    @Test func inspectShowsTheModuleAndExportRefusesClearly() throws {
        try Build.layout(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        let digest = try Tools.sha256(module)
        let inspected = try Tools.kiln(["inspect", "out"], in: scratch.path)
        #expect(inspected.succeeded)
        #expect(inspected.stdout.contains("  platform    wasip1/wasm\n"))
        #expect(inspected.stdout.contains("    1. \(digest) \(module.count) bytes, diff_id same, WebAssembly module  (kiln wasm module)\n"), "\(inspected.stdout)")
        #expect(inspected.stdout.contains("  entrypoint  [\"/app.wasm\"]\n"))

        let exported = try Tools.kiln(["export", "out", "--rootfs", "rootfs"], in: scratch.path)
        #expect(exported.status == 1)
        #expect(exported.stderr.contains("layer out/blobs/sha256/\(digest.dropFirst("sha256:".count)) is a WebAssembly module (\(Self.mediaType)), not a file system"), "\(exported.stderr)")
        #expect(!FileManager.default.fileExists(atPath: scratch.path("rootfs")))
    }

    @Test(arguments: [
        ([0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] as [UInt8], "is not a WebAssembly binary: it does not start with the magic \\0asm (00 61 73 6d)"),
        ([0x00, 0x61, 0x73, 0x6D, 2, 0, 0, 0], "has WebAssembly version bytes 02 00 00 00; kiln stores version 1 modules (01 00 00 00) and components (0d 00 01 00)"),
        ([0x00, 0x61, 0x73, 0x6D, 1], "is not a WebAssembly binary: it ends inside its 8-byte preamble"),
        ([], "is not a WebAssembly binary: it does not start with the magic \\0asm (00 61 73 6d)"),
    ])
    func aFileThatIsNotAModuleIsAnErrorAtTheLayer(bytes: [UInt8], problem: String) throws {
        try Build.layout(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        let previous = try Build.files(scratch.path("out"))
        try scratch.write("app.wasm", bytes: bytes)
        let result = try Build.run(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(result.status == 1)
        #expect(result.stderrLines.last == "plan.yaml:7:5: error: layer \"module\": module \(scratch.path("app.wasm")) \(problem)", "\(result.stderr)")
        #expect(try Build.files(scratch.path("out")) == previous)
    }

    @Test func theExampleStoresItsModuleAsItIs() throws {
        let layout = try Build.layout([Build.examples + "/wasm/wasm.yaml", "-o", "example"], in: scratch.path, environment: environment)
        let module = Build.examples + "/wasm/hello.wasm"
        #expect(layout.manifest.layers.map(\.digest) == [try Tools.sha256(file: module)])
        #expect(try Files.bytes(layout.layerBlobs[0]) == (try Files.bytes(module)))
        #expect(layout.config.config?.Entrypoint == ["/hello.wasm"])
    }

    @Test func aComponentIsAccepted() throws {
        // The component encoding: \0asm, version 0x0d, layer 1, no sections.
        let component: [UInt8] = [0x00, 0x61, 0x73, 0x6D, 0x0D, 0x00, 0x01, 0x00]
        try scratch.write("app.wasm", bytes: component)
        let layout = try Build.layout(["plan.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(layout.manifest.layers.map(\.digest) == [try Tools.sha256(component)])
    }

    @Test func layersThatDoNotFitThePlatformArePlanErrors() throws {
        try scratch.write("linux.yaml", """
            kiln: 1
            name: example.com/wasm/wrong
            platform: linux/amd64
            layers:
              - name: module
                type: wasm
                module: app.wasm

            """)
        let linux = try Tools.kiln(["validate", "linux.yaml"], in: scratch.path)
        #expect(linux.status != 0)
        #expect(linux.stderr.contains("linux.yaml:5:5: error: layer \"module\": a wasm layer needs platform: wasip1/wasm, not linux/amd64"), "\(linux.stderr)")

        try scratch.write("mixed.yaml", """
            kiln: 1
            name: example.com/wasm/wrong
            platform: wasip1/wasm
            layers:
              - name: module
                type: wasm
                module: app.wasm
              - name: config
                type: files
                files:
                  - { path: /etc/motd, content: "hi\\n" }

            """)
        let mixed = try Build.run(["mixed.yaml", "-o", "out"], in: scratch.path, environment: environment)
        #expect(mixed.status != 0)
        #expect(mixed.stderr.contains("mixed.yaml:8:5: error: layer \"config\": a files layer is a tar file system, which a WebAssembly image (platform wasip1/wasm) cannot hold; use type: wasm"), "\(mixed.stderr)")

        for (platform, message) in [
            ("wasi/wasm", "platform \"wasi/wasm\": a WebAssembly image's platform is \"wasip1/wasm\""),
            ("linux/wasm", "platform \"linux/wasm\": a WebAssembly image's platform is \"wasip1/wasm\""),
            ("wasip1/wasm/v1", "platform \"wasip1/wasm/v1\": a WebAssembly image's platform is \"wasip1/wasm\""),
        ] {
            try scratch.write("platform.yaml", "kiln: 1\nname: example.com/wasm/p\nplatform: \(platform)\nlayers:\n  - { name: m, type: wasm, module: app.wasm }\n")
            let result = try Tools.kiln(["validate", "platform.yaml"], in: scratch.path)
            #expect(result.status != 0)
            #expect(result.stderr.contains("platform.yaml:3:11: error: \(message)"), "\(platform): \(result.stderr)")
        }

        try scratch.write("escape.yaml", "kiln: 1\nname: example.com/wasm/p\nplatform: wasip1/wasm\nlayers:\n  - { name: m, type: wasm, module: ../app.wasm }\n")
        let escape = try Tools.kiln(["validate", "escape.yaml"], in: scratch.path)
        #expect(escape.status != 0)
        #expect(escape.stderr.contains("escape.yaml:5:36: error: layer \"m\": module \"../app.wasm\" is outside the context"), "\(escape.stderr)")
    }
}
