import KilnCore
import Foundation
import Testing
import TestSupport

/// What the end-to-end `kiln build` suites share: running the real binary,
/// reading what it wrote with tools other than kiln's own code (Foundation's
/// JSON decoder, Python's tarfile and gzip, sha256sum), and the peers the
/// SPEC names (oci-image-tool, skopeo, umoci, podman).
enum Build {
    /// The repository's `examples/` directory.
    static let examples = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("examples").path

    /// An environment for kiln with none of the test host's settings that
    /// change a build: no `SOURCE_DATE_EPOCH`, no `NO_COLOR`, and a private
    /// cache under `cache` when given.
    static func environment(cache: String? = nil, setting: [String: String] = [:]) -> [String: String] {
        var variables = Tools.environment(removing: ["SOURCE_DATE_EPOCH", "NO_COLOR", "XDG_CACHE_HOME"])
        if let cache { variables["XDG_CACHE_HOME"] = cache }
        variables.merge(setting) { _, new in new }
        return variables
    }

    /// Runs `kiln build` with `arguments` (the plan first) in `directory`;
    /// the process must not crash.
    static func run(_ arguments: [String], in directory: String, environment: [String: String]? = nil,
                    sourceLocation: SourceLocation = #_sourceLocation) throws -> ProcessResult {
        let result = try Tools.execute(
            [KilnBinary.path, "build"] + arguments, in: directory,
            environment: environment ?? Build.environment(cache: directory + "/.cache"))
        #expect(result.signal == nil, "kiln build \(arguments) died of signal \(result.signal ?? 0)", sourceLocation: sourceLocation)
        return result
    }

    /// Runs `kiln build`, which must succeed; returns the layout it wrote.
    @discardableResult
    static func layout(_ arguments: [String], in directory: String, environment: [String: String]? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws -> BuiltLayout {
        let result = try run(arguments, in: directory, environment: environment, sourceLocation: sourceLocation)
        guard result.succeeded else {
            throw TestSupportError("kiln build \(arguments.joined(separator: " ")) exited with \(result.status): \(result.stderr)")
        }
        guard let index = arguments.firstIndex(where: { $0 == "-o" || $0 == "--output" }) else {
            throw TestSupportError("kiln build \(arguments): no -o to read a layout from")
        }
        let output = arguments[index + 1]
        return try BuiltLayout(output.hasPrefix("/") ? output : directory + "/" + output)
    }

    /// Every regular file below `directory` (relative path → bytes), to
    /// compare two layouts byte for byte.
    static func files(_ directory: String) throws -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        guard let walker = FileManager.default.enumerator(atPath: directory) else {
            throw TestSupportError("cannot list \(directory)")
        }
        while let relative = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: directory + "/" + relative, isDirectory: &isDirectory), !isDirectory.boolValue {
                result[relative] = try Files.bytes(directory + "/" + relative)
            }
        }
        return result
    }

    /// The names in `directory` that are kiln's staging or aside
    /// directories (`.NAME.kiln-…`), which a finished build never leaves.
    static func leftovers(in directory: String) throws -> [String] {
        try Files.entries(directory).filter { $0.hasPrefix(".") && $0.contains(".kiln-") }
    }

    /// The entries of a fresh `TMPDIR` after a build: kiln removes its
    /// scratch directories whatever happened.
    static func temporaryLeftovers(_ tmpdir: String) throws -> [String] {
        try Files.entries(tmpdir)
    }
}

// MARK: - Reading a layout

/// A descriptor as `index.json` and manifests hold it.
struct DescriptorJSON: Decodable, Equatable {
    var mediaType: String
    var digest: String
    var size: Int
    var annotations: [String: String]?
    var platform: PlatformJSON?
    var artifactType: String?
}

struct PlatformJSON: Decodable, Equatable {
    var architecture: String
    var os: String
    var variant: String?
}

struct IndexJSON: Decodable {
    var schemaVersion: Int
    var mediaType: String?
    var manifests: [DescriptorJSON]
}

struct ManifestJSON: Decodable {
    var schemaVersion: Int
    var mediaType: String?
    var config: DescriptorJSON
    var layers: [DescriptorJSON]
    var annotations: [String: String]?
}

struct ConfigJSON: Decodable {
    struct RootFS: Decodable {
        var type: String
        var diff_ids: [String]
    }

    struct History: Decodable, Equatable {
        var created: String?
        var created_by: String?
        var empty_layer: Bool?
    }

    struct Runtime: Decodable, Equatable {
        var User: String?
        var ExposedPorts: [String: [String: String]]?
        var Env: [String]?
        var Entrypoint: [String]?
        var Cmd: [String]?
        var Volumes: [String: [String: String]]?
        var WorkingDir: String?
        var Labels: [String: String]?
        var StopSignal: String?
    }

    var created: String?
    var architecture: String
    var os: String
    var config: Runtime?
    var rootfs: RootFS
    var history: [History]?
}

/// Docker's `manifest.json` entry.
struct DockerManifestJSON: Decodable {
    var Config: String
    var RepoTags: [String]
    var Layers: [String]
}

/// A layout kiln wrote, read with Foundation's JSON decoder.
struct BuiltLayout {
    let path: String
    let index: IndexJSON
    let manifest: ManifestJSON
    let config: ConfigJSON
    /// What `index.json` lists beside the image (an SBOM artifact); not in
    /// ``index``, whose one manifest is the image.
    let artifacts: [DescriptorJSON]

    init(_ path: String) throws {
        self.path = path
        let decoder = JSONDecoder()
        var index = try decoder.decode(IndexJSON.self, from: Data(try Files.bytes(path + "/index.json")))
        artifacts = index.manifests.filter { $0.artifactType != nil }
        index.manifests.removeAll { $0.artifactType != nil }
        self.index = index
        guard index.manifests.count == 1 else { throw TestSupportError("\(path)/index.json lists \(index.manifests.count) manifests") }
        manifest = try decoder.decode(ManifestJSON.self, from: Data(try Files.bytes(BuiltLayout.blob(index.manifests[0].digest, in: path))))
        config = try decoder.decode(ConfigJSON.self, from: Data(try Files.bytes(BuiltLayout.blob(manifest.config.digest, in: path))))
    }

    static func blob(_ digest: String, in layout: String) -> String {
        layout + "/blobs/sha256/" + digest.dropFirst("sha256:".count)
    }

    /// The file of the blob `digest`.
    func blob(_ digest: String) -> String { BuiltLayout.blob(digest, in: path) }

    /// The layer blobs, bottom first.
    var layerBlobs: [String] { manifest.layers.map { blob($0.digest) } }

    /// The bytes of the config blob.
    var configBytes: [UInt8] { (try? Files.bytes(blob(manifest.config.digest))) ?? [] }

    /// Every blob file's name.
    func blobNames() throws -> [String] { try Files.entries(path + "/blobs/sha256") }
}

// MARK: - Layers, as Python reads them

/// One layer blob as Python's gzip, tarfile and a raw header walk see it.
struct LayerProbe: Decodable {
    /// One 512-byte header as it is on disk (PAX extended headers included).
    struct Header: Decodable, Equatable {
        var name: String
        var prefix: String
        var type: String
        var mode: String
        var uid: Int
        var gid: Int
        var uname: String
        var gname: String
        var mtime: Int
        var size: Int
        var linkname: String
        var magic: String
    }

    /// One member as tarfile reports it (PAX values applied).
    struct Member: Decodable, Equatable {
        var name: String
        var type: String
        var mode: Int
        var uid: Int
        var gid: Int
        var uname: String
        var gname: String
        var mtime: Int
        var linkname: String
        var pax: [String]
        var sha256: String?
    }

    /// `sha256:` of the decompressed tar: what `rootfs.diff_ids` must hold.
    var diffID: String
    /// `sha256:` of the blob as stored.
    var digest: String
    /// The first ten bytes of the blob, in hex.
    var head: String
    var headers: [Header]
    var members: [Member]
    /// Bytes after the last member's data: the end-of-archive blocks.
    var trailer: Int

    static let script = """
        import gzip, hashlib, io, json, subprocess, sys, tarfile
        path, compression = sys.argv[1], sys.argv[2]
        raw = open(path, "rb").read()
        if compression == "gzip":
            data = gzip.decompress(raw)
        elif compression == "zstd":
            data = subprocess.run(["zstd", "-q", "-dc", path], check=True, capture_output=True).stdout
        else:
            data = raw
        def text(field):
            return field.split(b"\\0", 1)[0].decode("utf-8")
        def number(field):
            digits = field.strip(b"\\0 ")
            return int(digits, 8) if digits else 0
        headers, offset = [], 0
        while offset + 512 <= len(data):
            block = data[offset:offset + 512]
            if block == b"\\0" * 512:
                break
            size = number(block[124:136])
            headers.append({"name": text(block[0:100]), "prefix": text(block[345:500]), "type": chr(block[156]),
                            "mode": text(block[100:108]), "uid": number(block[108:116]), "gid": number(block[116:124]),
                            "uname": text(block[265:297]), "gname": text(block[297:329]), "mtime": number(block[136:148]),
                            "size": size, "linkname": text(block[157:257]), "magic": block[257:265].hex()})
            offset += 512 + (size + 511) // 512 * 512
        members = []
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for m in archive:
                digest = hashlib.sha256(archive.extractfile(m).read()).hexdigest() if m.isreg() else None
                members.append({"name": m.name, "type": m.type.decode(), "mode": m.mode, "uid": m.uid, "gid": m.gid,
                                "uname": m.uname, "gname": m.gname, "mtime": int(m.mtime), "linkname": m.linkname,
                                "pax": sorted(m.pax_headers.keys()), "sha256": digest})
        print(json.dumps({"diffID": "sha256:" + hashlib.sha256(data).hexdigest(),
                          "digest": "sha256:" + hashlib.sha256(raw).hexdigest(), "head": raw[:10].hex(),
                          "headers": headers, "members": members, "trailer": len(data) - offset}))
        """

    /// Reads the blob at `path`, compressed with `compression` (`gzip`,
    /// `zstd` or `none`).
    init(blob path: String, compression: String = "gzip") throws {
        let output = try Tools.python(LayerProbe.script, [path, compression])
        self = try JSONDecoder().decode(LayerProbe.self, from: Data(output))
    }
}

// MARK: - Canonical JSON

enum CanonicalJSON {
    /// Whether `bytes` are exactly what Python writes for the same value
    /// with sorted keys, no whitespace and no ASCII escaping (so `/` and
    /// non-ASCII characters stay as they are).
    static func isCanonical(_ bytes: [UInt8]) throws -> Bool {
        let output = try Tools.python("""
            import json, sys
            data = sys.stdin.buffer.read()
            again = json.dumps(json.loads(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            print("yes" if again == data else "no")
            """, stdin: bytes)
        return String(decoding: output, as: UTF8.self) == "yes\n"
    }
}

// MARK: - Trees on disk

enum Tree {
    /// One line per entry below `root` (itself excluded), sorted by path
    /// bytes: `path|type|mode|uid:gid|detail`, where type is `d`, `f`, `l`
    /// or `h` (a file with more than one link), mode is octal, and detail
    /// is a symlink's target or a file's `sha256:` digest.
    static func listing(_ root: String) throws -> [String] {
        let output = try Tools.python("""
            import hashlib, os, stat, sys
            root = sys.argv[1]
            lines = []
            for directory, names, files in os.walk(root):
                for name in names + files:
                    full = os.path.join(directory, name)
                    info = os.lstat(full)
                    relative = os.path.relpath(full, root)
                    mode = format(stat.S_IMODE(info.st_mode), "o")
                    owner = "%d:%d" % (info.st_uid, info.st_gid)
                    if stat.S_ISLNK(info.st_mode):
                        kind, detail = "l", os.readlink(full)
                    elif stat.S_ISDIR(info.st_mode):
                        kind, detail = "d", ""
                    else:
                        kind = "h" if info.st_nlink > 1 else "f"
                        detail = "sha256:" + hashlib.sha256(open(full, "rb").read()).hexdigest()
                    lines.append("|".join([relative, kind, mode, owner, detail]))
            for line in sorted(lines, key=lambda l: l.split("|")[0].encode()):
                print(line)
            """, [root])
        return lines(String(decoding: output, as: UTF8.self))
    }

    /// `line` parts for a regular file holding `text`.
    static func file(_ path: String, _ text: String, mode: String = "644", owner: String = "0:0") throws -> String {
        "\(path)|f|\(mode)|\(owner)|" + (try Tools.sha256(Array(text.utf8)))
    }

    /// `line` parts for a regular file with the bytes of the host file `source`.
    static func file(_ path: String, copying source: String, mode: String = "644", owner: String = "0:0") throws -> String {
        "\(path)|f|\(mode)|\(owner)|" + (try Tools.sha256(file: source))
    }

    static func directory(_ path: String, mode: String = "755", owner: String = "0:0") -> String {
        "\(path)|d|\(mode)|\(owner)|"
    }

    static func symlink(_ path: String, to target: String, owner: String = "0:0") -> String {
        "\(path)|l|777|\(owner)|\(target)"
    }
}

// MARK: - Peers

enum Peers {
    /// oci-image-tool, skopeo and umoci (and what checking their output
    /// takes); tests using them also require ``Requirement/root``, so umoci
    /// can keep owners (CI runs as root).
    static let tools = Requirement.tools("oci-image-tool", "skopeo", "umoci", "python3", "sha256sum")

    /// What skopeo reports of an image.
    struct SkopeoImage: Decodable {
        var Digest: String
        var Architecture: String
        var Os: String
        var Layers: [String]
        var Created: String?
        var Labels: [String: String]?
        var Env: [String]?
    }

    /// Checks `layout` (an image `name:tag`) with every peer the SPEC
    /// names: `oci-image-tool validate`, `skopeo inspect` (manifest digest,
    /// platform, layers), `skopeo copy` to a docker-archive (whose
    /// `manifest.json` names the image), and `umoci unpack`, which verifies
    /// every layer against its digest and diff_id.
    /// - Returns: the unpacked root file system's path, inside `scratch`.
    @discardableResult
    static func check(_ layout: BuiltLayout, name: String, tag: String, in scratch: String,
                      architecture: String = "amd64", sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let validation = try Tools.run(["oci-image-tool", "validate", "--type", "image", "--ref", "name=" + tag, layout.path])
        #expect(validation.contains("Validation succeeded"), sourceLocation: sourceLocation)

        let inspected = try JSONDecoder().decode(SkopeoImage.self, from: Data(
            try Tools.run(["skopeo", "--insecure-policy", "inspect", "oci:\(layout.path):\(tag)"]).utf8))
        #expect(inspected.Digest == layout.index.manifests[0].digest, sourceLocation: sourceLocation)
        #expect(inspected.Architecture == architecture, sourceLocation: sourceLocation)
        #expect(inspected.Os == "linux", sourceLocation: sourceLocation)
        #expect(inspected.Layers == layout.manifest.layers.map(\.digest), sourceLocation: sourceLocation)

        let copyName = UUID().uuidString
        let archive = scratch + "/" + copyName + ".docker.tar"
        try Tools.run(["skopeo", "--insecure-policy", "copy", "oci:\(layout.path):\(tag)", "docker-archive:\(archive):\(name):\(tag)"])
        let listed = try Tools.run(["tar", "-xOf", archive, "manifest.json"])
        let docker = try JSONDecoder().decode([DockerManifestJSON].self, from: Data(listed.utf8))
        #expect(docker.map(\.RepoTags) == [[name + ":" + tag]], sourceLocation: sourceLocation)
        #expect(docker.first?.Layers.count == layout.manifest.layers.count, sourceLocation: sourceLocation)

        let bundle = scratch + "/" + copyName + ".bundle"
        try Tools.run(["umoci", "unpack", "--image", "\(layout.path):\(tag)", bundle])
        return bundle + "/rootfs"
    }
}
