internal import Foundation
public import KilnCore
public import OCI

/// Sends an image from a layout to a registry (SPEC §6): every blob is
/// checked with `HEAD` first and skipped when the registry has it, mounted
/// from the base's repository when it lives on the same registry, else
/// uploaded; blobs go in parallel (bounded by `jobs`), manifests last,
/// children before the index that names them, the tagged one at the end.
public struct ImagePusher: Sendable {
    /// The registry client.
    public let client: RegistryClient
    /// Blobs sent at once.
    public let jobs: Int
    /// Hears about every blob.
    public let observer: any TransferObserver

    /// The annotation naming an image's base (`host/path:tag`), set by
    /// kiln on images built on a registry base (OCI image-spec's
    /// pre-defined annotation keys).
    public static let baseNameAnnotation = "org.opencontainers.image.base.name"
    /// The annotation holding the base manifest's digest.
    public static let baseDigestAnnotation = "org.opencontainers.image.base.digest"

    /// A pusher.
    public init(client: RegistryClient, jobs: Int, observer: any TransferObserver = SilentTransfers()) {
        self.client = client
        self.jobs = max(1, jobs)
        self.observer = observer
    }

    /// Pushes the image `image` (an entry of the layout's `index.json`: a
    /// manifest or an index) to `reference` (its tag, or `latest`; a
    /// reference with a digest must name exactly this image).
    /// - Parameter extraMounts: blobs known to be in another repository
    ///   (the shared layer cache's), mounted from there when it is on the
    ///   same registry.
    /// - Throws: ``RegistryError``, ``LayoutError``, ``PushError``.
    public func push(
        _ image: Descriptor, from layout: LayoutReader, to reference: RegistryReference, extraMounts: [ContentDigest: Repository] = [:]
    ) async throws -> PushResult {
        if let digest = reference.digest, digest != image.digest {
            throw PushError.digestDiffers(reference: reference.description, image: image.digest)
        }
        let repository = Repository(reference)
        var gathered = Gathered()
        try gathered.visit(image, layout: layout, depth: 0)
        var fromBases = await mountableBlobs(gathered.bases, into: repository)
        for (digest, source) in extraMounts where source.registry == repository.registry && source.path != repository.path {
            fromBases[digest] = fromBases[digest] ?? source
        }
        let mountable = fromBases
        let outcomes = try await concurrentMap(gathered.blobs, limit: jobs) { [client, observer] blob in
            if try await client.blobExists(repository, digest: blob.digest) {
                observer.transferFinished(blob, outcome: .existing)
                return TransferOutcome.existing
            }
            if let source = mountable[blob.digest], try await client.mountBlob(repository, digest: blob.digest, from: source.path) {
                observer.transferFinished(blob, outcome: .mounted)
                return TransferOutcome.mounted
            }
            guard FileManager.default.fileExists(atPath: layout.blobPath(blob.digest)) else {
                // A layer a push-only build left in the shared cache.
                throw PushError.blobNotLocal(digest: blob.digest, mountFrom: mountable[blob.digest]?.description)
            }
            observer.transferStarted(blob, direction: .upload)
            try await client.uploadBlob(repository, descriptor: blob, from: layout.blobPath(blob.digest)) { done, total in
                observer.transferProgressed(blob, done: done, total: total)
            }
            observer.transferFinished(blob, outcome: .uploaded)
            return TransferOutcome.uploaded
        }
        // Children by digest, then the image itself under the tag: the tag
        // appears only once everything it reaches is there.
        for (descriptor, bytes) in gathered.manifests.dropLast() {
            _ = try await client.putManifest(repository, reference: descriptor.digest.description, bytes: bytes, mediaType: descriptor.mediaType)
        }
        let (top, bytes) = gathered.manifests[gathered.manifests.count - 1]
        let tagOrDigest = reference.digest == nil ? (reference.tag ?? "latest") : top.digest.description
        let digest = try await client.putManifest(repository, reference: tagOrDigest, bytes: bytes, mediaType: top.mediaType)
        var pushed = reference
        if reference.digest == nil, reference.tag == nil { pushed = pushed.with(tag: "latest") }
        return PushResult(
            reference: pushed.with(digest: digest).description, digest: digest,
            uploaded: outcomes.filter { $0 == .uploaded }.count, mounted: outcomes.filter { $0 == .mounted }.count,
            existing: outcomes.filter { $0 == .existing }.count)
    }

    /// What one image push sends, gathered from the layout first so a
    /// malformed layout fails before anything is uploaded.
    private struct Gathered {
        /// Blobs (configs and layers), each once, in the order met.
        var blobs: [Descriptor] = []
        /// Manifests and indexes with their bytes, children first.
        var manifests: [(Descriptor, [UInt8])] = []
        /// The bases the images name (`base.name`, `base.digest`).
        var bases: [(name: String, digest: ContentDigest)] = []
        private var seen = Set<ContentDigest>()

        mutating func visit(_ descriptor: Descriptor, layout: LayoutReader, depth: Int) throws {
            let bytes = try layout.readBlob(descriptor)
            if MediaType.isIndex(descriptor.mediaType) {
                guard depth < 4 else { throw PushError.tooDeep(digest: descriptor.digest) }
                let index = try JSONDecoder().decode(ImageIndex.self, from: Data(bytes))
                for child in index.manifests where seen.insert(child.digest).inserted {
                    try visit(child, layout: layout, depth: depth + 1)
                }
            } else if MediaType.isManifest(descriptor.mediaType) {
                let manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(bytes))
                for blob in ImageDocument.blobs(of: manifest) where seen.insert(blob.digest).inserted {
                    blobs.append(blob)
                }
                if let name = manifest.annotations?[ImagePusher.baseNameAnnotation],
                   let digest = manifest.annotations?[ImagePusher.baseDigestAnnotation].flatMap({ try? ContentDigest(parsing: $0) }) {
                    bases.append((name, digest))
                }
            } else {
                throw PushError.unsupportedMediaType(digest: descriptor.digest, mediaType: descriptor.mediaType)
            }
            manifests.append((descriptor, bytes))
        }
    }

    /// The layers of the images' bases that live in another repository of
    /// the registry pushed to, by digest, with that repository: what a
    /// cross-repository mount can bring without uploading. A base that
    /// cannot be read there simply mounts nothing.
    private func mountableBlobs(_ bases: [(name: String, digest: ContentDigest)], into repository: Repository) async -> [ContentDigest: Repository] {
        var result: [ContentDigest: Repository] = [:]
        for base in bases {
            guard let reference = try? RegistryReference(parsing: base.name) else { continue }
            let source = Repository(reference)
            guard source.registry == repository.registry, source.path != repository.path,
                  let fetched = try? await client.fetchManifest(source, reference: base.digest.description),
                  case .manifest(let manifest)? = try? ImageDocument(fetched, repository: source)
            else { continue }
            for layer in manifest.layers { result[layer.digest] = source }
        }
        return result
    }
}

/// What a push did: `--json` prints it.
public struct PushResult: Sendable, Hashable, Codable {
    /// `host/path:tag@sha256:…`.
    public var reference: String
    /// The digest of the manifest (or index) pushed.
    public var digest: ContentDigest
    /// Blobs sent.
    public var uploaded: Int
    /// Blobs mounted from the base's repository.
    public var mounted: Int
    /// Blobs the registry had already.
    public var existing: Int
    /// The artifacts (SBOMs) pushed with the image as its referrers; nil
    /// when the layout has none.
    public var referrers: [ReferrerPush]? = nil
}

/// Why a layout cannot be pushed as it is.
public enum PushError: Error, Sendable, CustomStringConvertible {
    /// The reference's digest is not the image's.
    case digestDiffers(reference: String, image: ContentDigest)
    /// An entry that is neither a manifest nor an index.
    case unsupportedMediaType(digest: ContentDigest, mediaType: String)
    /// Indexes nested more than 4 deep.
    case tooDeep(digest: ContentDigest)
    /// A blob with no local file that could not be mounted either.
    case blobNotLocal(digest: ContentDigest, mountFrom: String?)

    public var description: String {
        switch self {
        case .digestDiffers(let reference, let image):
            "\(reference) names another image than the one pushed (\(image)); leave the digest out"
        case .unsupportedMediaType(let digest, let mediaType):
            "\(digest): media type \"\(mediaType)\" is not an image manifest or index"
        case .tooDeep(let digest):
            "\(digest): indexes nested more than 4 deep"
        case .blobNotLocal(let digest, let source):
            "blob \(digest) is not in the layout" + (source.map { " and could not be mounted from \($0) (build with -o to download it)" } ?? "")
        }
    }
}
