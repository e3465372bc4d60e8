import KilnCore
import OCI

/// Entry points of the fuzz targets (`fuzz/`, `scripts/fuzz`): untrusted
/// bytes parsed exactly as kiln parses them, the result thrown away. Errors
/// are expected; a crash, a hang or a sanitizer report is the bug.
public enum RegistryFuzzing {
    /// A registry's answers: the first byte picks the media type a
    /// manifest claims; the bytes are also read as `WWW-Authenticate`
    /// header values (one per line).
    public static func responses(_ bytes: [UInt8]) {
        _ = AuthChallenge.parse(String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init))
        guard let first = bytes.first else { return }
        let types = [MediaType.imageManifest, MediaType.imageIndex, MediaType.dockerManifest, MediaType.dockerManifestList, "application/octet-stream"]
        let document = Array(bytes.dropFirst())
        let fetched = FetchedManifest(bytes: document, mediaType: types[Int(first) % types.count], digest: BlobDigest.sha256(document))
        _ = try? ImageDocument(fetched, repository: Repository(registry: "127.0.0.1:5000", path: "fuzz/image"))
    }
}
