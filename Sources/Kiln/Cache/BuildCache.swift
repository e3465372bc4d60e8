import Debian
import Foundation
import Layers
import OCI
import Plan

/// The layer cache as one build uses it: the plan's inputs digested once
/// (through the stat index), a key per layer, cached blobs linked into the
/// staging layout, fresh blobs stored after they are written.
///
/// The cache only ever saves work: when it cannot be opened, or an entry
/// is corrupt, or storing fails, the build says so in a note and goes on
/// building, with the same bytes.
final class BuildCache: Sendable {
    let store: LayerCache
    let plan: ImageBuildPlan
    let inputDigests: [String: String]
    let observer: any BuildObserver

    private init(store: LayerCache, plan: ImageBuildPlan, inputDigests: [String: String], observer: any BuildObserver) {
        self.store = store
        self.plan = plan
        self.inputDigests = inputDigests
        self.observer = observer
    }

    /// The cache for a build, or nil with `--no-cache` or when the cache
    /// cannot be used (noted through `observer`).
    static func open(plan: ImageBuildPlan, options: BuildOptions, observer: any BuildObserver) -> BuildCache? {
        guard options.useCache else { return nil }
        let store: LayerCache
        do {
            store = try LayerCache(directory: options.cacheDirectory, access: .shared)
        } catch {
            observer.note("layer cache not used: \(error)")
            return nil
        }
        let digester = InputDigester(statIndex: InputStatIndex(path: store.statIndexPath))
        let digests: [String: String]
        do {
            digests = try digester.digests(of: plan.hostInputs)
        } catch {
            // The layer reading the input fails with its own message.
            observer.note("layer cache not used: \(error)")
            return nil
        }
        do {
            try digester.saveStatIndex()
        } catch {
            observer.note("\(error) (inputs will be hashed again next time)")
        }
        return BuildCache(store: store, plan: plan, inputDigests: digests, observer: observer)
    }

    /// The layer's cache key, or nil for a layer that is not cached: a
    /// packages layer not pinned by the lock file (its packages are known
    /// only once its repositories are read).
    func key(for layer: LayerSpec, lock: LockedLayer?) -> Layers.Digest? {
        if case .packages = layer.strategy, lock == nil { return nil }
        return try? LayerCacheKey(layer: layer, plan: plan, inputDigests: inputDigests, packages: lock?.packagesDigest).digest
    }

    /// The cached layer for `key`, its blob linked (or copied) into
    /// `staging` and its digest verified; nil on a miss. A corrupt entry is
    /// dropped with a note, and the layer is built again.
    func reuse(_ layer: LayerSpec, key: Layers.Digest, into staging: LayoutStaging) -> (blob: LayerBlob, notes: [String])? {
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
        let digests = BlobDigests(diffID: entry.diffID, digest: entry.digest, size: entry.size, uncompressedSize: entry.uncompressedSize)
        return (LayerBlob(digests: digests, compression: plan.compression, entryCount: entry.entries), entry.notes)
    }

    /// Stores a freshly written layer; a failure is only noted.
    func store(_ layer: LayerSpec, key: Layers.Digest, blob: LayerBlob, notes: [String], stagedAt path: String) {
        let entry = LayerCacheEntry(
            key: key, format: LayerFormat.version, compression: plan.compression.rawValue, layer: layer.name,
            strategy: layer.strategy.typeName, digest: blob.digest, diffID: blob.diffID, size: blob.size,
            uncompressedSize: blob.uncompressedSize, entries: blob.entryCount, notes: notes)
        do {
            try store.store(entry, blobFile: path)
        } catch {
            observer.note("layer \"\(layer.name)\" not cached: \(error)")
        }
    }

    private func drop(_ layer: LayerSpec, key: Layers.Digest, blob: Layers.Digest?, reason: String) {
        store.drop(key, blob: blob)
        observer.note("layer \"\(layer.name)\": dropped a corrupt cache entry (\(reason)); building the layer again")
    }
}
