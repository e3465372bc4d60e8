import Foundation
import Archive
import KilnCore
import OCI
import Testing
import TestSupport

@Suite(.requires(.tools("tar", "gzip")))
struct LayoutReaderTests {
    /// A layout with two layers under ref `1.0`, in a fresh directory.
    struct Fixture {
        var temporary: TemporaryDirectory
        var directory: String { temporary.path }
        var layout: String { directory + "/out" }
        var layers: [OCIFixtures.Layer]
        var written: WrittenImage
    }

    static func fixture() throws -> Fixture {
        let temporary = try TemporaryDirectory()
        let layers = try LayoutWriterTests.twoLayers(in: temporary.path)
        let written = try OCIFixtures.writeLayout(to: temporary.path + "/out", layers: layers)
        return Fixture(temporary: temporary, layers: layers, written: written)
    }

    static func writeJSON(_ value: some Encodable, to path: String) throws {
        try Files.write(CanonicalJSONEncoder().encode(value), to: path)
    }

    /// Writes `value` as a blob of `layout` and returns its descriptor.
    static func addBlob(_ value: some Encodable, mediaType: String, to layout: String) throws -> Descriptor {
        let bytes = try CanonicalJSONEncoder().encode(value)
        let digest = BlobDigest.sha256(bytes)
        try Files.write(bytes, to: layout + "/blobs/sha256/" + digest.hex)
        return Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count))
    }

    /// Changes the manifest `index.json` points at, keeping the layout consistent.
    static func rewriteManifest(_ layout: String, _ change: (inout ImageManifest) -> Void) throws {
        let reader = try LayoutReader(directory: layout)
        var index = try reader.index()
        var manifest: ImageManifest = try reader.readJSONBlob(index.manifests[0], what: "image manifest")
        change(&manifest)
        let descriptor = try addBlob(manifest, mediaType: MediaType.imageManifest, to: layout)
        index.manifests[0].digest = descriptor.digest
        index.manifests[0].size = descriptor.size
        try writeJSON(index, to: layout + "/index.json")
    }

    @Test func readsBackWhatTheWriterWrote() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let reader = try LayoutReader(directory: fixture.layout)
        for ref in ["1.0", nil] as [String?] {
            let image = try reader.image(ref: ref, platform: OCIFixtures.platform)
            #expect(image.manifestDescriptor == fixture.written.manifest)
            #expect(image.reference == "1.0")
            #expect(image.config == OCIFixtures.config(for: fixture.layers))
            #expect(image.manifest.config == fixture.written.config)
            #expect(image.layers.map(\.diffID) == fixture.layers.map(\.diffID))
            #expect(image.layers.map(\.descriptor) == fixture.layers.map(\.descriptor))
            #expect(image.layers.map(\.compression) == [.gzip, .gzip])
            #expect(image.layers.map(\.path) == fixture.layers.map { fixture.layout + "/blobs/sha256/" + $0.descriptor.digest.hex })
        }
        #expect(try reader.refs() == ["1.0"])
    }

    @Test func namesTheRefsThatExistWhenOneIsMissing() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let reader = try LayoutReader(directory: fixture.layout)
        let error = try #require(throws: LayoutError.self) { try reader.image(ref: "2.0", platform: nil) }
        #expect(error.description == "\(fixture.layout) has no image named \"2.0\" (refs: 1.0)")
    }

    @Test func asksForARefWhenSeveralImagesAndNoneIsNamed() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        var index = try LayoutReader(directory: fixture.layout).index()
        var other = index.manifests[0]
        other.annotations = ["org.opencontainers.image.ref.name": "other"]
        index.manifests.append(other)
        try Self.writeJSON(index, to: fixture.layout + "/index.json")
        let reader = try LayoutReader(directory: fixture.layout)
        let error = try #require(throws: LayoutError.self) { try reader.image(ref: nil, platform: OCIFixtures.platform) }
        #expect(error.description == "\(fixture.layout) holds 2 images; name one as oci:\(fixture.layout):REF (refs: 1.0, other)")
        #expect(try reader.image(ref: "other", platform: nil).reference == "other")
        index.manifests = []
        try Self.writeJSON(index, to: fixture.layout + "/index.json")
        let empty = try #require(throws: LayoutError.self) { try reader.image(ref: nil, platform: nil) }
        #expect(empty.description == "\(fixture.layout)/index.json lists no image")
    }

    @Test func reportsMissingAndDamagedBlobs() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let reader = try LayoutReader(directory: fixture.layout)
        let layer = fixture.layers[1].descriptor.digest
        let path = fixture.layout + "/blobs/sha256/" + layer.hex
        var bytes = try Files.bytes(path)
        bytes[bytes.count / 2] ^= 0xff
        try Files.write(bytes, to: path)
        let damaged = try OCIFixtures.sha256sum(path)
        let mismatch = try #require(throws: LayoutError.self) { try reader.image(ref: "1.0", platform: nil) }
        #expect(mismatch.description == "blob \(path) does not match its digest: expected \(layer), found \(damaged)")
        // Opting out of layer hashing still notices a missing blob.
        _ = try reader.image(ref: "1.0", platform: nil, verifyLayers: false)
        try FileManager.default.removeItem(atPath: path)
        let missing = try #require(throws: LayoutError.self) { try reader.image(ref: "1.0", platform: nil, verifyLayers: false) }
        #expect(missing.description == "blob \(layer) is missing: \(path) does not exist")
        let config = fixture.layout + "/blobs/sha256/" + fixture.written.config.digest.hex
        try FileManager.default.removeItem(atPath: config)
        let noConfig = try #require(throws: LayoutError.self) { try reader.image(ref: "1.0", platform: nil) }
        #expect(noConfig.description == "blob \(fixture.written.config.digest) is missing: \(config) does not exist")
    }

    @Test func reportsADescriptorWithTheWrongSize() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        try Self.rewriteManifest(fixture.layout) { $0.layers[0].size += 7 }
        let error = try #require(throws: LayoutError.self) { try LayoutReader(directory: fixture.layout).image(ref: "1.0", platform: nil) }
        let layer = fixture.layers[0].descriptor
        #expect(error.description == "blob \(fixture.layout)/blobs/sha256/\(layer.digest.hex) holds \(layer.size) bytes, its descriptor says \(layer.size + 7)")
    }

    @Test func reportsBadJSONWithWhereItIsWrong() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let reader = try LayoutReader(directory: fixture.layout)
        let index = fixture.layout + "/index.json"
        for (content, detail) in [
            ("{not json", "it is not JSON"),
            (#"{"schemaVersion":2}"#, "the document has no \"manifests\""),
            (#"{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"\#(fixture.written.config.digest)","size":"3"}]}"#, "manifests[0].size is not an integer"),
            (#"{"schemaVersion":2,"manifests":[{"mediaType":"m","digest":"md5:00","size":3}]}"#, "invalid digest \"md5:00\" (expected sha256: and 64 lowercase hex digits)"),
        ] {
            try Files.write(content, to: index)
            let error = try #require(throws: LayoutError.self) { try reader.image(ref: nil, platform: nil) }
            #expect(error.description == "\(index) is not a valid image index: \(detail)")
        }
        try FileManager.default.removeItem(atPath: index)
        let missing = try #require(throws: LayoutError.self) { try reader.image(ref: nil, platform: nil) }
        #expect(missing.description == "\(index) is not a valid image index: the file is missing")
    }

    @Test func refusesWhatIsNotALayout() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let error = try #require(throws: LayoutError.self) { try LayoutReader(directory: directory) }
        #expect(error.description == "\(directory) is not an OCI image layout: it has no oci-layout file")
        try Files.write(#"{"imageLayoutVersion":"2.0.0"}"#, to: directory + "/oci-layout")
        let version = try #require(throws: LayoutError.self) { try LayoutReader(directory: directory) }
        #expect(version.description == "\(directory) is an OCI image layout of version 2.0.0; kiln reads version 1.x")
    }

    @Test func checksThePlatformAndThePairingOfLayers() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let arm = Platform(os: "linux", architecture: "arm64")
        let mismatch = try #require(throws: LayoutError.self) { try LayoutReader(directory: fixture.layout).image(ref: "1.0", platform: arm) }
        #expect(mismatch.description == "base image \(fixture.layout) is for linux/amd64, but the plan builds linux/arm64")
        try Self.rewriteManifest(fixture.layout) { $0.layers.removeLast() }
        let reader = try LayoutReader(directory: fixture.layout)
        let manifest = try reader.index().manifests[0].digest
        let count = try #require(throws: LayoutError.self) { try reader.image(ref: "1.0", platform: nil) }
        #expect(count.description == "image \(fixture.layout)/blobs/sha256/\(manifest.hex) has 1 layers but 2 diff_ids")
        try Self.rewriteManifest(fixture.layout) { $0.layers = [$0.layers[0], $0.layers[0]]; $0.layers[1].mediaType = "application/x-foo" }
        let digest = fixture.layers[0].descriptor.digest
        let type = try #require(throws: LayoutError.self) { try reader.image(ref: "1.0", platform: nil) }
        #expect(type.description == "layer \(fixture.layout)/blobs/sha256/\(digest.hex) has media type application/x-foo, which kiln cannot read")
    }

    @Test func followsAnIndexToThePlatformsManifest() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let layout = fixture.layout
        var armConfig = OCIFixtures.config(for: fixture.layers)
        armConfig.architecture = "arm64"
        armConfig.variant = "v8"
        let armConfigBlob = try Self.addBlob(armConfig, mediaType: MediaType.imageConfig, to: layout)
        var armManifest = ImageManifest(config: armConfigBlob, layers: fixture.layers.map(\.descriptor))
        armManifest.annotations = ["arch": "arm64"]
        var armEntry = try Self.addBlob(armManifest, mediaType: MediaType.imageManifest, to: layout)
        armEntry.platform = Platform(os: "linux", architecture: "arm64", variant: "v8")
        var amdEntry = fixture.written.manifest
        amdEntry.annotations = nil
        let nested = try Self.addBlob(ImageIndex(manifests: [amdEntry, armEntry]), mediaType: MediaType.imageIndex, to: layout)
        var top = nested
        top.annotations = ["org.opencontainers.image.ref.name": "multi"]
        try Self.writeJSON(ImageIndex(manifests: [top]), to: layout + "/index.json")
        let reader = try LayoutReader(directory: layout)
        let arm = try reader.image(ref: "multi", platform: Platform(os: "linux", architecture: "arm64"))
        #expect(arm.manifestDescriptor == armEntry)
        #expect(arm.config.variant == "v8")
        let amd = try reader.image(ref: nil, platform: OCIFixtures.platform)
        #expect(amd.manifestDescriptor.digest == fixture.written.manifest.digest)
        let none = try #require(throws: LayoutError.self) { try reader.image(ref: "multi", platform: Platform(os: "linux", architecture: "s390x")) }
        #expect(none.description == "\(layout) has no image for linux/s390x (platforms: linux/amd64, linux/arm64/v8)")
        let unnamed = try #require(throws: LayoutError.self) { try reader.image(ref: "multi", platform: nil) }
        #expect(unnamed.description == "\(layout) holds images for several platforms; name the platform to use (platforms: linux/amd64, linux/arm64/v8)")
    }

    // MARK: Layouts and archives from other tools

    @Test(.requires(.tools("umoci")))
    func readsALayoutUmociWrote() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("""
            umoci init --layout layout
            umoci new --image layout:base
            umoci unpack --image layout:base bundle
            echo hello > bundle/rootfs/hello
            umoci repack --image layout:base bundle
            umoci config --image layout:base --config.env A=1 --config.cmd /hello
            """, in: directory)
        let image = try LayoutReader(directory: directory + "/layout").image(ref: "base", platform: nil)
        #expect(image.layers.count == 1)
        #expect(image.config.config?.env == ["A=1"])
        #expect(image.config.config?.cmd == ["/hello"])
        // The diff_id is the digest of the decompressed blob, as zcat sees it.
        let diffID = try Tools.shell("zcat \(image.layers[0].path) | sha256sum", in: directory)
        #expect(image.layers[0].diffID.hex == String(diffID.prefix(64)))
    }

    @Test(.requires(.tools("skopeo")))
    func readsWhatSkopeoCopiesToALayoutAndAnArchive() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let directory = fixture.directory
        try Tools.run(["skopeo", "--insecure-policy", "copy", "oci:\(fixture.layout):1.0", "oci:\(directory)/copy:copied"])
        let copy = try LayoutReader(directory: directory + "/copy").image(ref: "copied", platform: OCIFixtures.platform)
        #expect(copy.manifestDescriptor.digest == fixture.written.manifest.digest)
        #expect(copy.layers.map(\.diffID) == fixture.layers.map(\.diffID))
        try Tools.run(["skopeo", "--insecure-policy", "copy", "oci:\(fixture.layout):1.0", "oci-archive:\(directory)/image.tar:archived"])
        try FileManager.default.createDirectory(atPath: directory + "/unpacked", withIntermediateDirectories: false)
        let reader = try LayoutReader.unpackArchive(directory + "/image.tar", into: directory + "/unpacked")
        #expect(reader.label == directory + "/image.tar")
        let archived = try reader.image(ref: "archived", platform: OCIFixtures.platform)
        #expect(archived.config == copy.config)
        #expect(archived.layers.map(\.diffID) == fixture.layers.map(\.diffID))
        let wrongRef = try #require(throws: LayoutError.self) { try reader.image(ref: "1.0", platform: nil) }
        #expect(wrongRef.description == "\(directory)/image.tar has no image named \"1.0\" (refs: archived)")
    }

    @Test(.requires(.tools("python3")))
    func refusesArchivesThatAreNotPlainLayouts() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.run(["python3", "-c", """
            import tarfile, io
            with tarfile.open("link.tar", "w") as t:
                info = tarfile.TarInfo("oci-layout")
                info.type = tarfile.SYMTYPE
                info.linkname = "/etc/passwd"
                t.addfile(info)
            with tarfile.open("escape.tar", "w") as t:
                info = tarfile.TarInfo("../evil")
                info.size = 1
                t.addfile(info, io.BytesIO(b"x"))
            """], in: directory)
        for (archive, detail) in [
            ("link.tar", "member oci-layout is not a file or directory; an OCI layout archive holds only those"),
            ("escape.tar", "tar member at byte 0 has path \"../evil\", which leads outside the archive root"),
        ] {
            let destination = directory + "/" + archive + ".d"
            try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
            let error = try #require(throws: LayoutError.self) { try LayoutReader.unpackArchive(directory + "/" + archive, into: destination) }
            #expect(error.description == "cannot unpack \(directory)/\(archive): \(detail)")
        }
        #expect(!FileManager.default.fileExists(atPath: directory + "/evil"))
        try Tools.run(["python3", "-c", """
            import tarfile, io
            with tarfile.open("plain.tar", "w") as t:
                info = tarfile.TarInfo("oci-layout")
                info.size = 1000
                t.addfile(info, io.BytesIO(b" " * 1000))
            """], in: directory)
        let truncated = try Files.bytes(directory + "/plain.tar")
        try Files.write(Array(truncated[..<700]), to: directory + "/cut.tar")
        try FileManager.default.createDirectory(atPath: directory + "/cut.d", withIntermediateDirectories: false)
        let cut = try #require(throws: LayoutError.self) { try LayoutReader.unpackArchive(directory + "/cut.tar", into: directory + "/cut.d") }
        #expect(cut.description == "cannot unpack \(directory)/cut.tar: tar archive is truncated: it ends at byte 700, inside the content of oci-layout (header at byte 0)")
    }

    /// An archive is read for what its index reaches: a small `.tar.gz`
    /// whose unreferenced member expands to 64 MiB costs no disk, and a
    /// referenced blob of another size than its descriptor is refused.
    @Test(.requires(.tools("python3")))
    func unpacksOnlyWhatTheIndexReaches() throws {
        let fixture = try Self.fixture()
        defer { fixture.temporary.remove() }
        let directory = fixture.directory
        let layer = fixture.written.manifest
        try Tools.run(["python3", "-c", """
            import io, os, sys, tarfile
            layout, out = sys.argv[1], sys.argv[2]
            class Zeros(io.RawIOBase):
                def __init__(self, n): self.left = n
                def readable(self): return True
                def readinto(self, b):
                    n = min(len(b), self.left); b[:n] = bytes(n); self.left -= n; return n
            with tarfile.open(out + "/bomb.tar.gz", "w:gz") as t:
                t.add(layout, arcname=".")
                info = tarfile.TarInfo("blobs/sha256/" + "0" * 64); info.size = 64 << 20
                t.addfile(info, io.BufferedReader(Zeros(info.size)))
            # The same layout with the manifest blob cut short by one byte.
            manifest = "blobs/sha256/" + sys.argv[3]
            with tarfile.open(out + "/short.tar", "w") as t:
                for root, dirs, files in os.walk(layout):
                    for name in files:
                        path = os.path.join(root, name); rel = os.path.relpath(path, layout)
                        data = open(path, "rb").read()
                        if rel == manifest: data = data[:-1]
                        info = tarfile.TarInfo(rel); info.size = len(data); t.addfile(info, io.BytesIO(data))
            """, fixture.layout, directory, layer.digest.hex])
        #expect(try Files.bytes(directory + "/bomb.tar.gz").count < 1 << 20)
        try FileManager.default.createDirectory(atPath: directory + "/bomb.d", withIntermediateDirectories: false)
        let reader = try LayoutReader.unpackArchive(directory + "/bomb.tar.gz", into: directory + "/bomb.d")
        let image = try reader.image(ref: "1.0", platform: nil)
        #expect(image.layers.map(\.diffID) == fixture.layers.map(\.diffID))
        #expect(!FileManager.default.fileExists(atPath: directory + "/bomb.d/blobs/sha256/" + String(repeating: "0", count: 64)))

        try FileManager.default.createDirectory(atPath: directory + "/short.d", withIntermediateDirectories: false)
        let short = try #require(throws: LayoutError.self) { try LayoutReader.unpackArchive(directory + "/short.tar", into: directory + "/short.d") }
        #expect(short.description == "cannot unpack \(directory)/short.tar: member blobs/sha256/\(layer.digest.hex) is \(layer.size - 1) bytes, but its descriptor says \(layer.size)")
    }

}
