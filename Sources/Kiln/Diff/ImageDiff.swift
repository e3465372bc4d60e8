import Foundation
import Archive
public import KilnCore
public import Plan
import Strategies
import Debian

/// The result of `kiln diff`: two plans compared, or two built layouts.
public enum ImageDiff: Hashable, Sendable {
    /// Two plans compared by meaning, with what the layer cache would do.
    case plans(PlanDiff)
    /// Two built layouts compared by manifest, config and layer contents.
    case layouts(LayoutDiff)

    /// Whether both sides describe the same image (exit status 0).
    public var isEqual: Bool {
        switch self {
        case .plans(let diff): diff.isEqual
        case .layouts(let diff): diff.isEqual
        }
    }
}

/// What `kiln diff` takes a path for.
public enum DiffSubject: String, Hashable, Sendable {
    /// A plan file (`*.yaml`, `*.yml`, or a file that is not a layout archive).
    case plan
    /// An OCI layout directory, or a layout archive (tar, possibly compressed).
    case layout

    /// How messages name the kind.
    var noun: String { self == .plan ? "a plan" : "an image layout" }

    /// Tells a plan from a layout: a directory is a layout (it must hold
    /// `oci-layout`); a file named `*.yaml` or `*.yml` is a plan; another file
    /// is a layout archive when it starts like a tar or a compressed stream,
    /// and a plan otherwise.
    /// - Throws: ``DiffError/missing(path:)``, ``DiffError/directoryNotLayout(path:)``.
    public static func of(_ path: String) throws -> DiffSubject {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DiffError.missing(path: path) }
        if isDirectory.boolValue {
            guard FileManager.default.fileExists(atPath: path + "/oci-layout") else { throw DiffError.directoryNotLayout(path: path) }
            return .layout
        }
        if path.hasSuffix(".yaml") || path.hasSuffix(".yml") { return .plan }
        guard let source = try? FileByteSource(path: path) else { return .plan }
        var head = [UInt8](repeating: 0, count: 512)
        let count = (try? head.withUnsafeMutableBytes { try source.readFully(into: $0) }) ?? 0
        if DecompressionFormat.detect(leadingBytes: head[..<count]) != .none { return .layout }
        let isTar = count == 512 && head[257..<262].elementsEqual("ustar".utf8)
        return isTar ? .layout : .plan
    }
}

/// Compares plans and layouts, as `kiln diff` does.
public struct ImageDiffer: Sendable {
    /// Loads both plans (its `context` applies to both).
    public var loader: PlanLoader
    /// The image to take from a multi-platform layout (`--platform`); nil
    /// takes this machine's platform where a layout holds several.
    public var platform: Platform? = nil

    /// A differ that loads plans with `loader`.
    public init(loader: PlanLoader) {
        self.loader = loader
    }

    /// Compares `old` with `new`: two plans, or two layouts (directories or
    /// `oci-archive` tars).
    /// - Throws: ``DiffError`` (``DiffError/mixedKinds(old:oldKind:new:newKind:)``
    ///   when one is a plan and the other a layout), ``PlanErrors``,
    ///   ``InputDigestError``, ``LayoutError``.
    public func compare(old: String, new: String) throws -> ImageDiff {
        let oldKind = try DiffSubject.of(old), newKind = try DiffSubject.of(new)
        guard oldKind == newKind else {
            throw DiffError.mixedKinds(old: old, oldKind: oldKind.noun, new: new, newKind: newKind.noun)
        }
        switch oldKind {
        case .plan:
            let digester = InputDigester()
            let before = try PlanSnapshot.load(file: old, loader: loader, digester: digester)
            let after = try PlanSnapshot.load(file: new, loader: loader, digester: digester)
            return .plans(try PlanDiff.compare(old: before, new: after))
        case .layout:
            let scratch = try ScratchDirectory(prefix: "kiln-diff")
            defer { scratch.remove() }
            let before = try LayoutSnapshot.open(old, scratch: try Self.directory(scratch.path + "/old"), platform: platform)
            let after = try LayoutSnapshot.open(new, scratch: try Self.directory(scratch.path + "/new"), platform: platform)
            return .layouts(try LayoutDiff.compare(old: before, new: after))
        }
    }

    /// Compares the plan at `plan` as committed at `revision` (with its
    /// inputs and its lock file as of that commit) with the working copy.
    ///
    /// A base image missing at the revision (a layout that is built or
    /// pulled, not committed) is taken from the working copy.
    /// - Throws: ``DiffError`` for git problems, then what
    ///   ``compare(old:new:)`` throws for plans.
    public func compare(plan: String, atRevision revision: String) throws -> ImageDiff {
        let sides = try revisionSides(plan: plan, revision: revision)
        defer { sides.scratch.remove() }
        return .plans(try PlanDiff.compare(old: sides.old(), new: sides.new))
    }

    /// ``compare(plan:atRevision:)``, with the packages of each side that
    /// no fresh lock entry gives resolved by `resolver` (`--resolve`).
    public func compare(plan: String, atRevision revision: String, resolving resolver: PackageResolver) async throws -> ImageDiff {
        var sides = try revisionSides(plan: plan, revision: revision)
        defer { sides.scratch.remove() }
        // The old side resolves in its checkout, where its `dir:` sources are.
        sides.before = try await resolver.resolve(sides.before)
        sides.new = try await resolver.resolve(sides.new)
        return .plans(try PlanDiff.compare(old: sides.old(), new: sides.new))
    }

    /// ``compare(old:new:)`` for two plans, with the packages of each side
    /// that no fresh lock entry gives resolved by `resolver` (`--resolve`).
    /// Two layouts are compared as ``compare(old:new:)`` does.
    public func compare(old: String, new: String, resolving resolver: PackageResolver) async throws -> ImageDiff {
        guard try DiffSubject.of(old) == .plan, try DiffSubject.of(new) == .plan else { return try compare(old: old, new: new) }
        let digester = InputDigester()
        let before = try await resolver.resolve(try PlanSnapshot.load(file: old, loader: loader, digester: digester))
        let after = try await resolver.resolve(try PlanSnapshot.load(file: new, loader: loader, digester: digester))
        return .plans(try PlanDiff.compare(old: before, new: after))
    }

    /// The two sides of a `--git` diff: the old one loaded in a private
    /// checkout of the revision (removed with `scratch`), the new one the
    /// working copy.
    private struct RevisionSides {
        var before: PlanSnapshot
        var new: PlanSnapshot
        var mirror: String
        var root: String
        var scratch: ScratchDirectory

        /// The old side, its paths (and so its cache keys) the working copy's.
        func old() -> PlanSnapshot { before.moved(from: mirror, to: root) }
    }

    private func revisionSides(plan: String, revision: String) throws -> RevisionSides {
        let digester = InputDigester()
        let after = try PlanSnapshot.load(file: plan, loader: loader, digester: digester)
        let root = try GitCheckout.root(of: after.plan.directory)
        guard let planFile = HostPathResolver.realPath(plan) else { throw DiffError.missing(path: plan) }
        let checkout = try GitCheckout.make(revision: revision, scope: after.plan.context, root: root)
        do {
            let file = checkout.counterpart(of: planFile)
            guard FileManager.default.fileExists(atPath: file) else { throw DiffError.planMissingAtRevision(plan: plan, revision: revision) }
            switch after.plan.base {
            case .scratch, .registry: break
            case .ociLayout(let path, _), .ociArchive(let path, _):
                let copy = checkout.counterpart(of: path)
                if !FileManager.default.fileExists(atPath: copy) {
                    try FileManager.default.createDirectory(atPath: (copy as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try FileManager.default.createSymbolicLink(atPath: copy, withDestinationPath: path)
                }
            }
            var old = loader
            old.context = loader.context == nil ? nil : checkout.counterpart(of: after.plan.context)
            let label = plan + "@" + revision
            let bytes = try Self.readPlan(file)
            let plan = try old.decode(bytes, file: label, directory: checkout.counterpart(of: after.plan.directory))
            var before = PlanSnapshot(
                label: label, plan: plan, inputDigests: try digester.digests(of: plan.hostInputs),
                lock: try PlanSnapshot.readLock(LockFile.path(forPlan: file)))
            before.sourceTexts = PlanSnapshot.sourceTexts(of: plan)
            return RevisionSides(before: before, new: after, mirror: checkout.mirror, root: root, scratch: checkout.scratch)
        } catch {
            checkout.scratch.remove()
            throw error
        }
    }

    /// The plan's bytes; past the loader's limit, only enough of them for
    /// the loader to refuse the plan with its own message.
    private static func readPlan(_ path: String) throws -> [UInt8] {
        let source = try FileByteSource(path: path)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= PlanLoader.maxPlanSize {
            let count = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
            if count == 0 { break }
            bytes += chunk[..<count]
        }
        return bytes
    }

    private static func directory(_ path: String) throws -> String {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

extension ImageDiff {
    /// The keys of the layers a build of the new plan would make: what the
    /// shared cache is asked about.
    public var keysToBuild: [ContentDigest] {
        guard case .plans(let diff) = self else { return [] }
        return diff.cache.filter { $0.outcome == .rebuilt || $0.outcome == .built }.compactMap(\.newKey)
    }

    /// The diff with each layer to build marked by whether `present` (the
    /// keys the shared cache holds) has it.
    public func markingShared(_ present: Set<ContentDigest>) -> ImageDiff {
        guard case .plans(var diff) = self else { return self }
        for index in diff.cache.indices where diff.cache[index].outcome == .rebuilt || diff.cache[index].outcome == .built {
            diff.cache[index].shared = diff.cache[index].newKey.map(present.contains) ?? false
        }
        return .plans(diff)
    }
}
