import Archive
import Debian
import KilnCore
import OCI
import Plan
import Strategies
import Foundation
import Synchronization

/// The layer cache as one build uses it: each layer's inputs digested when
/// the layer asks for its key (through the stat index), cached blobs linked
/// into the staging layout, fresh blobs stored after they are written.
///
/// The cache only ever saves work: when it cannot be opened, or an entry
/// is corrupt, or storing fails, the build says so in a note and goes on
/// building, with the same bytes.
final class BuildCache: Sendable {
    let store: LayerCache
    let plan: ImageBuildPlan
    let digester: InputDigester
    let observer: any BuildObserver
    /// The cache held no entry when the build began: no key can hit.
    let startedEmpty: Bool
    /// The fleet's cache in a registry (`--cache-registry`), asked after a
    /// local miss.
    let shared: SharedLayerCache?
    private let fetchedFromShared = Mutex(0)

    private init(store: LayerCache, plan: ImageBuildPlan, observer: any BuildObserver, pool: WorkerPool?, shared: SharedLayerCache?) {
        self.store = store
        self.plan = plan
        self.digester = InputDigester(statIndex: InputStatIndex(path: store.statIndexPath), pool: pool)
        self.observer = observer
        // With a shared cache a key can hit even in an empty local cache.
        self.startedEmpty = store.holdsNoEntries && shared == nil
        self.shared = shared
    }

    /// The cache for a build, or nil with `--no-cache` or when the cache
    /// cannot be used (noted through `observer`).
    /// - Parameter pool: the build's pool, where keys are computed and
    ///   inputs hashed; nil starts one on first need (see ``InputDigester``).
    static func open(
        plan: ImageBuildPlan, options: BuildOptions, observer: any BuildObserver, pool: WorkerPool? = nil, shared: SharedLayerCache? = nil
    ) -> BuildCache? {
        guard options.useCache else { return nil }
        let store: LayerCache
        do {
            store = try LayerCache(directory: options.cacheDirectory, access: .shared)
        } catch {
            observer.note("layer cache not used: \(error)")
            return nil
        }
        return BuildCache(store: store, plan: plan, observer: observer, pool: pool, shared: shared)
    }

    /// Writes back the stat index once the layers are done (whether or not
    /// the build succeeded: what was hashed stays hashed).
    func finish() {
        do {
            try digester.saveStatIndex()
        } catch {
            observer.note("\(error) (inputs will be hashed again next time)")
        }
    }

    /// Whether the layer should be built while its key is computed rather
    /// than after: a `files` layer (no command, nothing but reads) with
    /// host inputs, in a cache that held no entry when the build began, so
    /// the key cannot hit (unless another kiln stores it meanwhile: then
    /// the build is cancelled and the cached layer used, same bytes).
    /// Building meanwhile hides the pass that hashes every input. With any
    /// entry in the cache the key comes first: guessing wrong there would
    /// spend a build's CPU on every fresh-checkout rebuild.
    func buildsWhileHashing(_ layer: LayerSpec) -> Bool {
        guard startedEmpty, case .files = layer.strategy else { return false }
        return !layer.hostInputs.isEmpty
    }

    /// The layer's cache key, or nil for a layer that is not cached: a
    /// packages layer not pinned by the lock file (its packages are known
    /// only once its repositories are read), or one whose inputs cannot be
    /// read (said in a note; the layer's own build then says more). Blocks
    /// while the layer's inputs are hashed.
    /// - Parameter target: the plan as it builds the layer's platform.
    func key(for layer: LayerSpec, lock: LockedLayer?, plan target: ImageBuildPlan) -> ContentDigest? {
        if case .packages = layer.strategy, lock == nil { return nil }
        do {
            let digests = try digester.digests(of: layer.hostInputs)
            return try LayerCacheKey(layer: layer, plan: target, inputDigests: digests, packages: lock?.packagesDigest).digest
        } catch {
            observer.note("layer \"\(layer.name)\" not cached: \(error)")
            return nil
        }
    }

    /// ``key(for:lock:plan:)`` as a job of the build's pool, so hashing never
    /// holds a Swift concurrency thread; the job hashes files itself while
    /// it waits for the pool's other threads (see ``WorkerPool``).
    func key(for layer: LayerSpec, lock: LockedLayer?, plan target: ImageBuildPlan) async -> ContentDigest? {
        await digester.pool.run { self.key(for: layer, lock: lock, plan: target) }
    }

    /// The cached layer for `key`, its blob linked (or copied) into
    /// `staging` and its digest verified; nil on a miss. A corrupt entry is
    /// dropped with a note, and the layer is built again.
    /// - Parameter leaveRemote: a shared-cache hit may leave its blob in
    ///   the registry (declared remote in `staging`): the build only
    ///   pushes, to the shared cache's registry, and nothing reads the
    ///   layer's bytes.
    func reuse(_ layer: LayerSpec, key: ContentDigest, into staging: LayoutStaging, leaveRemote: Bool = false) async -> (blob: LayerBlob, notes: [String], provenance: Provenance)? {
        if case .miss = store.lookup(key, compression: plan.compression.rawValue), let shared {
            switch await shared.lookup(key, layer: layer.name, compression: plan.compression.rawValue, into: store, leaveBlob: leaveRemote) {
            case .fetched?:
                fetchedFromShared.withLock { $0 += 1 }
            case .remote(let entry)?:
                fetchedFromShared.withLock { $0 += 1 }
                staging.declareRemote(entry.digest)
                return (Self.blob(of: entry, compression: plan.compression), entry.notes, entry.provenance)
            case nil:
                break
            }
        }
        return reuseLocal(layer, key: key, into: staging)
    }

    private static func blob(of entry: LayerCacheEntry, compression: Compression) -> LayerBlob {
        let digests = BlobDigests(diffID: entry.diffID, digest: entry.digest, size: entry.size, uncompressedSize: entry.uncompressedSize)
        return LayerBlob(digests: digests, compression: compression, entryCount: entry.entries, elfFiles: entry.elfFiles)
    }

    /// Layers fetched from the shared cache so far.
    var sharedHits: Int { fetchedFromShared.withLock { $0 } }

    private func reuseLocal(_ layer: LayerSpec, key: ContentDigest, into staging: LayoutStaging) -> (blob: LayerBlob, notes: [String], provenance: Provenance)? {
        let entry: LayerCacheEntry
        switch store.lookup(key, compression: plan.compression.rawValue) {
        case .miss:
            return nil
        case .corrupt(let reason):
            drop(layer, key: key, blob: nil, reason: reason)
            return nil
        case .hit(let found):
            entry = found
        }
        do {
            let descriptor = Descriptor(mediaType: MediaType.layer(plan.compression), digest: entry.digest, size: entry.size)
            try staging.importBlob(from: store.blobPath(entry.digest), descriptor: descriptor)
        } catch {
            drop(layer, key: key, blob: entry.digest, reason: "\(error)")
            return nil
        }
        store.markUsed(key)
        return (Self.blob(of: entry, compression: plan.compression), entry.notes, entry.provenance)
    }

    /// Stores a freshly written layer; a failure is only noted.
    func store(_ layer: LayerSpec, key: ContentDigest, blob: LayerBlob, notes: [String], provenance: Provenance, stagedAt path: String) {
        let entry = LayerCacheEntry(
            key: key, format: LayerFormat.version, compression: plan.compression.rawValue, layer: layer.name,
            strategy: layer.strategy.typeName, digest: blob.digest, diffID: blob.diffID, size: blob.size,
            uncompressedSize: blob.uncompressedSize, entries: blob.entryCount, notes: notes, provenance: provenance,
            elfFiles: blob.elfFiles)
        do {
            try store.store(entry, blobFile: path)
            shared?.made(entry)
        } catch {
            observer.note("layer \"\(layer.name)\" not cached: \(error)")
        }
    }

    private func drop(_ layer: LayerSpec, key: ContentDigest, blob: ContentDigest?, reason: String) {
        store.drop(key, blob: blob)
        observer.note("layer \"\(layer.name)\": dropped a corrupt cache entry (\(reason)); building the layer again")
    }
}
