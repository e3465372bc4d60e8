import Foundation

/// OCI layouts written by hand, member by member, with Python's tarfile:
/// what no well-behaved tool writes (`../` paths, links out of the root,
/// device nodes, whiteouts naming `..`), for the readers' hostile-input
/// tests, and ordinary layers with whiteouts to compare with umoci.
///
/// Digests, diff_ids and sizes are computed by the program, so the layout
/// is valid and only the layers' content is hostile.
public enum HandLayout {
    /// One tar member.
    public struct Member: Sendable {
        public var name: String
        /// `file`, `dir`, `symlink`, `hardlink`, `char`, `block`, `fifo`.
        public var type: String
        public var content: String
        public var mode: Int
        public var uid: Int
        public var gid: Int
        public var link: String
        /// The size the header declares, when it is not the content's.
        public var declaredSize: Int?

        public static func file(_ name: String, _ content: String = "", mode: Int = 0o644, uid: Int = 0, gid: Int = 0) -> Member {
            Member(name: name, type: "file", content: content, mode: mode, uid: uid, gid: gid, link: "")
        }
        public static func dir(_ name: String, mode: Int = 0o755, uid: Int = 0, gid: Int = 0) -> Member {
            Member(name: name, type: "dir", content: "", mode: mode, uid: uid, gid: gid, link: "")
        }
        public static func symlink(_ name: String, to target: String) -> Member {
            Member(name: name, type: "symlink", content: "", mode: 0o777, uid: 0, gid: 0, link: target)
        }
        public static func hardlink(_ name: String, to target: String) -> Member {
            Member(name: name, type: "hardlink", content: "", mode: 0o644, uid: 0, gid: 0, link: target)
        }
        /// A whiteout or opaque marker, as docker writes them (mode 0000).
        public static func marker(_ name: String) -> Member {
            Member(name: name, type: "file", content: "", mode: 0, uid: 0, gid: 0, link: "")
        }
        public static func device(_ name: String, type: String = "char", major: Int = 1, minor: Int = 3) -> Member {
            Member(name: name, type: type, content: "", mode: 0o666, uid: 0, gid: 0, link: "\(major):\(minor)")
        }
        public static func fifo(_ name: String) -> Member {
            Member(name: name, type: "fifo", content: "", mode: 0o644, uid: 0, gid: 0, link: "")
        }
        /// A file whose header declares `size` bytes but holds only `content`.
        public static func lying(_ name: String, declaring size: Int, content: String = "x") -> Member {
            Member(name: name, type: "file", content: content, mode: 0o644, uid: 0, gid: 0, link: "", declaredSize: size)
        }
    }

    /// Writes a one-image layout (ref `latest`, linux/amd64) of `layers`,
    /// bottom first, gzip-compressed, to `directory` (created).
    public static func write(_ layers: [[Member]], to directory: String) throws {
        let description = layers.map { layer in
            layer.map { member -> [String: Any] in
                var object: [String: Any] = [
                    "name": member.name, "type": member.type, "content": member.content, "mode": member.mode,
                    "uid": member.uid, "gid": member.gid, "link": member.link,
                ]
                if let size = member.declaredSize { object["size"] = size }
                return object
            }
        }
        let json = try JSONSerialization.data(withJSONObject: description)
        try Tools.python(program, [directory], stdin: Array(json))
    }

    private static let program = #"""
import gzip, hashlib, io, json, os, sys, tarfile
out = sys.argv[1]
layers = json.load(sys.stdin)
os.makedirs(out + "/blobs/sha256", exist_ok=True)
def blob(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(out + "/blobs/sha256/" + digest, "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)
types = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE}
descriptors, diff_ids = [], []
for layer in layers:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for m in layer:
            info = tarfile.TarInfo(m["name"])
            info.type = types[m["type"]]
            info.mode, info.uid, info.gid, info.mtime = m["mode"], m["uid"], m["gid"], 1700000000
            data = m["content"].encode()
            if m["type"] in ("symlink", "hardlink"):
                info.linkname = m["link"]
            if m["type"] in ("char", "block"):
                info.devmajor, info.devminor = (int(x) for x in m["link"].split(":"))
            if m["type"] == "file":
                info.size = len(data)
                if "size" in m:
                    # A header promising more than follows: written by hand.
                    info.size = m["size"]
                    raw.write(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))
                    raw.write(data)
                    continue
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
        if any("size" in m for m in layer):
            tar.fileobj = io.BytesIO()  # the stream stops where the lie is
    tar_bytes = raw.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(tar_bytes).hexdigest())
    compressed = gzip.compress(tar_bytes, mtime=0)
    digest, size = blob(compressed)
    descriptors.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": size})
config = {"architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
          "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": {}}
config_digest, config_size = blob(json.dumps(config).encode())
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
            "layers": descriptors}
manifest_digest, manifest_size = blob(json.dumps(manifest).encode())
index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
         "digest": manifest_digest, "size": manifest_size,
         "platform": {"architecture": "amd64", "os": "linux"},
         "annotations": {"org.opencontainers.image.ref.name": "latest"}}]}
with open(out + "/index.json", "w") as f:
    json.dump(index, f)
with open(out + "/oci-layout", "w") as f:
    f.write('{"imageLayoutVersion": "1.0.0"}')
"""#
}
