import Foundation
import TestSupport

/// A one-layer OCI image layout written by hand (an empty tar as the layer,
/// a config, a manifest, `index.json`), so the registry tests need no image
/// builder: what skopeo pushes.
struct TinyImage {
    /// The layout's directory.
    let path: String
    /// The manifest's digest, `sha256:…`: what the registry must serve back.
    let manifestDigest: String
    /// The layer's and the config's digests.
    let blobDigests: [String]

    /// Writes the layout at `path`, its one manifest tagged `tag`.
    init(at path: String, tag: String) throws {
        self.path = path
        // An empty tar archive (two zero blocks), gzipped: skopeo would
        // compress an uncompressed layer on the way to a registry, and the
        // manifest it pushed would not be this one.
        let tar = [UInt8](repeating: 0, count: 1024)
        let layer = try Tools.output(["gzip", "-n", "-c"], stdin: tar)
        let layerDigest = try write(layer, in: path)
        let config = Array(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(try Tools.sha256(tar))"]}}"#.utf8)
        let configDigest = try write(config, in: path)
        let manifest = Array("""
        {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",\
        "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(configDigest)","size":\(config.count)},\
        "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"\(layerDigest)","size":\(layer.count)}]}
        """.utf8)
        manifestDigest = try write(manifest, in: path)
        blobDigests = [layerDigest, configDigest]
        try Files.write(#"{"imageLayoutVersion":"1.0.0"}"#, to: path + "/oci-layout")
        try Files.write("""
        {"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json",\
        "digest":"\(manifestDigest)","size":\(manifest.count),\
        "annotations":{"org.opencontainers.image.ref.name":"\(tag)"}}]}
        """, to: path + "/index.json")
    }

    /// `oci:PATH:TAG`, skopeo's name for the layout's image.
    func reference(_ tag: String) -> String { "oci:\(path):\(tag)" }
}

/// Stores `bytes` as a blob of the layout at `layout`.
/// - Returns: its digest.
private func write(_ bytes: [UInt8], in layout: String) throws -> String {
    let digest = try Tools.sha256(bytes)
    try Files.write(bytes, to: layout + "/blobs/sha256/" + digest.dropFirst("sha256:".count))
    return digest
}
