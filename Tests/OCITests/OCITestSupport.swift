import Foundation
import Archive
import KilnCore
import OCI
import Testing
import TestSupport

/// Fixtures of the OCI suites: small layer blobs made by GNU tar and gzip,
/// and layouts written from them.
enum OCIFixtures {
    /// `sha256:<hex>` of a file, from sha256sum.
    static func sha256sum(_ path: String) throws -> ContentDigest {
        try ContentDigest(parsing: Tools.sha256(file: path))
    }

    /// A layer made the reproducible way by GNU tar and gzip, from a small
    /// tree under `directory/<name>-tree`: the blob path, its descriptor and
    /// its diff_id (both digests from sha256sum).
    struct Layer {
        var blob: String
        var descriptor: Descriptor
        var diffID: ContentDigest
        var tree: String
    }

    static func makeLayer(in directory: String, name: String, files: [String: String]) throws -> Layer {
        let tree = directory + "/" + name + "-tree"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        for (path, content) in files {
            let full = tree + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Files.write(content, to: full)
        }
        try Tools.shell("""
            chmod -R u=rwX,go=rX \(name)-tree
            tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf \(name).tar -C \(name)-tree .
            gzip -n -c \(name).tar > \(name).tar.gz
            """, in: directory)
        let blob = directory + "/" + name + ".tar.gz"
        let size = try FileManager.default.attributesOfItem(atPath: blob)[.size] as! Int
        return Layer(
            blob: blob,
            descriptor: Descriptor(mediaType: MediaType.layerTarGzip, digest: try sha256sum(blob), size: Int64(size)),
            diffID: try sha256sum(directory + "/" + name + ".tar"), tree: tree)
    }

    static let platform = Platform(os: "linux", architecture: "amd64")

    /// A config for `layers` with a little of everything.
    static func config(for layers: [Layer]) -> ImageConfig {
        ImageConfig(
            created: Timestamp(secondsSinceEpoch: 0).rfc3339, architecture: "amd64", os: "linux",
            config: ContainerConfig(
                user: "65532:65532", exposedPorts: ["8080/tcp"], env: ["PATH=/usr/bin:/bin", "RUST_LOG=info"],
                entrypoint: ["/bin/app"], cmd: ["--serve"], volumes: ["/var/lib/app"], workingDir: "/app",
                labels: ["org.opencontainers.image.source": "https://example.com/app"], stopSignal: "SIGTERM"),
            rootfs: RootFS(diffIDs: layers.map(\.diffID)),
            history: layers.map { History(created: Timestamp(secondsSinceEpoch: 0).rfc3339, createdBy: "kiln files \($0.tree.split(separator: "/").last!)") })
    }

    /// Stages `layers` the way the layer engine will (write into a
    /// temporary blob path, then commit) and writes the image.
    @discardableResult
    static func writeLayout(
        to output: String, layers: [Layer], name: String = "example.com/team/app", tag: String = "1.0",
        annotations: [String: String] = ["org.opencontainers.image.vendor": "Example"]
    ) throws -> WrittenImage {
        let staging = try LayoutStaging(output: output)
        for layer in layers {
            let temporary = staging.temporaryBlobPath()
            try FileManager.default.copyItem(atPath: layer.blob, toPath: temporary)
            try staging.commitBlob(at: temporary, digest: layer.descriptor.digest)
        }
        let written = try staging.writeImage(LayoutImageSpec(
            name: name, tag: tag, platform: platform, config: config(for: layers),
            layers: layers.map(\.descriptor), annotations: annotations))
        try staging.publish()
        return written
    }
}
