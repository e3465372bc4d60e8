import Foundation
import Glibc
import Archive
import Debian
import KilnCore
import OCI
public import Plan
import Registry
import Strategies

/// Compiles an ``ImageBuildPlan`` into an OCI image layout.
///
/// Layers are built concurrently (at most `jobs` at once, each streamed in
/// one pass into the staging layout beside the output), base layers are
/// reused as they are, and the layout replaces the output only once every
/// step has succeeded: a failed build leaves the previous output as it was.
public struct ImageBuilder: Sendable {
    /// The validated, normalized plan to build.
    public let plan: ImageBuildPlan
    /// Output paths, jobs, cache and lock settings from the command line.
    public let options: BuildOptions
    /// Receives progress, per-layer results and notes, from any thread.
    public let observer: any BuildObserver
    /// Where `system` package sources are read from (tests point it elsewhere).
    public var aptRoot = "/"

    /// A builder for `plan`; nothing is read or written until ``build()``.
    public init(plan: ImageBuildPlan, options: BuildOptions, observer: any BuildObserver) {
        self.plan = plan
        self.options = options
        self.observer = observer
    }

    /// Builds the image and publishes the layout (and the archive).
    /// - Throws: ``ImageBuildError`` naming the layer or step that failed.
    public func build() async throws -> BuildReport {
        let clock = ContinuousClock()
        let started = clock.now
        let scratch = try ScratchDirectory(prefix: "kiln-build")
        defer { if !options.keepScratch { scratch.remove() } }

        let layoutPath = options.output ?? scratch.path + "/layout"
        // `-o out/app` creates `out/` as `mkdir -p` would; a failed build
        // removes what it created, so nothing is left behind.
        let createdParents = try OutputParents.create(for: [layoutPath] + (options.tarOutput.map { [$0] } ?? []))
        var published = false
        defer { if !published { createdParents.removeIfEmpty() } }
        let staging: LayoutStaging
        do {
            staging = try LayoutStaging(output: layoutPath)
        } catch {
            throw ImageBuildError.output(error)
        }

        var loaded = try await BaseImageLoader.load(plan: plan, options: options, observer: observer, scratch: scratch.path)
        if loaded.registry != nil, let damaged = Self.unimportable(loaded.base, into: staging) {
            // A registry blob in the cache that no longer matches its digest
            // is dropped and fetched again, never used.
            observer.note("cached base blob \(damaged.descriptor.digest) does not match its digest; fetching it again")
            unlink(damaged.path)
            loaded = try await BaseImageLoader.load(plan: plan, options: options, observer: observer, scratch: scratch.path)
        }
        let base = loaded.base
        var reports: [LayerReport] = []
        if let base {
            for layer in base.image.layers {
                do {
                    try staging.importBlob(from: layer.path, descriptor: layer.descriptor)
                } catch {
                    throw ImageBuildError.base(base.naming(error, of: layer))
                }
                let report = LayerReport(
                    name: "base", strategy: "base", entries: 0, uncompressedSize: 0, compressedSize: layer.descriptor.size,
                    diffID: layer.diffID, digest: layer.descriptor.digest, seconds: 0, cached: true, notes: [])
                observer.baseLayerReused(report)
                reports.append(report)
            }
        }

        let locks = try PackageLocks.load(plan: plan, locked: options.locked)
        if !locks.unpinned.isEmpty {
            let names = locks.unpinned.map { "\"\($0)\"" }.joined(separator: ", ")
            observer.note("packages layer\(locks.unpinned.count == 1 ? "" : "s") \(names) not pinned by \(locks.path): resolving from the repositories (kiln lock pins them)")
        }
        // One pool of `--jobs` threads for the build's blocking work
        // (compression, hashing, blob writes); ended once the layers are.
        let pool = WorkerPool(threads: max(1, options.jobs))
        defer { pool.shutdown() }
        let shared = openSharedCache()
        let cache = BuildCache.open(plan: plan, options: options, observer: observer, pool: pool, shared: shared)
        defer { cache?.finish() }
        let built: [BuiltLayer]
        do {
            built = try await buildLayers(into: staging, scratch: scratch.path, locks: locks, cache: cache, pool: pool)
            try LowerLayerCheck.check(plan: plan, base: base?.image.layers ?? [], built: built.map { layer in
                LayoutLayer(
                    descriptor: layer.descriptor, diffID: layer.report.diffID, path: staging.blobPath(layer.descriptor.digest),
                    compression: MediaType.layerCompression(layer.descriptor.mediaType) ?? .none)
            })
        } catch {
            await shared?.shutdown()
            throw error
        }
        reports += built.map(\.report)

        // An image on a registry base names it (OCI's pre-defined
        // annotations): `kiln push` mounts the base's blobs from there.
        var annotations = plan.annotations
        if let pin = loaded.registry?.pin {
            annotations[ImagePusher.baseNameAnnotation] = annotations[ImagePusher.baseNameAnnotation] ?? pin.reference
            annotations[ImagePusher.baseDigestAnnotation] = annotations[ImagePusher.baseDigestAnnotation] ?? pin.manifest.description
        }
        let config = ImageConfigComposer.compose(plan: plan, base: base?.image.config, layers: built.map(\.history), diffIDs: reports.map(\.diffID))
        let baseDescriptors = (base?.image.layers ?? []).map { layer in
            var descriptor = layer.descriptor
            descriptor.mediaType = MediaType.ociLayer(descriptor.mediaType)
            return descriptor
        }
        let descriptors = baseDescriptors + built.map(\.descriptor)
        let written: WrittenImage
        do {
            written = try staging.writeImage(LayoutImageSpec(
                name: plan.name, tag: plan.tag, platform: plan.platform, config: config,
                layers: descriptors, annotations: annotations))
        } catch {
            await shared?.shutdown()
            throw ImageBuildError.output(error)
        }
        // The SBOM describes the image just written (once per image).
        let sbom: SBOMReport?
        do {
            sbom = try await attachSBOM(
                manifest: written.manifest, platform: plan.platform, base: base, built: built, staging: staging, locks: locks, pool: pool)
        } catch {
            await shared?.shutdown()
            throw error
        }
        do {
            // The archive is written first but renamed into place only after
            // the layout is, so a failure anywhere leaves both as they were.
            let archive = try options.tarOutput.map { tar throws(LayoutError) in
                try LayoutArchive.write(directory: staging.directory, to: tar, modificationTime: plan.created)
            }
            try staging.publish()
            try archive?.commit()
            published = true
        } catch {
            await shared?.shutdown()
            throw ImageBuildError.output(error)
        }
        var report = BuildReport(
            image: plan.name + ":" + plan.tag, manifestDigest: written.manifest.digest, configDigest: written.config.digest,
            layers: reports, output: options.output.map { _ in staging.output },
            tarOutput: options.tarOutput.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 },
            seconds: started.duration(to: clock.now).seconds)
        report.sbom = sbom
        if let shared, let cache {
            // Entries go up only once the build succeeded.
            let uploaded = await shared.uploadMade(from: cache.store)
            await shared.shutdown()
            report.sharedCache = SharedCacheReport(
                repository: shared.repository.description, fetched: cache.sharedHits, uploaded: uploaded,
                blobs: shared.presentBlobs.sorted())
            observer.note("cache registry \(shared.repository): \(cache.sharedHits) layer\(cache.sharedHits == 1 ? "" : "s") fetched, \(uploaded) entr\(uploaded == 1 ? "y" : "ies") uploaded")
        }
        return report
    }

    /// Whether a shared-cache hit for layer `index` may leave its blob in
    /// the registry: the build only pushes there, and no later check reads
    /// the layer (``LowerLayerCheck`` reads the layers below the last files
    /// layer it checks).
    private func mayStayRemote(_ index: Int) -> Bool {
        // The SBOM reads every layer.
        guard options.sharedBlobsMayStayRemote, plan.sbom == nil else { return false }
        let hasBase = plan.base != .scratch
        return index >= (LowerLayerCheck.checkedLayers(plan: plan, hasBase: hasBase).last ?? 0)
    }

    /// The shared layer cache the options name, or nil (without one, with
    /// `--no-cache`, or when its client cannot be made: noted).
    private func openSharedCache() -> SharedLayerCache? {
        guard options.useCache, let reference = options.cacheRegistry else { return nil }
        do {
            return try SharedLayerCache(
                reference: reference, mode: options.cacheRegistryMode, options: options.registry,
                timeout: options.cacheRegistryTimeout, observer: observer)
        } catch {
            observer.note("cache registry \(reference.name) not used: \(error)")
            return nil
        }
    }

    /// The first base layer whose blob cannot be imported because it does
    /// not match its descriptor, or nil; the others are imported meanwhile.
    private static func unimportable(_ base: LoadedBase?, into staging: LayoutStaging) -> LayoutLayer? {
        for layer in base?.image.layers ?? [] {
            do {
                try staging.importBlob(from: layer.path, descriptor: layer.descriptor)
            } catch .digestMismatch, .sizeMismatch {
                return layer
            } catch {
                return nil
            }
        }
        return nil
    }

    /// A plan layer, built.
    struct BuiltLayer: Sendable {
        var report: LayerReport
        var descriptor: Descriptor
        var history: History
    }

    /// Builds every plan layer, at most `jobs` at once; the first failure
    /// cancels the others. Results come back in plan order.
    private func buildLayers(
        into staging: LayoutStaging, scratch: String, locks: PackageLocks, cache: BuildCache?, pool: WorkerPool
    ) async throws -> [BuiltLayer] {
        let workers = LayerWorkers(pool: pool)
        let writer = LayerWriter(compression: plan.compression, modificationTime: plan.created, workers: workers)
        // The cache's digester has the inputs' digests from the keys; without
        // a cache, one on the build's pool digests what provenance names.
        let digester = cache?.digester ?? InputDigester(pool: pool)
        let layers = Array(plan.layers.enumerated())
        return try await withThrowingTaskGroup(of: (Int, BuiltLayer).self) { group in
            var results: [BuiltLayer?] = Array(repeating: nil, count: layers.count)
            var next = 0
            func startNext() {
                guard next < layers.count else { return }
                let (index, layer) = layers[next]
                next += 1
                group.addTask {
                    try Task.checkCancellation()
                    return (index, try await buildLayer(
                        index, layer, writer: writer, staging: staging, scratch: scratch, lock: locks[layer.name], cache: cache, digester: digester))
                }
            }
            for _ in 0..<min(max(1, options.jobs), layers.count) { startNext() }
            do {
                while let (index, built) = try await group.next() {
                    results[index] = built
                    startNext()
                }
            } catch {
                group.cancelAll()
                throw error
            }
            return results.map { $0! }
        }
    }

    /// Reuses the layer from the cache when its key is there, else builds
    /// it (and stores it in the cache).
    private func buildLayer(
        _ index: Int, _ layer: LayerSpec, writer: LayerWriter, staging: LayoutStaging, scratch: String, lock: LockedLayer?, cache: BuildCache?,
        digester: InputDigester
    ) async throws -> BuiltLayer {
        let clock = ContinuousClock()
        let started = clock.now
        observer.layerStarted(index, layer: layer)
        let made: (blob: LayerBlob, notes: [String], provenance: Provenance, cached: Bool)
        if let cache, cache.buildsWhileHashing(layer) {
            made = try await buildWhileHashing(index, layer, writer: writer, staging: staging, scratch: scratch, lock: lock, cache: cache)
        } else {
            let key = await cache?.key(for: layer, lock: lock)
            if let cache, let key, let hit = await cache.reuse(layer, key: key, into: staging, leaveRemote: mayStayRemote(index)) {
                made = (hit.blob, hit.notes, hit.provenance, true)
            } else {
                let (blob, notes, provenance) = try await writeLayer(
                    index, layer, writer: writer, staging: staging, scratch: scratch, lock: lock, digester: digester)
                if let cache, let key {
                    cache.store(layer, key: key, blob: blob, notes: notes, provenance: provenance, stagedAt: staging.blobPath(blob.digest))
                }
                made = (blob, notes, provenance, false)
            }
        }
        let report = LayerReport(
            name: layer.name, strategy: layer.strategy.typeName, entries: made.blob.entryCount,
            uncompressedSize: made.blob.uncompressedSize, compressedSize: made.blob.size, diffID: made.blob.diffID, digest: made.blob.digest,
            seconds: started.duration(to: clock.now).seconds, cached: made.cached, notes: made.notes, provenance: made.provenance)
        observer.layerFinished(index, report: report)
        return BuiltLayer(
            report: report,
            descriptor: Descriptor(mediaType: MediaType.layer(plan.compression), digest: made.blob.digest, size: made.blob.size),
            history: History(created: plan.created.rfc3339, createdBy: "kiln \(layer.strategy.typeName) \(layer.name)"))
    }

    /// Builds the layer while its inputs are hashed for its key (see
    /// ``BuildCache/buildsWhileHashing(_:)``). On a hit the build is
    /// cancelled — leaving the scope cancels and awaits it — and the cached
    /// blob used; a build that finished first staged the same bytes.
    private func buildWhileHashing(
        _ index: Int, _ layer: LayerSpec, writer: LayerWriter, staging: LayoutStaging, scratch: String, lock: LockedLayer?, cache: BuildCache
    ) async throws -> (blob: LayerBlob, notes: [String], provenance: Provenance, cached: Bool) {
        async let built = writeLayer(index, layer, writer: writer, staging: staging, scratch: scratch, lock: lock, digester: cache.digester)
        let key = await cache.key(for: layer, lock: lock)
        if let key, let hit = await cache.reuse(layer, key: key, into: staging) {
            return (hit.blob, hit.notes, hit.provenance, true)
        }
        let (blob, notes, provenance) = try await built
        if let key { cache.store(layer, key: key, blob: blob, notes: notes, provenance: provenance, stagedAt: staging.blobPath(blob.digest)) }
        return (blob, notes, provenance, false)
    }

    /// Runs the layer's strategy and writes its blob into the staging layout.
    /// - Parameter digester: the cache's, which already digested the
    ///   layer's inputs for its key, or one on the build's pool.
    private func writeLayer(
        _ index: Int, _ layer: LayerSpec, writer: LayerWriter, staging: LayoutStaging, scratch: String, lock: LockedLayer?,
        digester: InputDigester
    ) async throws -> (LayerBlob, [String], Provenance) {
        let observer = self.observer
        let layerScratch = scratch + "/layer-\(index)-" + layer.name
        // Hashing blocks: on the pool, not on a Swift concurrency thread.
        let inputDigests = await writer.workers.pool.run { ProvenanceInputs.digests(of: layer, digester: digester) }
        let context = StrategyContext(
            plan: plan, layer: layer, scratchRoot: layerScratch, cacheDirectory: options.cacheDirectory,
            keepScratch: options.keepScratch, inputDigests: inputDigests,
            log: { line in observer.layerOutput(index, layer: layer, line: line) })
        do {
            try FileManager.default.createDirectory(atPath: layerScratch, withIntermediateDirectories: true)
            let prepared = try await LayerPreparer(aptRoot: aptRoot, jobs: options.jobs).prepare(layer, context: context, lock: lock)
            defer {
                if !options.keepScratch {
                    for directory in prepared.temporaryDirectories { TreeRemoval.remove(directory) }
                }
            }
            let blobPath = staging.temporaryBlobPath()
            let blob = try await writer.write(prepared.tree, to: blobPath) { bytes in observer.layerProgress(index, bytes: bytes) }
            try staging.commitBlob(at: blobPath, digest: blob.digest)
            return (blob, prepared.notes, prepared.provenance)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as ImageBuildError {
            throw error
        } catch {
            throw ImageBuildError.layer(name: layer.name, error)
        }
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
