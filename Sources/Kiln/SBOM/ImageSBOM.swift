import Foundation
public import KilnCore
public import OCI
import Plan
public import Registry

/// `kiln sbom`: the SBOM of an image in a layout, an oci-archive or a
/// registry. The document attached to the image (an artifact whose
/// `subject` is its manifest, in the layout's `index.json` or among the
/// registry's referrers) is printed as it is when it has the format asked
/// for; otherwise one is computed from the image's layers: packages from
/// its dpkg `status` and `status.d/`, every other file by its layer and
/// its hashes.
public enum ImageSBOM {
    /// An SBOM found or computed.
    public struct Found: Sendable {
        /// The document's bytes.
        public var bytes: [UInt8]
        public var format: SBOMFormat
        /// Whether it was attached to the image (else computed now).
        public var attached: Bool
        /// The image manifest it describes.
        public var manifestDigest: ContentDigest
        /// For a computed or converted document, its coverage.
        public var coverage: SBOMCoverage?
        /// The attached document's format, when this one was converted from it.
        public var convertedFrom: SBOMFormat? = nil
    }

    /// The SBOM of `source`.
    /// - Parameters:
    ///   - source: a layout directory, an oci-archive, or (when no such
    ///     path exists) a registry reference.
    ///   - format: the format wanted; nil takes the attached document
    ///     whatever its format, or computes SPDX.
    ///   - platform: the image of a multi-platform source.
    ///   - scratch: an empty private directory.
    ///   - puller: for registry references; nil refuses them.
    public static func read(
        _ source: String, format: SBOMFormat?, platform: Platform?, scratch: String, puller: ImagePuller?
    ) async throws -> Found {
        let (reader, pulled) = try await ImageSource.open(source, platform: platform, scratch: scratch, puller: puller)
        let image = try reader.image(ref: nil, platform: platform)
        if let attached = try attached(in: reader, image: image, format: format) { return try converted(attached, to: format, image: image) }
        guard let reference = pulled, let puller else { return try computed(image, format: format ?? .spdx) }
        let repository = Repository(reference)
        let referrers = try await puller.client.referrers(repository, of: image.manifestDescriptor.digest)
        for wanted in preference(format) {
            for referrer in referrers where referrer.artifactType == wanted.mediaType {
                let fetched = try await puller.client.fetchManifest(repository, reference: referrer.digest.description)
                let manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(fetched.bytes))
                guard manifest.subject?.digest == image.manifestDescriptor.digest, let layer = manifest.layers.first,
                      layer.mediaType == wanted.mediaType else { continue }
                let bytes = try await puller.client.fetchBlobBytes(repository, descriptor: layer, limit: documentLimit)
                return try converted(
                    Found(bytes: bytes, format: wanted, attached: true, manifestDigest: image.manifestDescriptor.digest), to: format, image: image)
            }
        }
        return try computed(image, format: format ?? .spdx)
    }

    /// The largest SBOM document read.
    static let documentLimit = 256 << 20

    /// The formats to look for, in order: the one asked for first, then
    /// any other (converted).
    private static func preference(_ format: SBOMFormat?) -> [SBOMFormat] {
        format.map { wanted in [wanted] + SBOMFormat.allCases.filter { $0 != wanted } } ?? SBOMFormat.allCases
    }

    /// `found` in `format`: as it is when it has that format, else
    /// converted (kiln's own documents keep every origin), else computed
    /// from `image`'s layers.
    static func converted(_ found: Found, to format: SBOMFormat?, image: LayoutImage) throws -> Found {
        guard let format, format != found.format else { return found }
        guard let model = SBOMModel(reading: found.bytes, format: found.format) else { return try computed(image, format: format) }
        let bytes: [UInt8]
        do {
            switch format {
            case .spdx: bytes = try SPDXDocument.encode(model)
            case .cyclonedx: bytes = try CycloneDXDocument.encode(model)
            }
        } catch {
            throw SBOMError.encoding(error)
        }
        return Found(
            bytes: bytes, format: format, attached: false, manifestDigest: found.manifestDigest, coverage: model.coverage, convertedFrom: found.format)
    }

    /// The document a layout attaches to `image`, or nil.
    public static func attached(in reader: LayoutReader, image: LayoutImage, format: SBOMFormat?) throws -> Found? {
        let artifacts = try reader.index().artifacts
        for wanted in preference(format) {
            for artifact in artifacts where artifact.artifactType == wanted.mediaType && MediaType.isManifest(artifact.mediaType) {
                let manifest: ImageManifest = try reader.readJSONBlob(artifact, what: "artifact manifest")
                guard manifest.subject?.digest == image.manifestDescriptor.digest, let layer = manifest.layers.first,
                      layer.mediaType == wanted.mediaType else { continue }
                let bytes = try reader.readBlob(layer, limit: documentLimit)
                return Found(bytes: bytes, format: wanted, attached: true, manifestDigest: image.manifestDescriptor.digest)
            }
        }
        return nil
    }

    /// An SBOM computed from `image`'s layers alone.
    public static func computed(_ image: LayoutImage, format: SBOMFormat) throws(SBOMError) -> Found {
        let named = image.manifestDescriptor.annotations?[LayoutReader.imageNameAnnotation]
        var name = image.reference ?? "image"
        var tag = image.reference ?? "latest"
        if let named, let colon = named.lastIndex(of: ":"), !named[colon...].contains("/") {
            name = String(named[..<colon])
            tag = String(named[named.index(after: colon)...])
        }
        let vendorKey = "org.opencontainers.image.vendor"
        let subject = SBOMSubject(
            name: name, tag: tag, created: image.config.created.flatMap { try? Timestamp(rfc3339: $0) } ?? Timestamp(secondsSinceEpoch: 0),
            platform: image.config.platform, manifest: image.manifestDescriptor,
            layers: image.layers.map { SBOMLayer(layer: $0, role: .image) }, base: nil,
            vendor: image.manifest.annotations?[vendorKey] ?? image.config.config?.labels?[vendorKey])
        let document = try SBOMGenerator.generate(subject, format: format)
        return Found(bytes: document.bytes, format: format, attached: false, manifestDigest: image.manifestDescriptor.digest, coverage: document.coverage)
    }
}
