import Foundation
import Debian
import KilnCore
import OCI
public import Plan

/// One side of a plan diff: the normalized plan, the content digest of each
/// of its host inputs, and how the output names it.
public struct PlanSnapshot: Sendable {
    /// How the diff names this side: the path as given, or `PLAN@REV`.
    public var label: String
    /// The plan, loaded and normalized.
    public var plan: ImageBuildPlan
    /// `"sha256:…"` of every host input, by absolute path (``InputDigester``).
    public var inputDigests: [String: String]
    /// The lock file beside the plan (`app.yaml` → `app.lock.json`), nil
    /// when there is none.
    public var lock: LockFile?
    /// Packages layers resolved for this diff (`--resolve`), by name.
    public var resolved: [String: LockedLayer] = [:]
    /// The text of each small `source` file of a files entry, by absolute
    /// host path, read when the side is loaded (a `--git` checkout is gone
    /// by the time the diff is rendered).
    var sourceTexts: [String: String] = [:]

    /// A side made of a plan already loaded, its inputs' digests and its
    /// lock file.
    public init(label: String, plan: ImageBuildPlan, inputDigests: [String: String], lock: LockFile? = nil) {
        self.label = label
        self.plan = plan
        self.inputDigests = inputDigests
        self.lock = lock
    }

    /// Loads the plan at `file`, digests its inputs and reads its lock file.
    /// - Throws: ``PlanErrors`` for a plan that does not load,
    ///   ``InputDigestError`` for an input that cannot be read,
    ///   ``LockFileError`` for a lock file that cannot be read.
    public static func load(file: String, label: String? = nil, loader: PlanLoader, digester: InputDigester) throws -> PlanSnapshot {
        let plan = try loader.load(file: file)
        var snapshot = PlanSnapshot(
            label: label ?? file, plan: plan, inputDigests: try digester.digests(of: plan.hostInputs),
            lock: try readLock(LockFile.path(forPlan: file)))
        snapshot.sourceTexts = sourceTexts(of: plan)
        return snapshot
    }

    /// The lock file at `path`, or nil when there is none.
    /// - Throws: ``LockFileError`` for one that cannot be read.
    static func readLock(_ path: String) throws -> LockFile? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try LockFile.read(from: path)
    }

    /// What this side installs for the packages layer `spec`: what
    /// `--resolve` found, else the lock's fresh entry, else why unknown.
    func packages(of spec: LayerSpec) -> PackageResolution {
        if let resolved = resolved[spec.name] { return PackageResolution(source: .resolved, layer: resolved) }
        return PackageResolution.locked(lock, spec: spec, plan: plan)
    }

    /// The same plan with every host path below `from` moved below `to`:
    /// the plan as it would read had it been written in `to`. Digests follow
    /// their paths.
    func moved(from: String, to: String) -> PlanSnapshot {
        func move(_ path: String) -> String {
            guard let rest = HostPaths.below(path, root: from) else { return path }
            return rest.isEmpty ? to : (to == "/" ? "" : to) + "/" + rest
        }
        return mapped(move)
    }

    /// The same plan with its host paths (those inside its context) relative
    /// to its directory, so two checkouts of one plan in different places
    /// compare equal.
    func relative() -> PlanSnapshot {
        let directory = plan.directory, context = plan.context
        return mapped { path in
            HostPaths.below(path, root: context) == nil ? path : HostPaths.relative(path, from: directory)
        }
    }

    /// This side's plan moved to `directory` (and its context along), for
    /// cache keys: a key covers absolute host paths, so both sides' keys must
    /// be taken as if they were built in the same place.
    func placed(in directory: String) -> PlanSnapshot {
        guard directory != plan.directory else { return self }
        let from = plan.directory, context = plan.context
        return mapped { path in
            guard HostPaths.below(path, root: context) != nil else { return path }
            return HostPaths.normalize(directory + "/" + HostPaths.relative(path, from: from))
        }
    }

    private func mapped(_ transform: (String) -> String) -> PlanSnapshot {
        var digests: [String: String] = [:]
        for (path, digest) in inputDigests { digests[transform(path)] = digest }
        var texts: [String: String] = [:]
        for (path, text) in sourceTexts { texts[transform(path)] = text }
        var result = PlanSnapshot(label: label, plan: plan.mappingHostPaths(transform), inputDigests: digests, lock: lock)
        result.resolved = resolved
        result.sourceTexts = texts
        return result
    }

    /// The plan as a diff compares it: `kiln plan`'s JSON (defaults filled,
    /// input digests) with host paths relative to the plan's directory, the
    /// base as the plan spells it, and neither `directory` nor `context`.
    func comparableTree() throws -> [String: JSONValue] {
        let relative = relative()
        var tree = TreeDiff.object(try CanonicalJSONEncoder.tree(of: relative.plan, userInfo: [ImageBuildPlan.inputDigestsKey: relative.inputDigests]))
        tree["directory"] = nil
        tree["context"] = nil
        tree["kiln"] = nil
        tree["base"] = .string(relative.plan.base.reference)
        return tree
    }
}

extension BaseImage {
    /// As a plan writes it: `scratch`, `oci:DIR[:REF]`, `oci-archive:FILE[:REF]`.
    var reference: String {
        switch self {
        case .scratch: "scratch"
        case .ociLayout(let path, let ref): "oci:" + path + (ref.map { ":" + $0 } ?? "")
        case .ociArchive(let path, let ref): "oci-archive:" + path + (ref.map { ":" + $0 } ?? "")
        case .registry(let reference): reference.description
        }
    }
}

extension ImageBuildPlan {
    /// The plan with `transform` applied to every host path it holds: its
    /// directory and context, the base, files sources, build inputs,
    /// package directories and keyrings.
    func mappingHostPaths(_ transform: (String) -> String) -> ImageBuildPlan {
        var plan = self
        plan.directory = transform(directory)
        plan.context = transform(context)
        switch base {
        case .scratch, .registry: break
        case .ociLayout(let path, let ref): plan.base = .ociLayout(path: transform(path), ref: ref)
        case .ociArchive(let path, let ref): plan.base = .ociArchive(path: transform(path), ref: ref)
        }
        plan.layers = layers.map { layer in
            var layer = layer
            switch layer.strategy {
            case .files(var files):
                files.entries = files.entries.map { entry in
                    var entry = entry
                    if case .source(let path) = entry.content { entry.content = .source(transform(path)) }
                    return entry
                }
                layer.strategy = .files(files)
            case .build(var build):
                build.inputs = build.inputs.map { BuildInput(relativePath: $0.relativePath, hostPath: transform($0.hostPath)) }
                layer.strategy = .build(build)
            case .packages(var packages):
                packages.sources = packages.sources.map { source in
                    switch source {
                    case .system: return .system
                    case .directory(let path): return .directory(transform(path))
                    case .repository(var repository):
                        repository.signedBy = repository.signedBy.map(transform)
                        return .repository(repository)
                    }
                }
                layer.strategy = .packages(packages)
            case .derivation:
                break
            case .wasm(var wasm):
                wasm.module = transform(wasm.module)
                layer.strategy = .wasm(wasm)
            }
            return layer
        }
        return plan
    }
}

/// Lexical arithmetic on absolute, normalized host paths.
enum HostPaths {
    /// What follows `root` in `path` ("" for `root` itself), or nil when
    /// `path` is not `root` or below it.
    static func below(_ path: String, root: String) -> String? {
        if path == root { return "" }
        if root == "/" { return path.hasPrefix("/") ? String(path.dropFirst()) : nil }
        return path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : nil
    }

    /// `path` relative to the directory `base`: `.` for `base` itself, with
    /// `..` components where `path` is not below it.
    static func relative(_ path: String, from base: String) -> String {
        let target = path.split(separator: "/"), origin = base.split(separator: "/")
        var common = 0
        while common < target.count, common < origin.count, target[common] == origin[common] { common += 1 }
        let parts = Array(repeating: Substring(".."), count: origin.count - common) + target[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    static func normalize(_ path: String) -> String {
        HostPathResolver.normalize(path)
    }
}
