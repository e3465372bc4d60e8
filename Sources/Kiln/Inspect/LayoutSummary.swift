import Foundation
import Archive
public import KilnCore
public import OCI
import Strategies

/// What `kiln inspect` reports of a built layout: each image it holds, with
/// its tag, digests, platform, layers and runtime config.
public struct LayoutSummary: Codable, Hashable, Sendable {
    /// The layout directory (or archive) inspected.
    public var layout: String
    /// Every image `index.json` lists, nested indexes flattened (one entry per
    /// platform), in index order; entries that are neither a manifest nor an
    /// index are skipped.
    public var images: [ImageSummary]

    /// Reads the layout at `path` — a directory, or an `oci-archive` tar,
    /// unpacked into `scratch` first. Every blob read is verified.
    /// - Throws: ``LayoutError``.
    public static func read(_ path: String, scratch: String) throws -> LayoutSummary {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LayoutError.notALayout(path: path)
        }
        let reader: LayoutReader
        if isDirectory.boolValue {
            reader = try LayoutReader(directory: path)
        } else {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            reader = try LayoutReader.unpackArchive(path, into: scratch)
        }
        var images: [ImageSummary] = []
        let index = try reader.index()
        // An SBOM artifact beside the image is not an image to summarize.
        guard !index.images.isEmpty else { throw LayoutError.noManifest(layout: path) }
        for entry in index.images {
            images += try summaries(of: entry, in: reader, annotations: entry.annotations ?? [:])
        }
        // Each SBOM is shown with the image its `subject` names.
        for artifact in index.artifacts where MediaType.isManifest(artifact.mediaType) {
            let manifest: ImageManifest = try reader.readJSONBlob(artifact, what: "artifact manifest")
            for position in images.indices where images[position].manifestDigest == manifest.subject?.digest {
                images[position].artifacts = (images[position].artifacts ?? []) + [
                    ArtifactSummary(artifactType: artifact.artifactType ?? manifest.artifactType ?? "", digest: artifact.digest),
                ]
            }
        }
        return LayoutSummary(layout: path, images: images)
    }

    private static func summaries(of descriptor: Descriptor, in reader: LayoutReader, annotations: [String: String]) throws -> [ImageSummary] {
        if MediaType.isIndex(descriptor.mediaType) {
            let nested: ImageIndex = try reader.readJSONBlob(descriptor, what: "image index")
            return try nested.manifests.flatMap { entry in
                try summaries(of: entry, in: reader, annotations: annotations.merging(entry.annotations ?? [:]) { _, inner in inner }).map { image in
                    var image = image
                    image.indexDigest = image.indexDigest ?? descriptor.digest
                    return image
                }
            }
        }
        guard MediaType.isManifest(descriptor.mediaType) else { return [] }
        let manifest: ImageManifest = try reader.readJSONBlob(descriptor, what: "image manifest")
        let config: ImageConfig = try reader.readJSONBlob(manifest.config, what: "image config")
        // Every blob the summary describes is checked (size and digest), so
        // inspect never vouches for a layout that would not load.
        guard manifest.layers.count == config.rootfs.diffIDs.count else {
            throw LayoutError.layerCountMismatch(what: "image \(descriptor.digest)", layers: manifest.layers.count, diffIDs: config.rootfs.diffIDs.count)
        }
        for layer in manifest.layers { try reader.verifyBlob(layer) }
        let history = (config.history ?? []).filter { $0.emptyLayer != true }
        let layers = manifest.layers.enumerated().map { index, layer in
            LayerSummary(
                digest: layer.digest, diffID: config.rootfs.diffIDs[index],
                size: layer.size, mediaType: layer.mediaType,
                createdBy: index < history.count ? history[index].createdBy : nil)
        }
        return [ImageSummary(
            name: annotations[LayoutReader.imageNameAnnotation], tag: annotations[LayoutReader.refNameAnnotation],
            manifestDigest: descriptor.digest, configDigest: manifest.config.digest,
            platform: config.platform.description, created: config.created, layers: layers,
            size: manifest.layers.reduce(0) { $0 + $1.size }, config: config.config ?? ContainerConfig(),
            annotations: manifest.annotations ?? [:])]
    }
}

/// One image of a layout.
public struct ImageSummary: Codable, Hashable, Sendable {
    /// `name:tag` (`io.containerd.image.name`), if annotated.
    public var name: String?
    /// The `org.opencontainers.image.ref.name`, if annotated.
    public var tag: String?
    /// Digest of the manifest blob, the image's identity.
    public var manifestDigest: ContentDigest
    /// Digest of the config blob (the image ID in Docker's classic image store).
    public var configDigest: ContentDigest
    /// `os/architecture[/variant]`.
    public var platform: String
    /// The config's `created`, as written (RFC 3339), or nil when it has none.
    public var created: String?
    /// Bottom first, as the manifest lists them.
    public var layers: [LayerSummary]
    /// Sum of the layer blobs' sizes.
    public var size: Int64
    /// The runtime config.
    public var config: ContainerConfig
    /// The manifest's annotations.
    public var annotations: [String: String]
    /// The image index the image was listed in (a multi-platform image),
    /// or nil for a manifest `index.json` names itself.
    public var indexDigest: ContentDigest? = nil
    /// The artifacts (SBOMs) the layout lists about this image; nil when none.
    public var artifacts: [ArtifactSummary]? = nil

    enum CodingKeys: String, CodingKey {
        case name, tag, platform, created, layers, size, config, annotations, artifacts
        case indexDigest = "index_digest"
        case manifestDigest = "manifest_digest"
        case configDigest = "config_digest"
    }
}

/// One layer of an image.
public struct LayerSummary: Codable, Hashable, Sendable {
    /// The blob's digest, as the manifest lists it (inspect does not hash layer
    /// blobs).
    public var digest: ContentDigest
    /// The config's diff_id at the same position, or nil when the config lists
    /// fewer than the manifest (a malformed image, still shown).
    public var diffID: ContentDigest?
    /// Bytes of the blob as stored (compressed), from the manifest.
    public var size: Int64
    /// The blob's media type, which says how it is compressed.
    public var mediaType: String
    /// The history entry's `created_by`.
    public var createdBy: String?

    enum CodingKeys: String, CodingKey {
        case digest, size
        case diffID = "diff_id"
        case mediaType = "media_type"
        case createdBy = "created_by"
    }
}

/// An artifact whose `subject` is an image of the layout (an SBOM).
public struct ArtifactSummary: Codable, Hashable, Sendable {
    /// `application/spdx+json`, `application/vnd.cyclonedx+json`.
    public var artifactType: String
    /// The artifact manifest's digest.
    public var digest: ContentDigest

    enum CodingKeys: String, CodingKey {
        case digest
        case artifactType = "artifact_type"
    }
}
