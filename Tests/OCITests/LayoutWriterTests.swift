import Foundation
import Archive
import KilnCore
@testable import OCI
import Testing
import TestSupport

@Suite struct LayoutWriterTests {
    static func twoLayers(in directory: String) throws -> [OCIFixtures.Layer] {
        [
            try OCIFixtures.makeLayer(in: directory, name: "base", files: ["etc/motd": "hello\n", "usr/bin/app": "#!/bin/sh\n"]),
            try OCIFixtures.makeLayer(in: directory, name: "app", files: ["app/config.yaml": "port: 8080\n", "etc/app/ü.txt": "unicode\n"]),
        ]
    }

    @Test(.requires(.tools("tar", "gzip")))
    func writesALayoutWhoseBlobsMatchTheirNames() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        let written = try OCIFixtures.writeLayout(to: directory + "/out", layers: layers)
        #expect(try Files.entries(directory + "/out") == ["blobs", "index.json", "manifest.json", "oci-layout"])
        // Every blob is named by the sha256sum of its bytes: layers, config, manifest.
        let blobs = try Files.entries(directory + "/out/blobs/sha256")
        #expect(blobs.count == 4)
        for blob in blobs {
            #expect(try OCIFixtures.sha256sum(directory + "/out/blobs/sha256/" + blob).hex == blob)
        }
        #expect(written.manifest.digest == (try OCIFixtures.sha256sum(directory + "/out/blobs/sha256/" + written.manifest.digest.hex)))
        let index = try String(contentsOfFile: directory + "/out/index.json", encoding: .utf8)
        #expect(index == #"{"manifests":[{"annotations":{"io.containerd.image.name":"example.com/team/app:1.0","org.opencontainers.image.ref.name":"1.0","org.opencontainers.image.vendor":"Example"},"digest":"\#(written.manifest.digest)","mediaType":"application/vnd.oci.image.manifest.v1+json","platform":{"architecture":"amd64","os":"linux"},"size":\#(written.manifest.size)}],"mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2}"#)
        let docker = try String(contentsOfFile: directory + "/out/manifest.json", encoding: .utf8)
        #expect(docker == #"[{"Config":"blobs/sha256/\#(written.config.digest.hex)","Layers":["blobs/sha256/\#(layers[0].descriptor.digest.hex)","blobs/sha256/\#(layers[1].descriptor.digest.hex)"],"RepoTags":["example.com/team/app:1.0"]}]"#)
        #expect(try String(contentsOfFile: directory + "/out/oci-layout", encoding: .utf8) == #"{"imageLayoutVersion":"1.0.0"}"#)
        let manifest = try String(contentsOfFile: directory + "/out/blobs/sha256/" + written.manifest.digest.hex, encoding: .utf8)
        #expect(manifest.contains(#""annotations":{"org.opencontainers.image.vendor":"Example"}"#))
        #expect(!manifest.contains("ref.name"))
        // Nothing but the output is left beside it.
        #expect(try Files.entries(directory).filter { $0.hasPrefix(".") } == [])
    }

    @Test(.requires(.tools("oci-image-tool", "skopeo")))
    func passesOciImageToolAndSkopeo() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        let written = try OCIFixtures.writeLayout(to: directory + "/out", layers: layers)
        try Tools.run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=1.0", directory + "/out"])
        let inspect = try Tools.run(["skopeo", "--insecure-policy", "inspect", "oci:\(directory)/out:1.0"])
        let json = try JSONSerialization.jsonObject(with: Data(inspect.utf8)) as! [String: Any]
        #expect(json["Digest"] as? String == written.manifest.digest.description)
        #expect(json["Layers"] as? [String] == layers.map(\.descriptor.digest.description))
        #expect(json["Architecture"] as? String == "amd64")
        #expect((json["Env"] as? [String]) == ["PATH=/usr/bin:/bin", "RUST_LOG=info"])
    }

    @Test(.requires(.tools("umoci")))
    func unpacksWithUmociToTheDeclaredTree() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        try OCIFixtures.writeLayout(to: directory + "/out", layers: layers)
        try Tools.run(["umoci", "unpack", "--image", directory + "/out:1.0", directory + "/bundle"])
        // The union of the two layer trees, compared as find lists them.
        try Tools.shell("mkdir union && cp -a base-tree/. union/ && cp -a app-tree/. union/", in: directory)
        let listing = "find . -printf '%p %y %m\\n' | LC_ALL=C sort"
        #expect(try Tools.shell(listing, in: directory + "/bundle/rootfs") == (try Tools.shell(listing, in: directory + "/union")))
        #expect(try String(contentsOfFile: directory + "/bundle/rootfs/etc/app/ü.txt", encoding: .utf8) == "unicode\n")
    }

    @Test(.requires(.tools("skopeo", "podman")))
    func copiesWithSkopeoAndLoadsIntoPodman() throws {
        let temporaryDirectory = try TemporaryDirectory()
        let directory = temporaryDirectory.path
        // podman refuses a runroot path longer than 50 characters.
        let runroot = FileManager.default.temporaryDirectory.appendingPathComponent("kp-" + UUID().uuidString.prefix(8)).path
        let podman = ["podman", "--root", directory + "/root", "--runroot", runroot, "--storage-driver", "vfs"]
        defer {
            // Let podman undo its own storage (mounts, read-only directories).
            _ = try? Tools.run(podman + ["system", "reset", "--force"])
            temporaryDirectory.remove()
            try? FileManager.default.removeItem(atPath: runroot)
        }
        let layers = try Self.twoLayers(in: directory)
        let written = try OCIFixtures.writeLayout(to: directory + "/out", layers: layers)
        try Tools.run(["skopeo", "--insecure-policy", "copy", "oci:\(directory)/out:1.0", "docker-archive:\(directory)/image.tar:example.com/team/app:1.0"])
        try Tools.run(podman + ["load", "-i", directory + "/image.tar"])
        let images = try Tools.run(podman + ["images", "--format", "{{.Repository}}:{{.Tag}}"])
        #expect(images.split(separator: "\n").contains("example.com/team/app:1.0"))
        let inspect = try Tools.run(podman + ["image", "inspect", "--format", "{{json .RootFS.Layers}}", "example.com/team/app:1.0"])
        #expect(inspect.trimmingCharacters(in: .whitespacesAndNewlines) == "[\"\(layers[0].diffID)\",\"\(layers[1].diffID)\"]")
        _ = written
    }

    // MARK: Atomic replacement

    @Test(.requires(.tools("tar", "gzip")))
    func replacesAnExistingLayoutAndLeavesNoDebris() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        try OCIFixtures.writeLayout(to: directory + "/out", layers: layers, tag: "old")
        let second = try OCIFixtures.writeLayout(to: directory + "/out", layers: [layers[1]], tag: "new")
        let reader = try LayoutReader(directory: directory + "/out")
        #expect(try reader.refs() == ["new"])
        #expect(try reader.index().manifests == [second.manifest])
        // The old layout's blob of layer 0 is gone with it.
        #expect(!FileManager.default.fileExists(atPath: directory + "/out/blobs/sha256/" + layers[0].descriptor.digest.hex))
        #expect(try Files.entries(directory).filter { $0.hasPrefix(".") } == [])
    }

    @Test(.requires(.tools("tar", "gzip")))
    func replacesByRenamingAsideWhereExchangeIsMissing() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        try OCIFixtures.writeLayout(to: directory + "/out", layers: layers, tag: "old")
        let staging = try LayoutStaging(output: directory + "/out")
        try staging.importBlob(from: layers[1].blob, descriptor: layers[1].descriptor)
        _ = try staging.writeImage(LayoutImageSpec(
            name: "n", tag: "new", platform: OCIFixtures.platform, config: OCIFixtures.config(for: [layers[1]]), layers: [layers[1].descriptor]))
        try staging.publish(exchange: false)
        #expect(try LayoutReader(directory: directory + "/out").refs() == ["new"])
        #expect(try Files.entries(directory).filter { $0.hasPrefix(".") } == [])
    }

    @Test(.requires(.tools("tar", "gzip")))
    func aFailedBuildLeavesThePreviousOutputAndNoStaging() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        try OCIFixtures.writeLayout(to: directory + "/out", layers: layers, tag: "old")
        let before = try Tools.shell("find out -type f -exec sha256sum {} + | sort", in: directory)
        do {
            let staging = try LayoutStaging(output: directory + "/out")
            let temporary = staging.temporaryBlobPath()
            try Files.write("partial", to: temporary)
            #expect(try Files.entries(directory).filter { $0.hasPrefix(".out.kiln-") }.count == 1)
            // The build fails here: the staging is released unpublished.
        }
        #expect(try Tools.shell("find out -type f -exec sha256sum {} + | sort", in: directory) == before)
        #expect(try Files.entries(directory).filter { $0.hasPrefix(".") } == [])
        // Explicit discard, and an output that did not exist yet.
        let fresh = try LayoutStaging(output: directory + "/fresh")
        try Files.write("x", to: fresh.temporaryBlobPath())
        fresh.discard()
        #expect(!FileManager.default.fileExists(atPath: directory + "/fresh"))
        #expect(try Files.entries(directory).filter { $0.hasPrefix(".") } == [])
        let error = try #require(throws: LayoutError.self) { try fresh.publish() }
        #expect(error.description == "staging directory \(fresh.directory) was already published or discarded")
    }

    @Test func refusesOutputsItMustNotReplace() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Files.write("a file", to: directory + "/file")
        let file = try #require(throws: LayoutError.self) { try LayoutStaging(output: directory + "/file") }
        #expect(file.description == "output \(directory)/file exists and is not a directory")
        try FileManager.default.createDirectory(atPath: directory + "/home", withIntermediateDirectories: false)
        try Files.write("precious", to: directory + "/home/notes.txt")
        let notLayout = try #require(throws: LayoutError.self) { try LayoutStaging(output: directory + "/home/") }
        #expect(notLayout.description == "output \(directory)/home is a directory that is not an OCI image layout: it holds \"notes.txt\"; kiln replaces only a layout or an empty directory, so choose another output or empty it")
        // The first five entries in byte order, and how many more.
        for index in 1...7 { try Files.write("", to: directory + "/crowded/entry-\(index)") }
        let crowded = try #require(throws: LayoutError.self) { try LayoutStaging(output: directory + "/crowded") }
        #expect(crowded.description.contains("it holds \"entry-1\", \"entry-2\", \"entry-3\", \"entry-4\", \"entry-5\" and 2 more;"))
        TreeRemoval.remove(directory + "/crowded")
        try FileManager.default.createSymbolicLink(atPath: directory + "/link", withDestinationPath: directory + "/home")
        let link = try #require(throws: LayoutError.self) { try LayoutStaging(output: directory + "/link") }
        #expect(link.description == "output \(directory)/link is a symbolic link; name the directory it points to")
        let parent = try #require(throws: LayoutError.self) { try LayoutStaging(output: directory + "/missing/out") }
        #expect(parent.description == "cannot write \(directory)/missing/out: directory \(directory)/missing does not exist")
        #expect(try Files.entries(directory) == ["file", "home", "link"])
        #expect(try Files.entries(directory + "/home") == ["notes.txt"])
        // An empty directory may be replaced.
        try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: false)
        let staging = try LayoutStaging(output: directory + "/empty")
        _ = try staging.writeImage(LayoutImageSpec(
            name: "n", tag: "t", platform: OCIFixtures.platform,
            config: ImageConfig(architecture: "amd64", os: "linux", rootfs: RootFS(diffIDs: [])), layers: []))
        try staging.publish()
        #expect(try Files.entries(directory + "/empty") == ["blobs", "index.json", "manifest.json", "oci-layout"])
    }

    @Test(.requires(.tools("tar", "gzip")))
    func refusesManifestsNamingUnstagedOrUnpairedLayers() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        let staging = try LayoutStaging(output: directory + "/out")
        let unstaged = try #require(throws: LayoutError.self) {
            try staging.writeImage(LayoutImageSpec(name: "n", tag: "t", platform: OCIFixtures.platform, config: OCIFixtures.config(for: layers), layers: layers.map(\.descriptor)))
        }
        #expect(unstaged.description == "blob \(layers[0].descriptor.digest) was not added to the layout before the manifest that names it")
        let unpaired = try #require(throws: LayoutError.self) {
            try staging.writeImage(LayoutImageSpec(name: "n", tag: "t", platform: OCIFixtures.platform, config: OCIFixtures.config(for: [layers[0]]), layers: layers.map(\.descriptor)))
        }
        #expect(unpaired.description == "the image config has 2 layers but 1 diff_ids")
    }

    // MARK: Base-image blobs

    @Test(.requires(.tools("tar", "gzip")))
    func importsBaseBlobsAsIndependentCopiesAndVerifiesThem() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let layers = try Self.twoLayers(in: directory)
        let staging = try LayoutStaging(output: directory + "/out")
        try staging.importBlob(from: layers[0].blob, descriptor: layers[0].descriptor)
        // A copy (or a copy-on-write clone), never a hard link: writing
        // into the source later does not change the staged blob.
        let source = try FileManager.default.attributesOfItem(atPath: layers[0].blob)
        let staged = try FileManager.default.attributesOfItem(atPath: staging.blobPath(layers[0].descriptor.digest))
        #expect(source[.systemFileNumber] as? Int != staged[.systemFileNumber] as? Int)
        #expect(try Files.bytes(layers[0].blob) == (try Files.bytes(staging.blobPath(layers[0].descriptor.digest))))
        // A blob whose bytes are not what the descriptor says is refused and not kept.
        var wrong = layers[1].descriptor
        wrong.digest = layers[0].diffID
        let mismatch = try #require(throws: LayoutError.self) { try staging.importBlob(from: layers[1].blob, descriptor: wrong) }
        #expect(mismatch.description == "blob \(layers[1].blob) does not match its digest: expected \(layers[0].diffID), found \(layers[1].descriptor.digest)")
        #expect(!FileManager.default.fileExists(atPath: staging.blobPath(wrong.digest)))
        var short = layers[1].descriptor
        short.size += 1
        let size = try #require(throws: LayoutError.self) { try staging.importBlob(from: layers[1].blob, descriptor: short) }
        #expect(size.description == "blob \(layers[1].blob) holds \(layers[1].descriptor.size) bytes, its descriptor says \(layers[1].descriptor.size + 1)")
        let missing = try #require(throws: LayoutError.self) { try staging.importBlob(from: directory + "/nope", descriptor: layers[1].descriptor) }
        #expect(missing.description == "blob \(layers[1].descriptor.digest) is missing: \(directory)/nope does not exist")
    }
}
