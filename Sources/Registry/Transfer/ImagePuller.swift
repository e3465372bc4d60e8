internal import Foundation
public import KilnCore
public import OCI

/// Fetches an image from a registry into a ``BlobDestination``, every
/// blob as served and verified while it downloads: `kiln pull` (into a
/// staged layout) and registry bases (into the cache's store).
public struct ImagePuller: Sendable {
    /// The registry client.
    public let client: RegistryClient
    /// Blobs fetched at once.
    public let jobs: Int
    /// Hears about every blob.
    public let observer: any TransferObserver

    /// Which images of an index to fetch.
    public enum Selection: Sendable {
        /// The one image for this platform (an index is followed to it).
        case platform(Platform)
        /// Everything the reference names: every image of an index.
        case all
    }

    /// What a pull fetched.
    public struct Pulled: Sendable {
        /// What the reference resolved to (an index or a manifest).
        public var digest: ContentDigest
        /// The image fetched: the platform's manifest with its `platform`,
        /// or, for ``Selection/all``, the top descriptor.
        public var image: Descriptor
        /// Blobs downloaded.
        public var downloaded: Int
        /// Blobs that were there already.
        public var cached: Int
    }

    /// A puller.
    public init(client: RegistryClient, jobs: Int, observer: any TransferObserver = SilentTransfers()) {
        self.client = client
        self.jobs = max(1, jobs)
        self.observer = observer
    }

    /// Fetches what `reference` names (by its digest, else its tag, else
    /// `latest`) into `destination`. A manifest asked for by digest that
    /// `destination` holds is read from there, so a pinned base in the
    /// cache needs no network.
    /// - Throws: ``RegistryError``; ``PullError`` when no image matches
    ///   the platform; what `destination` throws.
    public func pull(_ reference: RegistryReference, selection: Selection, into destination: any BlobDestination) async throws -> Pulled {
        let repository = Repository(reference)
        let top = try await manifest(repository, reference: reference.referenceInRepository, digest: reference.digest, into: destination)
        var blobs: [Descriptor] = []
        var image = top.descriptor
        try await collect(top, repository: repository, selection: selection, into: destination, depth: 0, blobs: &blobs, chosen: &image)
        var seen = Set<ContentDigest>()
        let unique = blobs.filter { seen.insert($0.digest).inserted }
        let outcomes = try await concurrentMap(unique, limit: jobs) { [client, observer] blob in
            if destination.hasBlob(blob.digest) {
                observer.transferFinished(blob, outcome: .cached)
                return TransferOutcome.cached
            }
            observer.transferStarted(blob, direction: .download)
            try await client.fetchBlob(repository, descriptor: blob, to: destination.blobPath(blob.digest)) { done, total in
                observer.transferProgressed(blob, done: done, total: total)
            }
            observer.transferFinished(blob, outcome: .downloaded)
            return TransferOutcome.downloaded
        }
        if case .platform(let platform) = selection, image.platform == nil, case .manifest(let manifest) = top.document {
            // A plain manifest says its platform only in its config.
            image.platform = try configPlatform(of: manifest, wanted: platform, repository: repository, destination: destination)
        }
        return Pulled(
            digest: top.descriptor.digest, image: image,
            downloaded: outcomes.filter { $0 == .downloaded }.count, cached: outcomes.filter { $0 == .cached }.count)
    }

    /// Manifests larger than this are refused (the client's own limit).
    static let manifestLimit = 4 << 20

    /// A manifest or index, stored in `destination`, with its descriptor.
    private struct Stored {
        var descriptor: Descriptor
        var document: ImageDocument
    }

    private func manifest(_ repository: Repository, reference: String, digest: ContentDigest?, into destination: any BlobDestination) async throws -> Stored {
        if let digest, let bytes = destination.readSmallBlob(digest, limit: Self.manifestLimit) {
            let fetched = FetchedManifest(bytes: bytes, mediaType: ImageDocument.mediaType(of: bytes), digest: digest)
            if let document = try? ImageDocument(fetched, repository: repository) {
                return Stored(descriptor: Descriptor(mediaType: fetched.mediaType, digest: digest, size: Int64(bytes.count)), document: document)
            }
        }
        let fetched = try await client.fetchManifest(repository, reference: reference)
        let document = try ImageDocument(fetched, repository: repository)
        let descriptor = try destination.writeBlob(fetched.bytes, mediaType: fetched.mediaType)
        return Stored(descriptor: descriptor, document: document)
    }

    /// Gathers the blobs under `stored`, following an index to the images
    /// `selection` asks for; `chosen` becomes the platform's manifest entry.
    private func collect(
        _ stored: Stored, repository: Repository, selection: Selection, into destination: any BlobDestination, depth: Int,
        blobs: inout [Descriptor], chosen: inout Descriptor
    ) async throws {
        switch stored.document {
        case .manifest(let manifest):
            blobs += ImageDocument.blobs(of: manifest)
        case .index(let index):
            guard depth < 4 else { throw PullError.tooDeep(repository: repository.description, digest: stored.descriptor.digest) }
            var children = index.manifests
            if case .platform(let platform) = selection {
                guard let match = index.image(for: platform) else {
                    throw PullError.platformNotFound(
                        repository: repository.description, digest: stored.descriptor.digest, wanted: platform.description,
                        available: index.images.compactMap { $0.platform?.description })
                }
                children = [match]
                chosen = match
            }
            for child in children {
                let nested = try await manifest(repository, reference: child.digest.description, digest: child.digest, into: destination)
                try await collect(nested, repository: repository, selection: selection, into: destination, depth: depth + 1, blobs: &blobs, chosen: &chosen)
            }
        }
    }

    private func configPlatform(of manifest: ImageManifest, wanted: Platform, repository: Repository, destination: any BlobDestination) throws -> Platform {
        guard let bytes = destination.readSmallBlob(manifest.config.digest, limit: Self.manifestLimit),
              let config = try? JSONDecoder().decode(ImageConfig.self, from: Data(bytes))
        else {
            throw RegistryError(.invalidResponse, "the image config is not valid JSON", operation: .pulling,
                                registry: repository.registry, repository: repository.path, subject: " blob " + manifest.config.digest.description)
        }
        guard config.platform.satisfies(wanted) else {
            throw PullError.platformNotFound(repository: repository.description, digest: manifest.config.digest, wanted: wanted.description, available: [config.platform.description])
        }
        return config.platform
    }
}

/// Why a pull found nothing to use.
public enum PullError: Error, Sendable, CustomStringConvertible {
    /// No image of the index is for the wanted platform.
    case platformNotFound(repository: String, digest: ContentDigest, wanted: String, available: [String])
    /// Indexes nested more than 4 deep.
    case tooDeep(repository: String, digest: ContentDigest)

    public var description: String {
        switch self {
        case .platformNotFound(let repository, _, let wanted, let available):
            "\(repository) has no image for \(wanted)" + (available.isEmpty ? "" : " (it has \(available.joined(separator: ", ")))")
        case .tooDeep(let repository, let digest):
            "\(repository)@\(digest): indexes nested more than 4 deep"
        }
    }
}
