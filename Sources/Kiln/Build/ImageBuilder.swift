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

    /// Builds the image — or, for a `platforms:` plan, one image per
    /// platform and an image index over them (SPEC §1.5) — and publishes
    /// the layout (and the archive).
    /// - Throws: ``ImageBuildError`` naming the layer or step that failed.
    public func build() async throws -> BuildReport {
        let clock = ContinuousClock()
        let started = clock.now
        var warnings = try BuildWarnings.report(plan.warnings, strict: options.strict, observer: observer)
        let cacheHold = LayerCache.holdShared(options.cacheDirectory)
        defer { withExtendedLifetime(cacheHold) {} }
        let scratch = try ScratchDirectory(prefix: "kiln-build")
        defer { if !options.keepScratch { scratch.remove() } }
        let targets = try targetPlans()

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

        var platforms: [PlatformBuild] = []
        var reports: [LayerReport] = []
        for (ordinal, target) in targets.enumerated() {
            let prepared = try await scoped(target) {
                try await prepare(target, staging: staging, scratch: scratch.path + "/base-\(ordinal)")
            }
            reports += prepared.baseReports
            platforms.append(prepared)
        }
        // One pool of `--jobs` threads for the build's blocking work
        // (compression, hashing, blob writes); ended once the layers are.
        let pool = WorkerPool(threads: max(1, options.jobs))
        defer { pool.shutdown() }
        let shared = openSharedCache()
        let cache = BuildCache.open(plan: plan, options: options, observer: observer, pool: pool, shared: shared)
        defer { cache?.finish() }
        let jobs = LayerJob.jobs(plan: plan, platforms: targets.count)
        var images: [WrittenImage] = []
        do {
            let built = try await buildLayers(jobs, platforms: platforms, into: staging, scratch: scratch.path, cache: cache, pool: pool)
            reports += built.map(\.report)
            let slots = Dictionary(uniqueKeysWithValues: jobs.enumerated().map { ($0.element, $0.offset) })
            for ordinal in platforms.indices {
                platforms[ordinal].built = plan.layers.indices.map { index in
                    built[slots[LayerJob(layer: index)] ?? slots[LayerJob(layer: index, platform: ordinal)]!]
                }
                let platform = platforms[ordinal]
                images.append(try await scoped(platform.plan) { try write(platform, layers: platform.built, into: staging) })
            }
            warnings += try BuildWarnings.report(try platforms.flatMap { try imageWarnings($0, staging: staging) }, strict: options.strict, observer: observer)
        } catch {
            await shared?.shutdown()
            throw error
        }

        let tagged: Descriptor
        do {
            if images.count == 1 && !(plan.isMultiPlatform && options.platform == nil) {
                tagged = images[0].manifest
            } else {
                tagged = try staging.writeImageIndex(images.map(\.manifest), annotations: plan.annotations)
            }
            // Docker's manifest.json can list one image per tag: the
            // host's, else the first platform's.
            let docker = images.first { $0.manifest.platform.map { $0.satisfies(Platform.host) } ?? false } ?? images[0]
            _ = try staging.writeTag(tagged, name: plan.name, tag: plan.tag, annotations: plan.annotations, docker: docker)
        } catch {
            await shared?.shutdown()
            throw ImageBuildError.output(error)
        }
        // The SBOM describes each image just written; its artifact joins
        // index.json beside the tagged entry.
        var sboms: [SBOMReport?] = []
        do {
            for (platform, image) in zip(platforms, images) {
                sboms.append(try await attachSBOM(
                    manifest: image.manifest, platform: platform.plan.platform, base: platform.loaded.base,
                    built: platform.built, staging: staging, locks: platform.locks, pool: pool))
            }
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
            image: plan.name + ":" + plan.tag, manifestDigest: tagged.digest,
            configDigest: tagged.mediaType == MediaType.imageIndex ? nil : images[0].config.digest,
            layers: reports, output: options.output.map { _ in staging.output },
            tarOutput: options.tarOutput.map { $0.hasPrefix("/") ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 },
            seconds: started.duration(to: clock.now).seconds)
        report.warnings = warnings
        if tagged.mediaType == MediaType.imageIndex {
            report.platforms = zip(platforms, zip(images, sboms)).map { platform, written in
                PlatformImageReport(
                    platform: platform.plan.platform.description, manifestDigest: written.0.manifest.digest,
                    configDigest: written.0.config.digest, sbom: written.1)
            }
        } else {
            report.sbom = sboms[0]
        }
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

    /// The plan of each image the build makes: the plan itself, or for a
    /// `platforms:` plan one per platform (only `--platform`'s when given).
    private func targetPlans() throws -> [ImageBuildPlan] {
        guard let wanted = options.platform else { return plan.targetPlatforms.map(plan.forPlatform) }
        guard let chosen = plan.targetPlatforms.first(where: { $0 == wanted })
                ?? plan.targetPlatforms.first(where: { $0.satisfies(wanted) }) else {
            throw ImageBuildError.platform(requested: wanted.description, planned: plan.targetPlatforms.map(\.description))
        }
        return [plan.forPlatform(chosen)]
    }

    /// Runs `body` for `target`; in a `platforms:` build an error names
    /// the platform it happened for.
    private func scoped<T>(_ target: ImageBuildPlan, _ body: () async throws -> T) async throws -> T {
        guard plan.isMultiPlatform else { return try await body() }
        do {
            return try await body()
        } catch let error as ImageBuildError {
            throw ImageBuildError.forPlatform(target.platform.description, error)
        }
    }

    /// What one platform's image starts from: its base (loaded, blobs
    /// imported into the staging layout) and its packages locks.
    struct PlatformBuild: Sendable {
        var plan: ImageBuildPlan
        var loaded: BaseImageLoader.Loaded
        var locks: PackageLocks
        var baseReports: [LayerReport]
        /// Its plan layers once built, in plan order (shared ones included).
        var built: [BuiltLayer] = []
    }

    private func prepare(_ target: ImageBuildPlan, staging: LayoutStaging, scratch: String) async throws -> PlatformBuild {
        var loaded = try await BaseImageLoader.load(plan: target, options: options, observer: observer, scratch: scratch)
        if loaded.registry != nil, let damaged = Self.unimportable(loaded.base, into: staging) {
            // A registry blob in the cache that no longer matches its digest
            // is dropped and fetched again, never used.
            observer.note("cached base blob \(damaged.descriptor.digest) does not match its digest; fetching it again")
            unlink(damaged.path)
            loaded = try await BaseImageLoader.load(plan: target, options: options, observer: observer, scratch: scratch)
        }
        var reports: [LayerReport] = []
        if let base = loaded.base {
            for layer in base.image.layers {
                do {
                    try staging.importBlob(from: layer.path, descriptor: layer.descriptor)
                } catch {
                    throw ImageBuildError.base(base.naming(error, of: layer))
                }
                var report = LayerReport(
                    name: "base", strategy: "base", entries: 0, uncompressedSize: 0, compressedSize: layer.descriptor.size,
                    diffID: layer.diffID, digest: layer.descriptor.digest, seconds: 0, cached: true, notes: [])
                report.platform = plan.isMultiPlatform ? target.platform.description : nil
                observer.baseLayerReused(report)
                reports.append(report)
            }
        }
        let locks = try PackageLocks.load(plan: target, locked: options.locked)
        for note in locks.notes(platform: plan.isMultiPlatform ? " for \(target.platform)" : "") { observer.note(note) }
        return PlatformBuild(plan: target, loaded: loaded, locks: locks, baseReports: reports)
    }

    /// Checks one platform's layers against its base and writes its config
    /// and manifest into the staging layout.
    private func write(_ platform: PlatformBuild, layers built: [BuiltLayer], into staging: LayoutStaging) throws -> WrittenImage {
        let target = platform.plan
        let base = platform.loaded.base
        try ArchitectureCheck.check(zip(target.layers, built.map(\.elfFiles)).map { (spec: $0, elfFiles: $1) }, platform: target.platform)
        try LowerLayerCheck.check(
            plan: target, base: base?.image.layers ?? [],
            built: built.map { layer in
                LayoutLayer(
                    descriptor: layer.descriptor, diffID: layer.report.diffID, path: staging.blobPath(layer.descriptor.digest),
                    compression: MediaType.layerCompression(layer.descriptor.mediaType) ?? .none)
            },
            withoutSymlinks: Set(built.indices.filter { built[$0].holdsSymlinks == false }))
        // An image on a registry base names it (OCI's pre-defined
        // annotations): `kiln push` mounts the base's blobs from there.
        var annotations = plan.annotations
        if let pin = platform.loaded.registry?.pin {
            annotations[ImagePusher.baseNameAnnotation] = annotations[ImagePusher.baseNameAnnotation] ?? pin.reference
            annotations[ImagePusher.baseDigestAnnotation] = annotations[ImagePusher.baseDigestAnnotation] ?? pin.manifest.description
        }
        let diffIDs = platform.baseReports.map(\.diffID) + built.map(\.report.diffID)
        let config = ImageConfigComposer.compose(plan: target, base: base?.image.config, layers: built.map(\.history), diffIDs: diffIDs)
        let baseDescriptors = (base?.image.layers ?? []).map { layer in
            var descriptor = layer.descriptor
            descriptor.mediaType = MediaType.ociLayer(descriptor.mediaType)
            return descriptor
        }
        do {
            return try staging.writeManifest(LayoutImageSpec(
                name: plan.name, tag: plan.tag, platform: target.platform, config: config,
                layers: baseDescriptors + built.map(\.descriptor), annotations: annotations))
        } catch {
            throw ImageBuildError.output(error)
        }
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
        /// The layer's ELF files, for ``ArchitectureCheck``.
        var elfFiles: ELFFiles
        /// Whether the layer holds a symlink (nil: not known), for
        /// ``LowerLayerCheck``.
        var holdsSymlinks: Bool?
    }

    /// Builds every layer job, at most `jobs` at once across platforms; the
    /// first failure cancels the others. Results come back in job order.
    private func buildLayers(
        _ jobs: [LayerJob], platforms: [PlatformBuild], into staging: LayoutStaging, scratch: String, cache: BuildCache?, pool: WorkerPool
    ) async throws -> [BuiltLayer] {
        let workers = LayerWorkers(pool: pool)
        let writer = LayerWriter(compression: plan.compression, gzip: plan.gzip, modificationTime: plan.created, workers: workers)
        // The cache's digester has the inputs' digests from the keys; without
        // a cache, one on the build's pool digests what provenance names.
        let digester = cache?.digester ?? InputDigester(pool: pool)
        return try await withThrowingTaskGroup(of: (Int, BuiltLayer).self) { group in
            var results: [BuiltLayer?] = Array(repeating: nil, count: jobs.count)
            var next = 0
            func startNext() {
                guard next < jobs.count else { return }
                let slot = next
                let job = jobs[slot]
                let platform = platforms[job.platform ?? 0]
                let layer = plan.layers[job.layer]
                next += 1
                let where_ = LayerSlot(index: slot, layer: job.layer, platform: job.platform == nil ? nil : platform.plan.platform)
                group.addTask {
                    try Task.checkCancellation()
                    func build() async throws -> BuiltLayer {
                        try await buildLayer(
                            where_, layer, target: platform.plan, writer: writer, staging: staging, scratch: scratch,
                            lock: platform.locks[layer.name], cache: cache, digester: digester)
                    }
                    // A layer every platform shares fails for all of them.
                    return (slot, job.platform == nil ? try await build() : try await scoped(platform.plan, build))
                }
            }
            for _ in 0..<min(max(1, options.jobs), jobs.count) { startNext() }
            do {
                while let (slot, built) = try await group.next() {
                    results[slot] = built
                    startNext()
                }
            } catch {
                group.cancelAll()
                throw error
            }
            return results.map { $0! }
        }
    }

    /// Where a layer job sits: its slot (the index the observer sees: jobs
    /// in plan order, a per-platform layer once per platform), its plan
    /// layer, and in a `platforms:` build the platform of a per-platform layer.
    struct LayerSlot: Sendable {
        var index: Int
        var layer: Int
        var platform: Platform?

        /// The layer as the observer shows it: `app@arm64` for a
        /// per-platform layer of a `platforms:` build (as
        /// ``LayerReport/displayName``).
        func shown(_ layer: LayerSpec) -> LayerSpec {
            guard let platform else { return layer }
            var shown = layer
            shown.name = layer.name + "@" + LayerReport.shortPlatform(platform.description)
            return shown
        }
    }

    /// Reuses the layer from the cache when its key is there, else builds
    /// it (and stores it in the cache).
    private func buildLayer(
        _ slot: LayerSlot, _ layer: LayerSpec, target: ImageBuildPlan, writer: LayerWriter, staging: LayoutStaging, scratch: String,
        lock: LockedLayer?, cache: BuildCache?, digester: InputDigester
    ) async throws -> BuiltLayer {
        let clock = ContinuousClock()
        let started = clock.now
        observer.layerStarted(slot.index, layer: slot.shown(layer))
        let lock = try await resolvedFirst(slot, layer, target: target, scratch: scratch, lock: lock, cache: cache)
        let made: (blob: LayerBlob, notes: [String], provenance: Provenance, cached: Bool)
        if let cache, cache.buildsWhileHashing(layer) {
            made = try await buildWhileHashing(slot, layer, target: target, writer: writer, staging: staging, scratch: scratch, lock: lock, cache: cache)
        } else {
            let key = await cache?.key(for: layer, lock: lock, plan: target)
            if let cache, let key, let hit = await cache.reuse(layer, key: key, into: staging, leaveRemote: mayStayRemote(slot.layer)) {
                made = (hit.blob, hit.notes, hit.provenance, true)
            } else {
                let (blob, notes, provenance) = try await writeLayer(
                    slot, layer, target: target, writer: writer, staging: staging, scratch: scratch, lock: lock, digester: digester)
                if let cache, let key {
                    cache.store(layer, key: key, blob: blob, notes: notes, provenance: provenance, stagedAt: staging.blobPath(blob.digest))
                }
                made = (blob, notes, provenance, false)
            }
        }
        var report = LayerReport(
            name: layer.name, strategy: layer.strategy.typeName, entries: made.blob.entryCount,
            uncompressedSize: made.blob.uncompressedSize, compressedSize: made.blob.size, diffID: made.blob.diffID, digest: made.blob.digest,
            seconds: started.duration(to: clock.now).seconds, cached: made.cached, notes: made.notes, provenance: made.provenance)
        report.platform = slot.platform?.description
        observer.layerFinished(slot.index, report: report)
        return BuiltLayer(
            report: report,
            descriptor: Descriptor(
                mediaType: WasmModuleLayer.mediaType(of: layer, compression: plan.compression), digest: made.blob.digest, size: made.blob.size),
            history: History(created: plan.created.rfc3339, createdBy: "kiln \(layer.strategy.typeName) \(layer.name)"),
            elfFiles: made.blob.elfFiles, holdsSymlinks: made.blob.holdsSymlinks)
    }

    /// Builds the layer while its inputs are hashed for its key (see
    /// ``BuildCache/buildsWhileHashing(_:)``). On a hit the build is
    /// cancelled — leaving the scope cancels and awaits it — and the cached
    /// blob used; a build that finished first staged the same bytes.
    private func buildWhileHashing(
        _ slot: LayerSlot, _ layer: LayerSpec, target: ImageBuildPlan, writer: LayerWriter, staging: LayoutStaging, scratch: String,
        lock: LockedLayer?, cache: BuildCache
    ) async throws -> (blob: LayerBlob, notes: [String], provenance: Provenance, cached: Bool) {
        async let built = writeLayer(slot, layer, target: target, writer: writer, staging: staging, scratch: scratch, lock: lock, digester: cache.digester)
        let key = await cache.key(for: layer, lock: lock, plan: target)
        if let key, let hit = await cache.reuse(layer, key: key, into: staging) {
            return (hit.blob, hit.notes, hit.provenance, true)
        }
        let (blob, notes, provenance) = try await built
        if let key { cache.store(layer, key: key, blob: blob, notes: notes, provenance: provenance, stagedAt: staging.blobPath(blob.digest)) }
        return (blob, notes, provenance, false)
    }

    /// Runs the layer's strategy for `target` (the plan as it builds the
    /// layer's platform) and writes its blob into the staging layout.
    /// - Parameter digester: the cache's, which already digested the
    ///   layer's inputs for its key, or one on the build's pool.
    private func writeLayer(
        _ slot: LayerSlot, _ layer: LayerSpec, target: ImageBuildPlan, writer: LayerWriter, staging: LayoutStaging, scratch: String,
        lock: LockedLayer?, digester: InputDigester
    ) async throws -> (LayerBlob, [String], Provenance) {
        let observer = self.observer
        let shown = slot.shown(layer)
        let layerScratch = scratch + "/layer-\(slot.index)-" + layer.name
        // Hashing blocks: on the pool, not on a Swift concurrency thread.
        let inputDigests = await writer.workers.pool.run { ProvenanceInputs.digests(of: layer, digester: digester) }
        let context = StrategyContext(
            plan: target, layer: layer, scratchRoot: layerScratch, cacheDirectory: options.cacheDirectory,
            keepScratch: options.keepScratch, inputDigests: inputDigests,
            log: { line in observer.layerOutput(slot.index, layer: shown, line: line) },
            activity: { activity in observer.layerActivity(slot.index, activity) })
        do {
            if case .wasm(let wasm) = layer.strategy {
                return (try await writer.workers.pool.run { try WasmModuleLayer.write(wasm, layer: layer, into: staging) }, [], Provenance())
            }
            // A build layer makes its scratch (mkdtemp) right in this
            // directory; packages layers make theirs with its parents, and
            // files and derivation layers need none: a plan of many files
            // layers creates (and removes) no directory per layer.
            if case .build = layer.strategy {
                try FileManager.default.createDirectory(atPath: layerScratch, withIntermediateDirectories: true)
            }
            var prepared = try await LayerPreparer(aptRoot: aptRoot, jobs: options.jobs).prepare(layer, context: context, lock: lock)
            defer {
                if !options.keepScratch {
                    for directory in prepared.temporaryDirectories { TreeRemoval.remove(directory) }
                }
            }
            let blobPath = staging.temporaryBlobPath()
            // The writer gets the only copy of the tree, which it orders in
            // place (a tree of 100,000 files is not held twice).
            let tree = prepared.tree
            prepared.tree = LayerTree()
            observer.layerSized(slot.index, bytes: tree.estimatedTarSize)
            let blob = try await writer.write(consume tree, to: blobPath) { bytes in observer.layerProgress(slot.index, bytes: bytes) }
            try staging.commitBlob(at: blobPath, digest: blob.digest)
            return (blob, prepared.notes, prepared.provenance)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as ImageBuildError {
            throw error
        } catch {
            throw ImageBuildError.layer(name: layer.name, LayerErrorPlaces.locate(error, in: layer))
        }
    }
}

/// One layer to build: a plan layer, and in a `platforms:` build the
/// platform (an index into the build's) of a layer built per platform.
struct LayerJob: Hashable, Sendable {
    /// Index into the plan's layers.
    var layer: Int
    /// Which platform's image the layer is built for; nil for a layer
    /// every platform shares.
    var platform: Int?

    /// The jobs of a build of `platforms` images, in plan order: a files
    /// or derivation layer once — its bytes do not depend on the platform,
    /// so every image shares its blob — a packages or build layer once per
    /// platform (resolved per architecture; the command cross-compiles).
    static func jobs(plan: ImageBuildPlan, platforms: Int) -> [LayerJob] {
        plan.layers.indices.flatMap { index -> [LayerJob] in
            guard platforms > 1 else { return [LayerJob(layer: index)] }
            switch plan.layers[index].strategy {
            case .packages, .build: return (0..<platforms).map { LayerJob(layer: index, platform: $0) }
            default: return [LayerJob(layer: index)]
            }
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
