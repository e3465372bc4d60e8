import Foundation
public import Plan
import Archive
public import KilnCore
import OCI
public import Registry
import Synchronization

/// The layer cache a CI fleet shares, kept in a registry repository (SPEC
/// §5.1): an entry is an artifact manifest tagged `kiln-<key hex>` whose
/// config is the ``LayerCacheEntry`` (the metadata and provenance a local
/// entry holds) and whose one layer is the cached blob.
///
/// It only ever saves work. A lookup happens after a local miss; a hit
/// downloads the blob (verified) and the entry into the local cache, where
/// the build then finds it. A registry that is down, slow (each operation
/// has ``timeout``), refuses, or serves an entry that does not check out is
/// a note and a local build, never a failed build; after the registry
/// failed once, the build stops asking it. Entries are uploaded after the
/// build succeeded, and are never replaced: two runners writing the same
/// key write the same bytes, and the first tag stays.
public final class SharedLayerCache: Sendable {
    /// Whether a build may upload entries.
    public enum Mode: String, Sendable, CaseIterable {
        /// Lookups only.
        case read
        /// Lookups, and uploads of the layers the build made.
        case readwrite
    }

    /// The artifact type and config media type of an entry.
    public static let artifactType = "application/vnd.kiln.layer-cache.v1+json"
    /// How long one lookup or upload may take before the registry counts
    /// as unusable for the build (`KILN_CACHE_REGISTRY_TIMEOUT`, seconds).
    public static let defaultTimeout: Duration = .seconds(20)

    /// The repository entries live in.
    public let repository: Repository
    let mode: Mode
    let timeout: Duration
    let client: RegistryClient
    let observer: any BuildObserver
    private let state = Mutex(State())

    private struct State {
        /// Set once the registry failed: later lookups and uploads are skipped.
        var unusable = false
        /// Entries this build made, to upload once it succeeded.
        var made: [LayerCacheEntry] = []
        /// Blobs known to be in the repository (fetched or uploaded).
        var present: Set<ContentDigest> = []
    }

    /// The tag of the entry for `key`.
    public static func tag(for key: ContentDigest) -> String { "kiln-" + key.hex.prefix(64) }

    /// A shared cache in the repository `reference` names (its tag, if
    /// any, is ignored).
    /// - Throws: ``RegistryError`` when the client cannot be made.
    public init(reference: RegistryReference, mode: Mode, options: RegistryOptions, timeout: Duration, observer: any BuildObserver) throws {
        repository = Repository(reference)
        self.mode = mode
        self.timeout = timeout
        // A cache is worth a quick answer, not patience: one retry, short waits.
        var options = options
        options.retry = RetryPolicy(attempts: 2, baseDelay: .milliseconds(200), maxDelay: .seconds(2))
        client = try RegistryClient(options: options)
        self.observer = observer
    }

    /// Ends the client.
    public func shutdown() async {
        await client.shutdown()
    }

    /// Layer blobs known to be in the repository: what a push to the same
    /// registry can mount instead of uploading.
    public var presentBlobs: Set<ContentDigest> { state.withLock { $0.present } }

    /// What a lookup found.
    enum Found: Sendable {
        /// The entry and its blob are in the local cache now.
        case fetched
        /// The entry, its blob left in the repository (a push to the same
        /// registry mounts it).
        case remote(LayerCacheEntry)
    }

    /// Looks `key` up; with a good entry, downloads its blob and the entry
    /// into `store`, or, with `leaveBlob`, only reads the entry.
    func lookup(_ key: ContentDigest, layer: String, compression: String, into store: LayerCache, leaveBlob: Bool) async -> Found? {
        guard !state.withLock({ $0.unusable }) else { return nil }
        do {
            return try await withDeadline("looking up layer \"\(layer)\"") { [self] in
                guard let manifestBytes = try await entryManifest(key) else { return nil }
                let manifest: ImageManifest
                do {
                    manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(manifestBytes))
                } catch {
                    throw Skip.entry("its manifest is not valid JSON")
                }
                guard manifest.artifactType == Self.artifactType || manifest.config.mediaType == Self.artifactType,
                      manifest.layers.count == 1, let blob = manifest.layers.first
                else { throw Skip.entry("its manifest is not a kiln layer-cache entry") }
                let configBytes = try await client.fetchBlobBytes(repository, descriptor: manifest.config, limit: 256 << 20)
                guard let entry = try? JSONDecoder().decode(LayerCacheEntry.self, from: Data(configBytes)) else {
                    throw Skip.entry("its config does not parse")
                }
                guard entry.key == key, entry.format == LayerFormat.version, entry.compression == compression,
                      entry.digest == blob.digest, entry.size == blob.size
                else { throw Skip.entry("its config describes another layer") }
                if leaveBlob {
                    // The tag names a manifest the registry accepted, so
                    // the blob is there; the push's mount confirms it.
                    _ = state.withLock { $0.present.insert(blob.digest) }
                    return .remote(entry)
                }
                let temporary = store.directory + "/layers/tmp/shared-\(getpid())-" + AtomicFile.randomSuffix()
                defer { unlink(temporary) }
                try await client.fetchBlob(repository, descriptor: blob, to: temporary, progress: nil)
                try store.store(entry, blobFile: temporary)
                _ = state.withLock { $0.present.insert(blob.digest) }
                return .fetched
            }
        } catch {
            // A bad entry costs only itself; a registry that fails costs
            // the rest of the build's lookups.
            if error is Skip || (error as? RegistryError)?.kind == .digestMismatch || error is CacheError {
                observer.note("cache registry \(repository): layer \"\(layer)\": entry \(Self.tag(for: key)) ignored: \(error)")
            } else {
                giveUp(error)
            }
            return nil
        }
    }

    /// Which of `keys` the repository holds an entry for, with the entry's
    /// blob size: what `kiln cache info` and `kiln diff` report. Asked in
    /// parallel.
    /// - Throws: the first registry failure other than a missing entry.
    public func entries(for keys: [ContentDigest]) async throws -> [ContentDigest: Int64] {
        try await withThrowingTaskGroup(of: (ContentDigest, Int64?).self) { group in
            for key in Set(keys) {
                group.addTask { [self] in
                    var bytes: [UInt8]?
                    do {
                        bytes = try await withDeadline("looking up \(Self.tag(for: key))") { try await self.entryManifest(key) }
                    } catch is Skip {
                        bytes = nil  // an entry a build would ignore
                    }
                    guard let bytes, let manifest = try? JSONDecoder().decode(ImageManifest.self, from: Data(bytes)), manifest.layers.count == 1
                    else { return (key, nil) }
                    return (key, manifest.layers[0].size)
                }
            }
            var found: [ContentDigest: Int64] = [:]
            for try await (key, size) in group {
                if let size { found[key] = size }
            }
            return found
        }
    }

    /// Records a layer this build made, to upload once it succeeded.
    func made(_ entry: LayerCacheEntry) {
        guard mode == .readwrite else { return }
        state.withLock { $0.made.append(entry) }
    }

    /// Uploads the entries of the layers the build made (their blobs from
    /// `store`); entries already in the repository stay as they are.
    /// - Returns: how many entries were uploaded.
    @discardableResult
    public func uploadMade(from store: LayerCache) async -> Int {
        let entries = state.withLock { $0.made }
        var uploaded = 0
        for entry in entries where !state.withLock({ $0.unusable }) {
            do {
                let done = try await withDeadline("uploading layer \"\(entry.layer)\"") { [self] in
                    try await upload(entry, blobFile: store.blobPath(entry.digest))
                }
                if done { uploaded += 1 }
            } catch {
                giveUp(error)
            }
        }
        return uploaded
    }

    /// Sends one entry: blob, config, then the tagged manifest. False when
    /// the tag was there already.
    private func upload(_ entry: LayerCacheEntry, blobFile: String) async throws -> Bool {
        let tag = Self.tag(for: entry.key)
        if try await client.manifestDescriptor(repository, reference: tag) != nil {
            _ = state.withLock { $0.present.insert(entry.digest) }
            return false
        }
        let blob = Descriptor(mediaType: MediaType.layer(Compression(rawValue: entry.compression) ?? .gzip), digest: entry.digest, size: entry.size)
        if try await !client.blobExists(repository, digest: blob.digest) {
            try await client.uploadBlob(repository, descriptor: blob, from: blobFile, progress: nil)
        }
        let configBytes = try CanonicalJSONEncoder().encode(entry)
        let config = Descriptor(mediaType: Self.artifactType, digest: BlobDigest.sha256(configBytes), size: Int64(configBytes.count))
        if try await !client.blobExists(repository, digest: config.digest) {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cache-config-\(getpid())-" + AtomicFile.randomSuffix()).path
            try Data(configBytes).write(to: URL(fileURLWithPath: file))
            defer { unlink(file) }
            try await client.uploadBlob(repository, descriptor: config, from: file, progress: nil)
        }
        let manifest = ImageManifest(
            mediaType: MediaType.imageManifest, artifactType: Self.artifactType, config: config, layers: [blob],
            annotations: ["org.opencontainers.image.title": "kiln layer \(entry.layer) (\(entry.strategy))"])
        _ = try await client.putManifest(repository, reference: tag, bytes: try CanonicalJSONEncoder().encode(manifest), mediaType: MediaType.imageManifest)
        _ = state.withLock { $0.present.insert(entry.digest) }
        return true
    }

    /// The entry's manifest bytes, or nil when the repository has none.
    private func entryManifest(_ key: ContentDigest) async throws -> [UInt8]? {
        let fetched: FetchedManifest
        do {
            fetched = try await client.fetchManifest(repository, reference: Self.tag(for: key))
        } catch {
            // (One catch and a switch: `catch … where` on a typed throw
            // crashes this compiler.)
            switch error.kind {
            case .notFound: return nil
            case .invalidResponse, .digestMismatch, .tooLarge, .unsupported: throw Skip.entry("\(error)")
            default: throw error
            }
        }
        return fetched.bytes
    }

    /// Marks the registry unusable for this build, with one note.
    private func giveUp(_ error: any Error) {
        let first = state.withLock { state in
            defer { state.unusable = true }
            return !state.unusable
        }
        if first {
            observer.note("cache registry \(repository) not used for the rest of this build: \(error); building locally")
        }
    }

    /// Runs `body`, or fails with a timeout naming `what` once ``timeout``
    /// has passed (the body is cancelled).
    private func withDeadline<Result: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> Result) async throws -> Result {
        let timeout = self.timeout
        return try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let result = first else {
                throw SharedCacheTimeout(what: what, timeout: timeout)
            }
            return result
        }
    }

    /// An entry that cannot be used (only that entry is skipped).
    private enum Skip: Error, CustomStringConvertible {
        case entry(String)
        var description: String {
            switch self { case .entry(let why): why }
        }
    }
}

/// A shared-cache operation that took longer than the cache's timeout.
struct SharedCacheTimeout: Error, CustomStringConvertible {
    var what: String
    var timeout: Duration
    var description: String { "\(what) took longer than \(timeout.components.seconds) s" }
}

extension SharedLayerCache {
    /// What the repository holds of `plan`'s layers: each layer's key (nil
    /// for a packages layer the lock does not pin: its key is known only
    /// once it is resolved) and the entry's blob size when there is one.
    /// - Throws: an input that cannot be read, a registry failure.
    public func holdings(of plan: ImageBuildPlan) async throws -> [(layer: String, key: ContentDigest?, size: Int64?)] {
        let locks = try PackageLocks.load(plan: plan, locked: false)
        let inputs = try InputDigester().digests(of: plan.hostInputs)
        let keys = try plan.layers.map { layer -> ContentDigest? in
            if case .packages = layer.strategy, locks[layer.name] == nil { return nil }
            return try LayerCacheKey(layer: layer, plan: plan, inputDigests: inputs, packages: locks[layer.name]?.packagesDigest).digest
        }
        let found = try await entries(for: keys.compactMap { $0 })
        return zip(plan.layers, keys).map { layer, key in (layer.name, key, key.flatMap { found[$0] }) }
    }
}
