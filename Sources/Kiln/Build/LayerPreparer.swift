import Archive
import Debian
import KilnCore
import Plan
import Strategies

/// Runs a layer's strategy: from the plan's layer spec to a tree of
/// entries ready to stream.
struct LayerPreparer: Sendable {
    var aptRoot: String
    var jobs: Int

    /// The strategy value for `layer`; `lock` is its fresh locked
    /// resolution when it is a packages layer pinned by the lock file.
    func strategy(for layer: LayerSpec, lock: LockedLayer?) -> any LayerPreparing {
        switch layer.strategy {
        case .files(let files): FilesStrategy(files)
        case .build(let build): BuildStrategy(build)
        case .derivation(let derivation): DerivationStrategy(derivation)
        case .packages(let packages): PackagesStrategy(packages, lock: lock, aptRoot: aptRoot, parallelDownloads: max(4, jobs))
        // Not a tree: ImageBuilder stores the module as the blob
        // (WasmModuleLayer) and never prepares a wasm layer.
        case .wasm: preconditionFailure("a wasm layer has no tree to prepare")
        }
    }

    func prepare(_ layer: LayerSpec, context: StrategyContext, lock: LockedLayer?) async throws -> PreparedLayer {
        try await strategy(for: layer, lock: lock).prepare(context)
    }
}
