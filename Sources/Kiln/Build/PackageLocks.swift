import Debian
import Plan

/// The packages lock of a plan, as `kiln build` uses it: the pinned
/// resolution when the lock file exists and is fresh; with `--locked`, a
/// missing or stale lock is an error.
struct PackageLocks: Sendable {
    private var layers: [String: LockedLayer] = [:]

    subscript(name: String) -> LockedLayer? { layers[name] }

    static func load(plan: ImageBuildPlan, locked: Bool) throws -> PackageLocks {
        var result = PackageLocks()
        let packageLayers = plan.layers.filter { if case .packages = $0.strategy { true } else { false } }
        guard !packageLayers.isEmpty else { return result }
        let path = PackagesStrategy.path(for: plan)
        let strategy = PackagesStrategy()
        if locked {
            do {
                try strategy.verify(plan: plan, path: path)
            } catch {
                throw ImageBuildError.lock("--locked: \(error)")
            }
        }
        for layer in packageLayers {
            do {
                if let pinned = try strategy.layer(layer, plan: plan) { result.layers[layer.name] = pinned }
            } catch {
                throw ImageBuildError.lock("\(path): \(error)")
            }
        }
        return result
    }
}
