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

    func prepare(_ layer: LayerSpec, context: StrategyContext, lock: LockedLayer?) async throws -> PreparedLayer {
        switch layer.strategy {
        case .files(let files):
            return try FilesStrategy().prepare(files, context: context)
        case .build(let build):
            return try await BuildStrategy.prepare(build, context: context)
        case .derivation(let derivation):
            return try await DerivationStrategy.prepare(derivation, context: context)
        case .packages(let packages):
            return try await PackagesStrategy(aptRoot: aptRoot, parallelDownloads: max(4, jobs))
                .prepare(packages, context: context, lock: lock)
        }
    }
}
