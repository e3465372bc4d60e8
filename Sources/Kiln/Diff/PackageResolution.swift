import Debian
public import KilnCore
public import Plan
import Strategies

/// What one side of a plan diff installs for one packages layer, and where
/// that answer comes from: its lock file, a resolution `--resolve` made, or
/// nowhere (no lock, or a lock the plan has moved past).
public struct PackageResolution: Hashable, Sendable {
    /// Where the packages come from.
    public enum Source: String, Hashable, Sendable {
        /// The lock file's entry for the layer, fresh for the plan.
        case lock
        /// Resolved from the layer's sources for this diff (`--resolve`).
        case resolved
        /// The lock file has an entry, but for other package inputs.
        case stale
        /// The lock file has no entry for the layer.
        case unlocked = "not locked"
        /// There is no lock file beside the plan.
        case noLockFile = "no lock file"
    }

    /// Where the answer comes from.
    public var source: Source
    /// The packages, in install order; nil when unknown.
    public var layer: LockedLayer?

    /// Whether the packages are known.
    public var isKnown: Bool { layer != nil }

    /// The one place a diff reads a lock file: the layer's resolution in
    /// `lock` when it is fresh for `plan` (the layer's package inputs are
    /// those the lock was made for), else why not.
    static func locked(_ lock: LockFile?, spec: LayerSpec, plan: ImageBuildPlan) -> PackageResolution {
        guard let lock else { return PackageResolution(source: .noLockFile, layer: nil) }
        // A `platforms:` plan's lock keys each platform's resolution
        // (`runtime@linux/arm64`); the diff reads the plan's first platform's.
        guard lock.layers[LockFile.key(layer: spec.name, plan: plan)] != nil else { return PackageResolution(source: .unlocked, layer: nil) }
        // A layer whose platform has no Debian architecture cannot be fresh.
        guard let fresh = try? lock.layer(spec, plan: plan) else { return PackageResolution(source: .stale, layer: nil) }
        return PackageResolution(source: .lock, layer: fresh)
    }
}

/// Resolves packages layers from their sources, as `kiln lock` does, for
/// `kiln diff --resolve`: the sides whose lock file does not say what they
/// install.
public struct PackageResolver: Sendable {
    /// The directory holding `etc/apt` for `sources: system` (`/`).
    public var aptRoot: String
    /// The downloads cache (indexes are kept there, as for `kiln lock`).
    public var cacheDirectory: String
    /// Progress lines (which source is read).
    public var log: @Sendable (String) -> Void

    /// A resolver reading `aptRoot`'s apt sources, caching in `cacheDirectory`.
    public init(aptRoot: String = "/", cacheDirectory: String, log: @escaping @Sendable (String) -> Void) {
        self.aptRoot = aptRoot
        self.cacheDirectory = cacheDirectory
        self.log = log
    }

    /// Every packages layer of `side` whose packages are unknown, resolved.
    /// - Throws: what ``PackagesStrategy/resolve(context:)`` throws.
    func resolve(_ side: PlanSnapshot) async throws -> PlanSnapshot {
        var side = side
        for spec in side.plan.layers {
            guard case .packages(let layer) = spec.strategy, !side.packages(of: spec).isKnown else { continue }
            let scratch = try ScratchDirectory(prefix: "kiln-diff-resolve")
            defer { scratch.remove() }
            let context = StrategyContext(plan: side.plan, layer: spec, scratchRoot: scratch.path, cacheDirectory: cacheDirectory, log: log)
            side.resolved[spec.name] = try await PackagesStrategy(layer, aptRoot: aptRoot).resolve(context: context)
        }
        return side
    }
}

/// What changes in one packages layer's resolution between two plans.
public struct PackagesLayerDiff: Hashable, Sendable, Encodable {
    /// The layer's name.
    public var layer: String
    /// Where the old side's packages come from; nil when only the new plan
    /// has the layer.
    public var oldSource: PackageResolution.Source?
    /// Where the new side's packages come from; nil when only the old plan
    /// has the layer.
    public var newSource: PackageResolution.Source?
    /// Whether both sides' packages are known (a side without the layer
    /// installs nothing, which is known).
    public var known: Bool
    /// The packages added, removed, upgraded, downgraded or rebuilt; empty
    /// when not ``known``.
    public var changes: [PackageChange]
    /// Total `.deb` bytes on each side, when known.
    public var oldBytes: Int64?
    /// Total `.deb` bytes on the new side, when known.
    public var newBytes: Int64?

    /// Compares every packages layer of either plan; layers whose packages
    /// are the same (or unknown on both sides for an unchanged declaration)
    /// are left out.
    static func compare(old: PlanSnapshot, new: PlanSnapshot, layers: [LayerChange]) -> [PackagesLayerDiff] {
        let declared = Set(layers.filter { $0.change != .moved }.map(\.name))
        let oldSpecs = Dictionary(old.plan.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var names = new.plan.layers.filter(\.isPackages).map(\.name)
        names += old.plan.layers.filter { $0.isPackages && !names.contains($0.name) }.map(\.name)
        let newSpecs = Dictionary(new.plan.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var result: [PackagesLayerDiff] = []
        for name in names {
            let before = oldSpecs[name].flatMap { $0.isPackages ? old.packages(of: $0) : nil }
            let after = newSpecs[name].flatMap { $0.isPackages ? new.packages(of: $0) : nil }
            let oldList: [LockedPackage]? = before == nil ? [] : before?.layer?.packages
            let newList: [LockedPackage]? = after == nil ? [] : after?.layer?.packages
            var diff = PackagesLayerDiff(
                layer: name, oldSource: before?.source, newSource: after?.source, known: oldList != nil && newList != nil,
                changes: [], oldBytes: oldList.map(Self.bytes), newBytes: newList.map(Self.bytes))
            if let oldList, let newList {
                diff.changes = PackageChange.compare(oldList, newList)
                if diff.changes.isEmpty { continue }
            } else if !declared.contains(name) && before?.source == after?.source {
                continue
            }
            result.append(diff)
        }
        return result
    }

    private static func bytes(_ packages: [LockedPackage]) -> Int64 {
        packages.reduce(Int64(0)) { total, package in total + package.size }
    }

    /// Why the resolution is unknown, for people: which side lacks what.
    public var unknownReason: String? {
        guard !known else { return nil }
        func why(_ source: PackageResolution.Source?, _ side: String) -> String? {
            switch source {
            case .stale?: "the \(side) plan's lock entry is stale (its package inputs changed)"
            case .unlocked?: "the \(side) lock file has no entry for it"
            case .noLockFile?: "the \(side) plan has no lock file"
            case .lock?, .resolved?, nil: nil
            }
        }
        var reasons = [why(oldSource, "old"), why(newSource, "new")].compactMap { $0 }
        switch (oldSource, newSource) {
        case (.noLockFile?, .noLockFile?): reasons = ["neither plan has a lock file"]
        case (.unlocked?, .unlocked?): reasons = ["neither lock file has an entry for it"]
        default: break
        }
        return "resolution unknown: " + reasons.joined(separator: "; ")
            + "; run `kiln diff --resolve` to resolve both sides from their sources, or `kiln lock`"
    }

    private enum Keys: String, CodingKey {
        case layer, known, changes
        case oldSource = "old_source", newSource = "new_source", oldBytes = "old_bytes", newBytes = "new_bytes"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(layer, forKey: .layer)
        try container.encodeIfPresent(oldSource?.rawValue, forKey: .oldSource)
        try container.encodeIfPresent(newSource?.rawValue, forKey: .newSource)
        try container.encode(known, forKey: .known)
        try container.encode(changes, forKey: .changes)
        try container.encodeIfPresent(oldBytes, forKey: .oldBytes)
        try container.encodeIfPresent(newBytes, forKey: .newBytes)
    }
}

/// One package whose presence or version differs.
public struct PackageChange: Hashable, Sendable, Encodable {
    /// How it changed.
    public enum Kind: String, Hashable, Sendable, Encodable {
        /// Only the new side installs it.
        case added
        /// Only the old side installs it.
        case removed
        /// A higher version, in Debian version order.
        case upgraded
        /// A lower version.
        case downgraded
        /// The same version (or one Debian orders equal), another `.deb`:
        /// another architecture, size or SHA-256.
        case rebuilt
    }

    /// The package name.
    public var name: String
    /// Added, removed, upgraded, downgraded or rebuilt.
    public var change: Kind
    /// The `.deb`'s architecture (the new one when both sides have it).
    public var architecture: String
    /// The old version; nil when added.
    public var oldVersion: String?
    /// The new version; nil when removed.
    public var newVersion: String?

    /// The packages that differ, by name in byte order.
    static func compare<Package: VersionedPackage>(_ old: [Package], _ new: [Package]) -> [PackageChange] {
        let before = Dictionary(old.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        let after = Dictionary(new.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
        return TreeDiff.sortedKeys(Set(before.keys).union(after.keys)).compactMap { name in
            switch (before[name], after[name]) {
            case let (a?, b?):
                guard a != b else { return nil }
                return PackageChange(name: name, change: order(a.version, b.version), architecture: b.architecture, oldVersion: a.version, newVersion: b.version)
            case let (a?, nil):
                return PackageChange(name: name, change: .removed, architecture: a.architecture, oldVersion: a.version, newVersion: nil)
            case let (nil, b?):
                return PackageChange(name: name, change: .added, architecture: b.architecture, oldVersion: nil, newVersion: b.version)
            case (nil, nil):
                return nil
            }
        }
    }

    /// Upgraded, downgraded or rebuilt, in Debian version order (a version
    /// Debian cannot parse is compared as text).
    private static func order(_ old: String, _ new: String) -> Kind {
        if let a = try? DebianVersion(old), let b = try? DebianVersion(new) {
            return a < b ? .upgraded : b < a ? .downgraded : .rebuilt
        }
        return old == new ? .rebuilt : old.utf8.lexicographicallyPrecedes(new.utf8) ? .upgraded : .downgraded
    }

    private enum Keys: String, CodingKey {
        case name, change, architecture
        case oldVersion = "old_version", newVersion = "new_version"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(name, forKey: .name)
        try container.encode(change, forKey: .change)
        try container.encode(architecture, forKey: .architecture)
        try container.encodeIfPresent(oldVersion, forKey: .oldVersion)
        try container.encodeIfPresent(newVersion, forKey: .newVersion)
    }
}

/// A package with a name, version and architecture: locked (a `.deb`
/// pinned by its digest too) or installed (read from a dpkg database).
protocol VersionedPackage: Hashable {
    var name: String { get }
    var version: String { get }
    var architecture: String { get }
}

extension LockedPackage: VersionedPackage {}

extension LayerSpec {
    var isPackages: Bool {
        if case .packages = strategy { return true }
        return false
    }
}
