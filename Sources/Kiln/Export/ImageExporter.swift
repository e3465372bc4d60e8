import Foundation
import Archive
public import KilnCore
public import OCI
import Plan
public import Registry

/// `kiln export`: the file system of an image — an OCI layout, an
/// oci-archive, or an image on a registry — written as a directory or as
/// one flattened tar (see ``ImageExport``).
public enum ImageExporter {
    /// Where the file system goes.
    public enum Destination: Sendable {
        /// A new directory, as `umoci unpack`'s `rootfs`.
        case rootfs(String)
        /// One tar file, in kiln's layer form (SPEC §2).
        case tar(String)
    }

    /// What an export did.
    public struct Report: Sendable {
        /// The source as the user named it.
        public var source: String
        /// The image's manifest digest.
        public var manifestDigest: ContentDigest
        /// Layers applied.
        public var layers: Int
        /// Entries and bytes written.
        public var summary: ImageExport.Summary
    }

    /// Exports `source`.
    /// - Parameters:
    ///   - source: a layout directory, an oci-archive file, or (when no such
    ///     path exists) a registry reference, pulled with `puller`.
    ///   - platform: the image to take from a multi-platform source (for a
    ///     registry, default: this machine's).
    ///   - scratch: an empty private directory for an unpacked archive or a
    ///     pulled image.
    ///   - puller: how registry references are fetched; nil refuses them.
    /// - Throws: ``LayoutError``, ``ImageFileSystemError``, registry errors,
    ///   ``ExportError``.
    public static func export(
        _ source: String, to destination: Destination, platform: Platform?, scratch: String, puller: ImagePuller?
    ) async throws -> Report {
        let (reader, _) = try await ImageSource.open(source, platform: platform, scratch: scratch, puller: puller)
        // Without --platform a multi-platform image gives this machine's
        // platform when it has one, as `kiln pull` and podman do.
        let image = try platform.map { try reader.image(ref: nil, platform: $0) }
            ?? (try? reader.image(ref: nil, platform: Platform.host)) ?? reader.image(ref: nil, platform: nil)
        let summary: ImageExport.Summary
        switch destination {
        case .rootfs(let directory):
            summary = try ImageExport.rootfs(image.layers, to: directory)
        case .tar(let file):
            // Every entry gets the image's `created`, as every layer kiln
            // writes has its plan's (SPEC §2); 1970 when it has none.
            let created = image.config.created.flatMap { try? Timestamp(rfc3339: $0) } ?? Timestamp(secondsSinceEpoch: 0)
            summary = try ImageExport.tar(image.layers, to: file, modificationTime: created)
        }
        return Report(source: source, manifestDigest: image.manifestDescriptor.digest, layers: image.layers.count, summary: summary)
    }
}

/// Why `kiln export` cannot find its source.
public enum ExportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Neither a path nor a registry reference.
    case noSuchSource(String)
    /// A registry reference where no registry client was given.
    case registryUnavailable(String)

    public var description: String {
        switch self {
        case .noSuchSource(let source):
            "\(source): no such layout directory or oci-archive, and not a registry reference"
        case .registryUnavailable(let source):
            "\(source): registry sources are not supported here (no registry client)"
        }
    }
}
