import Debian
import Plan
import Strategies

extension ImageBuilder {
    /// The resolution a packages layer builds with: the lock file's when it
    /// pins the layer; else, when the build uses the cache, the layer is
    /// resolved now — before its cache key is computed — so the key covers
    /// the exact package set (``LayerCacheKey``). An unchanged layer whose
    /// repositories have not changed (one `304 Not Modified` for each
    /// InRelease, indexes from the download cache) is then served from the
    /// cache, and a locked and an unlocked build of the same resolution
    /// share the entry. Without the cache (or for other layers) `lock` is
    /// returned as it is.
    func resolvedFirst(
        _ slot: LayerSlot, _ layer: LayerSpec, target: ImageBuildPlan, scratch: String, lock: LockedLayer?, cache: BuildCache?
    ) async throws -> LockedLayer? {
        guard lock == nil, cache != nil, case .packages(let packages) = layer.strategy else { return lock }
        let observer = self.observer
        let shown = slot.shown(layer)
        let context = StrategyContext(
            plan: target, layer: layer, scratchRoot: scratch + "/resolve-\(slot.index)-" + layer.name,
            cacheDirectory: options.cacheDirectory, keepScratch: options.keepScratch,
            log: { line in observer.layerOutput(slot.index, layer: shown, line: line) },
            activity: { activity in observer.layerActivity(slot.index, activity) })
        do {
            return try await PackagesStrategy(packages, aptRoot: aptRoot).resolve(context: context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // Located as the layer's other errors are: a missing package at
            // its entry in `names`.
            throw ImageBuildError.layer(name: layer.name, LayerErrorPlaces.locate(error, in: layer))
        }
    }
}
