import Debian
import KilnCore
import Plan
import Foundation

/// The packages lock of a plan as `kiln build` uses it: a layer whose entry
/// in `<plan>.lock.json` is fresh is built from exactly the pinned `.deb`s,
/// reading no index; one without a fresh entry is resolved from its sources.
/// With `--locked`, a missing or stale lock is an error instead.
struct PackageLocks: Sendable {
    private var layers: [String: LockedLayer] = [:]
    /// Packages layers the lock file does not pin (no lock file, or no
    /// entry for the layer).
    private(set) var unpinned: [String] = []
    /// Packages layers whose entry is stale, and what no longer matches.
    private(set) var stale: [(layer: String, change: String)] = []
    /// The lock file's path.
    private(set) var path = ""

    /// The layer's fresh locked resolution, if any.
    subscript(name: String) -> LockedLayer? { layers[name] }

    static func load(plan: ImageBuildPlan, locked: Bool) throws -> PackageLocks {
        var result = PackageLocks()
        let specs = plan.layers.filter { if case .packages = $0.strategy { true } else { false } }
        guard !specs.isEmpty else { return result }
        result.path = LockFile.path(for: plan)
        guard FileManager.default.fileExists(atPath: result.path) else {
            if locked { throw ImageBuildError.lock("--locked: \(LockFileError.missing(path: result.path))") }
            result.unpinned = specs.map(\.name)
            return result
        }
        do {
            let file = try LockFile.read(from: result.path)
            if locked {
                do {
                    try file.verify(plan: plan, path: result.path)
                } catch {
                    // What can be seen to have changed, a line per layer.
                    let changes = specs.compactMap { spec -> String? in
                        guard case .packages(let layer) = spec.strategy, let entry = file.layers[LockFile.key(layer: spec.name, plan: plan)] else { return nil }
                        let changes = entry.changes(for: layer)
                        return changes.isEmpty ? nil : "\n  layer \"\(spec.name)\": " + changes.joined(separator: "; ")
                    }
                    throw ImageBuildError.lock("--locked: \(error)" + changes.joined())
                }
            }
            for spec in specs {
                if let fresh = try file.layer(spec, plan: plan) {
                    result.layers[spec.name] = fresh
                } else if case .packages(let layer) = spec.strategy, let entry = file.layers[LockFile.key(layer: spec.name, plan: plan)] {
                    result.stale.append((spec.name, entry.staleness(for: layer)))
                } else {
                    result.unpinned.append(spec.name)
                }
            }
        } catch let error as ImageBuildError {
            throw error
        } catch {
            throw ImageBuildError.lock((locked ? "--locked: " : "") + "\(error)")
        }
        return result
    }

    /// What a build without `--locked` tells about layers it resolves from
    /// the repositories: those the lock does not pin, and each one whose
    /// entry is stale with what changed. `platform` follows the layer
    /// names in a `platforms:` build (` for linux/arm64`), else is empty.
    func notes(platform: String) -> [String] {
        var notes: [String] = []
        if !unpinned.isEmpty {
            let names = unpinned.map { "\"\($0)\"" }.joined(separator: ", ")
            notes.append("packages layer\(unpinned.count == 1 ? "" : "s") \(names)\(platform) not pinned by \(path): resolving from the repositories (kiln lock pins them)")
        }
        for (layer, change) in stale {
            notes.append("\(path) is stale for packages layer \"\(layer)\"\(platform) (\(change)): resolving from the repositories (kiln lock updates it)")
        }
        return notes
    }
}
