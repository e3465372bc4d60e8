import Foundation
public import KilnCore
import OCI
public import Registry

/// `kiln pull`: an image from a registry written as an OCI layout, every
/// blob as the registry served it (manifests byte for byte, so digests
/// stay), replacing the output atomically.
public enum LayoutPull {
    /// What a pull wrote.
    public struct Report: Sendable, Encodable {
        /// The reference pulled, in full (`host/path:tag`).
        public var reference: String
        /// What it resolved to.
        public var digest: ContentDigest
        /// The entry `index.json` holds: the platform's manifest, or the
        /// whole index for `--platform all`.
        public var image: ContentDigest
        /// Blobs downloaded.
        public var downloaded: Int
        /// The layout written.
        public var output: String
    }

    /// Pulls `reference` into the layout `output`.
    /// - Throws: ``RegistryError``, ``PullError``, ``LayoutError``.
    public static func pull(_ reference: RegistryReference, selection: ImagePuller.Selection, output: String, puller: ImagePuller) async throws -> Report {
        let staging = try LayoutStaging(output: output)
        let pulled = try await puller.pull(reference, selection: selection, into: staging)
        var entry = pulled.image
        var annotations = entry.annotations ?? [:]
        if let tag = reference.tag { annotations[LayoutReader.refNameAnnotation] = tag }
        annotations[LayoutReader.imageNameAnnotation] = reference.name + (reference.tag.map { ":" + $0 } ?? "@" + pulled.digest.description)
        entry.annotations = annotations
        try staging.writeIndex([entry])
        try staging.publish()
        return Report(reference: reference.description, digest: pulled.digest, image: entry.digest, downloaded: pulled.downloaded, output: staging.output)
    }
}
