import Foundation
import Kiln
import KilnCore
import OCI
import Plan
import Testing
import TestSupport

/// `inspect` and `diff` verify every blob they use: a layout on disk is
/// input, and one that would not load must not be summarized or compared
/// as if it were fine.
@Suite(.requires(.tools("python3")))
struct LayoutTrustTests {
    let scratch: TemporaryDirectory

    init() throws {
        scratch = try TemporaryDirectory()
    }

    func path(_ relative: String) -> String { scratch.path + "/" + relative }

    /// A two-layer layout built by kiln at `name`, and the path of its top
    /// layer's blob.
    func layout(_ name: String) async throws -> (path: String, layerBlob: String) {
        let file = try scratch.write(name + ".yaml", """
            kiln: 1
            name: example.com/trust
            layers:
              - { name: one, type: files, files: [{ path: /etc/one, content: "1\\n" }] }
              - { name: two, type: files, files: [{ path: /etc/two, content: "2\\n" }] }

            """)
        let plan = try PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64")).load(file: file)
        let options = BuildOptions(output: path(name), jobs: 1, useCache: false, cacheDirectory: path("cache"))
        _ = try await ImageBuilder(plan: plan, options: options, observer: SilentObserver()).build()
        let image = try LayoutReader(directory: path(name)).image(ref: nil, platform: nil)
        return (path(name), image.layers[1].path)
    }

    func inspectError(_ layout: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String? {
        let error = #expect(throws: (any Error).self, sourceLocation: sourceLocation) {
            try LayoutSummary.read(layout, scratch: path("inspect-scratch"))
        }
        return error.map { "\($0)" }
    }

    func diffError(_ old: String, _ new: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) -> String? {
        let differ = ImageDiffer(loader: PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64")))
        let error = #expect(throws: (any Error).self, sourceLocation: sourceLocation) {
            try differ.compare(old: old, new: new)
        }
        return error.map { "\($0)" }
    }

    @Test func anIndexWithoutImages() async throws {
        let (layout, _) = try await layout("empty")
        try scratch.write("empty/index.json", #"{"schemaVersion":2,"manifests":[]}"#)
        #expect(inspectError(layout) == "\(layout)/index.json lists no image")
    }

    @Test func aMissingLayerBlob() async throws {
        let (good, _) = try await layout("good")
        let (layout, blob) = try await layout("missing")
        try FileManager.default.removeItem(atPath: blob)
        let digest = "sha256:" + (blob as NSString).lastPathComponent
        let message = "blob \(digest) is missing: \(layout)/blobs/sha256/\((blob as NSString).lastPathComponent) does not exist"
        #expect(inspectError(layout) == message)
        #expect(diffError(good, layout)?.hasSuffix(message) == true)
    }

    /// Bytes changed in place keep the file name, so only hashing finds
    /// them; the diff used to skip the layer as "same digest".
    @Test func aTamperedLayerBlob() async throws {
        let (good, _) = try await layout("good")
        let (layout, blob) = try await layout("tampered")
        var bytes = try Files.bytes(blob)
        for index in (bytes.count / 2)..<(bytes.count / 2 + 16) { bytes[index] ^= 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: blob))
        let inspected = try #require(inspectError(layout))
        #expect(inspected.contains("blobs/sha256/\((blob as NSString).lastPathComponent)"))
        #expect(inspected.contains("expected sha256:\((blob as NSString).lastPathComponent)"))
        let compared = try #require(diffError(good, layout))
        #expect(compared.contains("expected sha256:\((blob as NSString).lastPathComponent)"))
    }

    @Test func moreLayersThanDiffIDs() async throws {
        let (layout, _) = try await layout("counts")
        try Tools.run(["python3", "-c", """
            import hashlib, json, os, sys
            root = sys.argv[1]
            def blob(descriptor): return root + "/blobs/sha256/" + descriptor["digest"].split(":")[1]
            def put(data):
                digest = hashlib.sha256(data).hexdigest()
                open(root + "/blobs/sha256/" + digest, "wb").write(data)
                return "sha256:" + digest, len(data)
            index = json.load(open(root + "/index.json"))
            manifest = json.load(open(blob(index["manifests"][0])))
            config = json.load(open(blob(manifest["config"])))
            config["rootfs"]["diff_ids"].pop()
            manifest["config"]["digest"], manifest["config"]["size"] = put(json.dumps(config).encode())
            index["manifests"][0]["digest"], index["manifests"][0]["size"] = put(json.dumps(manifest).encode())
            json.dump(index, open(root + "/index.json", "w"))
            """, layout])
        let index = try LayoutReader(directory: layout).index()
        #expect(inspectError(layout) == "image \(index.manifests[0].digest) has 2 layers but 1 diff_ids")
    }

    /// A blob that is a symlink could point anywhere on the host: it is
    /// named, never followed, and nothing of its target is printed.
    @Test func aBlobThatIsASymlinkIsNotFollowed() async throws {
        let (good, _) = try await layout("good")
        let (layout, blob) = try await layout("linked")
        let secret = try scratch.write("secret", "root:x:0:0:secret\n")
        try FileManager.default.removeItem(atPath: blob)
        try FileManager.default.createSymbolicLink(atPath: blob, withDestinationPath: secret)
        let message = "blob \(layout)/blobs/sha256/\((blob as NSString).lastPathComponent) is a symbolic link, not a regular file; kiln does not follow links out of a layout"
        #expect(inspectError(layout) == message)
        let compared = try #require(diffError(good, layout))
        #expect(compared.hasSuffix(message))
        #expect(!compared.contains("secret"))
    }
}
