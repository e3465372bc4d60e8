import Foundation
public import Archive
public import KilnCore
import Glibc

/// Reads images out of an OCI image layout: base images (`oci:DIR[:REF]`,
/// `oci-archive:FILE[:REF]`), and built layouts for `kiln inspect` / `kiln diff`.
///
/// Every blob it hands out was checked against its descriptor's digest and
/// size (layers too, unless the caller opts out).
public struct LayoutReader: Sendable {
    /// The layout directory read (for an archive, where it was unpacked).
    public let directory: String
    /// How messages name the layout: the directory or archive the user gave.
    public let label: String
    /// `oci` or `oci-archive`, for hints in messages.
    public let scheme: String

    /// The annotation that names an image inside a layout.
    public static let refNameAnnotation = "org.opencontainers.image.ref.name"
    /// containerd's annotation holding an image's full `name:tag`.
    public static let imageNameAnnotation = "io.containerd.image.name"
    /// JSON documents (index, manifest, config) larger than this are refused.
    public static let documentLimit = 16 << 20

    /// Opens the layout at `directory`.
    /// - Throws: ``LayoutError/notALayout(path:)`` when `oci-layout` is
    ///   missing, ``LayoutError/unsupportedLayoutVersion(path:version:)``,
    ///   ``LayoutError/badJSON(path:what:detail:)``.
    public init(directory: String) throws(LayoutError) {
        try self.init(directory: directory, label: directory, scheme: "oci")
    }

    private init(directory: String, label: String, scheme: String) throws(LayoutError) {
        self.directory = directory
        self.label = label
        self.scheme = scheme
        let markerPath = directory + "/oci-layout"
        guard BlobFiles.exists(markerPath) else { throw .notALayout(path: label) }
        let marker: LayoutMarker = try decode(BlobFiles.readSmall(markerPath, limit: LayoutReader.documentLimit), path: display("oci-layout"), what: "oci-layout file")
        guard marker.imageLayoutVersion.hasPrefix("1.") else {
            throw .unsupportedLayoutVersion(path: label, version: marker.imageLayoutVersion)
        }
    }

    /// Unpacks an `oci-archive` (a tarred layout, optionally compressed) into
    /// `directory`, which must exist and be empty, and opens it. Only
    /// directories, regular files and hard links are accepted.
    /// - Throws: ``LayoutError/archive(path:detail:)`` for an unreadable or
    ///   unsafe archive, then what ``init(directory:)`` throws.
    public static func unpackArchive(_ file: String, into directory: String) throws(LayoutError) -> LayoutReader {
        do {
            try ArchiveUnpacker(archive: file, destination: directory).unpack()
        } catch let error as LayoutError {
            throw error
        } catch {
            throw .archive(path: file, detail: "\(error)")
        }
        return try LayoutReader(directory: directory, label: file, scheme: "oci-archive")
    }

    /// `index.json`, decoded.
    public func index() throws(LayoutError) -> ImageIndex {
        let path = directory + "/index.json"
        guard BlobFiles.exists(path) else {
            throw .badJSON(path: display("index.json"), what: "image index", detail: "the file is missing")
        }
        return try decode(BlobFiles.readSmall(path, limit: LayoutReader.documentLimit), path: display("index.json"), what: "image index")
    }

    /// The `ref.name` of every image `index.json` lists, in its order.
    public func refs() throws(LayoutError) -> [String] {
        LayoutReader.refs(of: try index())
    }

    /// The path of a blob in this layout.
    public func blobPath(_ digest: ContentDigest) -> String {
        directory + "/blobs/" + digest.blobPath
    }

    /// Finds and verifies one image.
    ///
    /// With `ref`, the manifests whose `ref.name` is `ref`; without, the only
    /// manifest. Several candidates are told apart by `platform` (exactly
    /// one must match). An index in the way (multi-platform image) is
    /// followed to the manifest for `platform`.
    /// - Parameters:
    ///   - ref: the `ref.name` to pick, or nil when the layout holds one image.
    ///   - platform: the platform the caller builds for; the image must match it.
    ///   - verifyLayers: hash every layer blob (the default); `false` only
    ///     checks that each exists.
    /// - Throws: ``LayoutError`` naming what is missing, mismatched or malformed.
    public func image(ref: String?, platform: Platform?, verifyLayers: Bool = true) throws(LayoutError) -> LayoutImage {
        let index = try index()
        var candidates = index.images
        if let ref {
            candidates = candidates.filter { $0.annotations?[LayoutReader.refNameAnnotation] == ref }
            guard !candidates.isEmpty else {
                throw .refNotFound(layout: label, ref: ref, available: LayoutReader.refs(of: index))
            }
        }
        guard !candidates.isEmpty else { throw .noManifest(layout: label) }
        var chosen = candidates[0]
        if candidates.count > 1 {
            // Several candidates are fine only when the platform tells them
            // apart: one per platform under one ref, or, without a ref, exactly
            // one image for the platform.
            let matches = platform.map { wanted in candidates.filter { $0.platform?.satisfies(wanted) ?? false } } ?? []
            if matches.count == 1 {
                chosen = matches[0]
            } else if ref == nil {
                throw .ambiguousImage(layout: label, count: candidates.count, refs: LayoutReader.refs(of: index))
            } else if let platform {
                throw .platformNotFound(layout: label, wanted: platform.description, available: candidates.compactMap { $0.platform?.description })
            } else {
                throw .platformRequired(layout: label, available: candidates.compactMap { $0.platform?.description })
            }
        }
        return try image(descriptor: chosen, reference: ref, platform: platform, verifyLayers: verifyLayers)
    }

    /// The image a manifest or index descriptor names, read and verified
    /// as ``image(ref:platform:verifyLayers:)`` does once it has chosen
    /// one: an index is followed to the manifest for `platform`.
    /// - Parameter reference: the image's name when the descriptor carries
    ///   no `ref.name`.
    /// - Throws: ``LayoutError`` naming what is missing, mismatched or malformed.
    public func image(descriptor: Descriptor, reference: String?, platform: Platform?, verifyLayers: Bool = true) throws(LayoutError) -> LayoutImage {
        var chosen = descriptor
        var depth = 0
        while MediaType.isIndex(chosen.mediaType) {
            depth += 1
            guard depth <= 4 else { throw .unsupportedMediaType(path: display(blobRelative(chosen.digest)), what: "index nested more than 4 deep", mediaType: chosen.mediaType) }
            let nested: ImageIndex = try readJSONBlob(chosen, what: "image index")
            let entries = nested.images
            if let platform {
                guard let match = nested.image(for: platform) else {
                    throw .platformNotFound(layout: label, wanted: platform.description, available: entries.compactMap { $0.platform?.description })
                }
                chosen = match
            } else {
                guard entries.count == 1 else {
                    throw .platformRequired(layout: label, available: entries.compactMap { $0.platform?.description })
                }
                chosen = entries[0]
            }
        }
        guard MediaType.isManifest(chosen.mediaType) else {
            throw .unsupportedMediaType(path: display(blobRelative(chosen.digest)), what: "manifest", mediaType: chosen.mediaType)
        }
        let manifest: ImageManifest = try readJSONBlob(chosen, what: "image manifest")
        guard manifest.config.mediaType == MediaType.imageConfig || manifest.config.mediaType == MediaType.dockerConfig else {
            throw .unsupportedMediaType(path: display(blobRelative(manifest.config.digest)), what: "config", mediaType: manifest.config.mediaType)
        }
        let config: ImageConfig = try readJSONBlob(manifest.config, what: "image config")
        if let platform, !config.platform.satisfies(platform) {
            throw .platformMismatch(layout: label, found: config.platform.description, wanted: platform.description)
        }
        guard manifest.layers.count == config.rootfs.diffIDs.count else {
            throw .layerCountMismatch(what: "image \(display(blobRelative(chosen.digest)))", layers: manifest.layers.count, diffIDs: config.rootfs.diffIDs.count)
        }
        var layers: [LayoutLayer] = []
        for (descriptor, diffID) in zip(manifest.layers, config.rootfs.diffIDs) {
            guard let compression = MediaType.layerCompression(descriptor.mediaType) else {
                if descriptor.mediaType == MediaType.wasmLayer { throw .webAssemblyLayer(path: display(blobRelative(descriptor.digest))) }
                throw .unsupportedMediaType(path: display(blobRelative(descriptor.digest)), what: "layer", mediaType: descriptor.mediaType)
            }
            if verifyLayers {
                try verifyBlob(descriptor)
            } else {
                _ = try regularBlob(descriptor)
            }
            layers.append(LayoutLayer(descriptor: descriptor, diffID: diffID, path: blobPath(descriptor.digest), compression: compression))
        }
        return LayoutImage(
            directory: directory, reference: chosen.annotations?[LayoutReader.refNameAnnotation] ?? reference,
            manifestDescriptor: chosen, manifest: manifest, config: config, layers: layers)
    }

    /// Hashes a blob and compares it with its descriptor.
    public func verifyBlob(_ descriptor: Descriptor) throws(LayoutError) {
        let path = try regularBlob(descriptor)
        let found = try BlobFiles.digest(ofFileAt: path)
        try check(descriptor, found: found)
    }

    /// A small blob's bytes (a manifest to push as it is), verified.
    /// - Parameter limit: the most read (default ``documentLimit``; an
    ///   SBOM of a large image is larger).
    public func readBlob(_ descriptor: Descriptor, limit: Int = LayoutReader.documentLimit) throws(LayoutError) -> [UInt8] {
        let bytes = try BlobFiles.readSmall(try regularBlob(descriptor), limit: limit)
        try check(descriptor, found: (BlobDigest.sha256(bytes), Int64(bytes.count)))
        return bytes
    }

    /// Reads, verifies and decodes a JSON blob.
    public func readJSONBlob<Document: Decodable>(_ descriptor: Descriptor, what: String) throws(LayoutError) -> Document {
        let path = try regularBlob(descriptor)
        let bytes = try BlobFiles.readSmall(path, limit: LayoutReader.documentLimit)
        try check(descriptor, found: (BlobDigest.sha256(bytes), Int64(bytes.count)))
        return try decode(bytes, path: display(blobRelative(descriptor.digest)), what: what)
    }

    /// The blob file of `descriptor`, which must be a regular file: a
    /// symlink in a layout someone handed us could point at any host file.
    private func regularBlob(_ descriptor: Descriptor) throws(LayoutError) -> String {
        let path = blobPath(descriptor.digest)
        let shown = display(blobRelative(descriptor.digest))
        switch try BlobFiles.kind(at: path) {
        case .regular: return path
        case .missing: throw .blobMissing(path: shown, digest: descriptor.digest)
        case .symlink: throw .blobNotRegular(path: shown, kind: "a symbolic link")
        case .directory: throw .blobNotRegular(path: shown, kind: "a directory")
        case .other: throw .blobNotRegular(path: shown, kind: "a special file")
        }
    }

    private func check(_ descriptor: Descriptor, found: (digest: ContentDigest, size: Int64)) throws(LayoutError) {
        let shown = display(blobRelative(descriptor.digest))
        guard found.digest == descriptor.digest else {
            throw .digestMismatch(path: shown, expected: descriptor.digest, actual: found.digest)
        }
        guard found.size == descriptor.size else {
            throw .sizeMismatch(path: shown, expected: descriptor.size, actual: found.size)
        }
    }

    private func blobRelative(_ digest: ContentDigest) -> String { "blobs/" + digest.blobPath }

    /// A path inside the layout as the user knows it.
    private func display(_ relative: String) -> String { label + "/" + relative }

    private static func refs(of index: ImageIndex) -> [String] {
        index.manifests.compactMap { $0.annotations?[refNameAnnotation] }
    }
}

/// One image found in a layout, verified.
public struct LayoutImage: Hashable, Sendable {
    /// The layout directory its blobs are in.
    public var directory: String
    /// The `ref.name` it was found under, if any.
    public var reference: String?
    /// The manifest's descriptor (from `index.json` or a nested index).
    public var manifestDescriptor: Descriptor
    /// The manifest, decoded from a blob whose digest and size were checked.
    public var manifest: ImageManifest
    /// The config, checked against `manifest.config` and, when a platform was
    /// asked for, matching it.
    public var config: ImageConfig
    /// Layers bottom first, each with its diff_id and blob path.
    public var layers: [LayoutLayer]

    /// Memberwise, without checks; ``LayoutReader/image(ref:platform:verifyLayers:)``
    /// is what produces verified images.
    public init(directory: String, reference: String?, manifestDescriptor: Descriptor, manifest: ImageManifest, config: ImageConfig, layers: [LayoutLayer]) {
        self.directory = directory
        self.reference = reference
        self.manifestDescriptor = manifestDescriptor
        self.manifest = manifest
        self.config = config
        self.layers = layers
    }
}

/// A layer of a ``LayoutImage``.
public struct LayoutLayer: Hashable, Sendable {
    /// As the manifest lists it.
    public var descriptor: Descriptor
    /// SHA-256 of the uncompressed tar, from the config.
    public var diffID: ContentDigest
    /// The blob file.
    public var path: String
    /// How the blob is compressed, from its media type.
    public var compression: DecompressionFormat

    /// Memberwise, without checks; ``LayoutReader`` is what produces verified
    /// layers.
    public init(descriptor: Descriptor, diffID: ContentDigest, path: String, compression: DecompressionFormat) {
        self.descriptor = descriptor
        self.diffID = diffID
        self.path = path
        self.compression = compression
    }
}

/// Decodes a JSON document, turning Foundation's errors into a sentence.
func decode<Document: Decodable>(_ bytes: [UInt8], path: String, what: String) throws(LayoutError) -> Document {
    do {
        return try JSONDecoder().decode(Document.self, from: Data(bytes))
    } catch {
        throw .badJSON(path: path, what: what, detail: explain(error))
    }
}

private func explain(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func at(_ context: DecodingError.Context) -> String {
        let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
        return path.isEmpty ? "the document" : String(path.dropFirst(path.hasPrefix(".") ? 1 : 0))
    }
    switch error {
    case .dataCorrupted(let context):
        return context.codingPath.isEmpty ? "it is not JSON" : "\(at(context)): \(context.debugDescription)"
    case .keyNotFound(let key, let context):
        return "\(at(context)) has no \"\(key.stringValue)\""
    case .typeMismatch(let type, let context):
        return "\(at(context)) is not \(describe(type))"
    case .valueNotFound(let type, let context):
        return "\(at(context)) is null, expected \(describe(type))"
    @unknown default:
        return "\(error)"
    }
}

private func describe(_ type: Any.Type) -> String {
    switch type {
    case is String.Type: "a string"
    case is Bool.Type: "a boolean"
    case is Int.Type, is Int64.Type: "an integer"
    case is Double.Type: "a number"
    default:
        String(describing: type).hasPrefix("Array") ? "an array" : String(describing: type).hasPrefix("Dictionary") ? "an object" : "a \(type)"
    }
}
