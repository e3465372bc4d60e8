import Archive
import OCI
import Plan
import Strategies

/// The checks of a `files` layer that need the layers below it (SPEC
/// §1.4): a `remove` must name a path some lower layer has, and no entry
/// may sit below a path a lower layer has as a symlink (`/bin/tool` over
/// `/bin -> usr/bin` would replace the symlink with a directory) unless the
/// layer declares that path itself.
///
/// Runs once the layers are built, over the base's layers and the built
/// blobs, applied with whiteouts as any reader of the image would.
///
/// Built layers without symlinks are read only when they must be: such a
/// layer can replace or remove a lower symlink but never add one, so a plan
/// without `remove` entries whose checked layers all pass over the base
/// alone passes over every layer below them too. Otherwise (a layer fails
/// there, or removes something, or a layer below holds symlinks or comes
/// from the cache) the built layers are applied, as before. A plan of many
/// files layers thus no longer reads back every blob it wrote.
enum LowerLayerCheck {
    /// - Parameters:
    ///   - base: the base image's layers, bottom first.
    ///   - built: the plan's layers as built, in plan order.
    ///   - withoutSymlinks: indices of `built` known to hold no symlink.
    /// - Throws: ``ImageBuildError/layer(name:_:)`` with a
    ///   ``FilesStrategyError`` at the entry's plan location;
    ///   ``ImageBuildError/base(_:)`` for an unreadable base layer.
    static func check(plan: ImageBuildPlan, base: [LayoutLayer], built: [LayoutLayer], withoutSymlinks: Set<Int> = []) throws {
        let checked = checkedLayers(plan: plan, hasBase: !base.isEmpty)
        guard let last = checked.last else { return }
        let system = ImageFileSystem()
        do {
            for layer in base { try system.apply(layer) }
        } catch {
            throw ImageBuildError.base(error)
        }
        if (0..<last).allSatisfy(withoutSymlinks.contains), passesOverBase(plan: plan, checked: checked, system: system) { return }
        let checkedSet = Set(checked)
        for (index, spec) in plan.layers.enumerated() where index <= last {
            if checkedSet.contains(index), case .files(let files) = spec.strategy {
                do {
                    try check(files, layer: spec.name, over: system)
                } catch {
                    throw ImageBuildError.layer(name: spec.name, error)
                }
            }
            guard index < last else { break }
            do {
                try system.apply(built[index])
            } catch {
                throw ImageBuildError.layer(name: spec.name, error)
            }
        }
    }

    /// Whether every checked layer passes over `system` (the base alone)
    /// and removes nothing: then it passes over the layers below it, which
    /// hold no symlink (see the type's notes).
    private static func passesOverBase(plan: ImageBuildPlan, checked: [Int], system: ImageFileSystem) -> Bool {
        checked.allSatisfy { index in
            let spec = plan.layers[index]
            guard case .files(let files) = spec.strategy, !files.entries.contains(where: { $0.content == .remove }) else { return false }
            return (try? check(files, layer: spec.name, over: system)) != nil
        }
    }

    /// The plan layers the check looks at (files layers with something
    /// below them), in order. The check reads the layers below the last of
    /// them; the layers from that one up are never read.
    static func checkedLayers(plan: ImageBuildPlan, hasBase: Bool) -> [Int] {
        plan.layers.indices.filter { index in
            guard case .files = plan.layers[index].strategy else { return false }
            return index > 0 || hasBase
        }
    }

    private static func check(_ files: FilesLayer, layer: String, over system: ImageFileSystem) throws(FilesStrategyError) {
        let declared = Set(files.entries.map { String($0.path.dropFirst()) })
        for entry in files.entries {
            let path = String(entry.path.dropFirst())
            var ancestors: [String] = []
            var parent = LayerTree.parent(of: path)
            while let directory = parent {
                ancestors.append(directory)
                parent = LayerTree.parent(of: directory)
            }
            for ancestor in ancestors.reversed() {
                // The layer declares that path itself: it replaces the symlink.
                if declared.contains(ancestor) { break }
                if case .symlink(let target) = system.node(at: ancestor)?.kind {
                    let resolved = (try? system.resolve(path)) ?? path
                    throw .belowLowerSymlink(layer: layer, location: entry.location, path: path, symlink: ancestor, target: target, resolved: resolved)
                }
            }
            if entry.content == .remove, system.node(at: path) == nil {
                throw .removesMissing(layer: layer, location: entry.location, path: path)
            }
        }
    }
}
