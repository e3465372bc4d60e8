import Archive
import Debian
public import KilnCore
import OCI
import Plan
import Strategies

/// What the layer cache does with one layer when the new plan is built after
/// the old one: keep it, build it again, or build a layer that is new.
///
/// A layer is rebuilt exactly when its ``LayerCacheKey`` changes. Layers are
/// independent in OCI: a layer's digest depends only on its own content, so
/// the layers above a rebuilt one keep their digests (unlike a Dockerfile's
/// build cache, where every later step runs again).
public struct LayerCacheOutcome: Hashable, Sendable, Encodable {
    /// What becomes of the layer.
    public enum Outcome: String, Hashable, Sendable, Encodable {
        /// Same key: the cached layer is used, same digest.
        case kept
        /// The key changed: built again, and its digest changes.
        case rebuilt
        /// A layer only the new plan has, built from scratch.
        case built
        /// A layer only the new plan has (by name) whose key equals an old
        /// layer's — a rename, say: the cached layer is used.
        case reused
        /// A layer only the old plan has.
        case removed
    }

    /// The layer's name in the plan that has it.
    public var name: String
    /// The layer's strategy (in the new plan, unless only the old has it).
    public var type: String
    /// Kept, rebuilt, built, reused or removed.
    public var outcome: Outcome
    /// Why a layer is rebuilt: `spec` (its declaration), `inputs` (the
    /// content of a host input), `lock` (a packages layer's resolved
    /// packages), `created`, `compression`, `platform`
    /// (plan-wide settings every key covers), `base` (a packages layer's
    /// base changed between scratch and an image), or `key` when the key
    /// changed for none of these.
    public var reasons: [String]
    /// For ``Outcome/reused``, the old layer whose cached blob is used.
    public var reusedFrom: String?
    /// The layer's cache key under the old plan (computed as if that plan
    /// lived where the new one does); nil when only the new plan has it.
    public var oldKey: ContentDigest?
    /// The layer's cache key under the new plan; nil when only the old plan
    /// has it.
    public var newKey: ContentDigest?
    /// For a layer to build or rebuild, whether the shared cache
    /// (`--cache-registry`) holds it, so a build fetches it instead; nil
    /// when no shared cache was asked.
    public var shared: Bool? = nil

    /// One outcome per layer of the new plan, in its order, then one per
    /// layer only the old plan has.
    static func outcomes(old: PlanSnapshot, new: PlanSnapshot, diff: PlanDiff) throws -> [LayerCacheOutcome] {
        // Keys cover absolute host paths: take the old plan's keys as if it
        // had been written where the new one is.
        let placed = old.placed(in: new.plan.directory)
        // A packages layer's key covers its resolved packages when both
        // sides know them; otherwise both are keyed by the declaration.
        var resolutions: [String: (old: LockedLayer, new: LockedLayer)] = [:]
        for layer in new.plan.layers where layer.isPackages {
            guard let spec = placed.plan.layers.first(where: { $0.name == layer.name && $0.isPackages }),
                  let before = placed.packages(of: spec).layer, let after = new.packages(of: layer).layer else { continue }
            resolutions[layer.name] = (before, after)
        }
        let oldKeys = try keys(placed, resolutions.mapValues { $0.old }), newKeys = try keys(new, resolutions.mapValues { $0.new })
        let changes = Dictionary(diff.layers.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let planWide = diff.image.map(\.field).filter { ["created", "compression", "platform"].contains($0) }
        let newNames = Set(new.plan.layers.map(\.name))
        var outcomes: [LayerCacheOutcome] = []
        for layer in new.plan.layers {
            let key = newKeys[layer.name]!
            var outcome = LayerCacheOutcome(name: layer.name, type: layer.strategy.typeName, outcome: .built, reasons: [], reusedFrom: nil, oldKey: oldKeys[layer.name], newKey: key)
            if let previous = oldKeys[layer.name] {
                if previous == key {
                    outcome.outcome = .kept
                } else {
                    outcome.outcome = .rebuilt
                    let lockChanged = resolutions[layer.name].map { $0.old.packagesDigest != $0.new.packagesDigest } ?? false
                    outcome.reasons = reasons(changes[layer.name], planWide: planWide, lock: lockChanged, layer: layer, old: old.plan, new: new.plan)
                }
            } else if let twin = old.plan.layers.first(where: { oldKeys[$0.name] == key }) {
                outcome.outcome = .reused
                outcome.reusedFrom = twin.name
            }
            outcomes.append(outcome)
        }
        for layer in old.plan.layers where !newNames.contains(layer.name) {
            outcomes.append(LayerCacheOutcome(name: layer.name, type: layer.strategy.typeName, outcome: .removed, reasons: [], reusedFrom: nil, oldKey: oldKeys[layer.name], newKey: nil))
        }
        return outcomes
    }

    private static func keys(_ side: PlanSnapshot, _ packages: [String: LockedLayer]) throws -> [String: ContentDigest] {
        var keys: [String: ContentDigest] = [:]
        for layer in side.plan.layers {
            keys[layer.name] = try LayerCacheKey(
                layer: layer, plan: side.plan, inputDigests: side.inputDigests, packages: packages[layer.name]?.packagesDigest).digest
        }
        return keys
    }

    private static func reasons(_ change: LayerChange?, planWide: [String], lock: Bool, layer: LayerSpec, old: ImageBuildPlan, new: ImageBuildPlan) -> [String] {
        var reasons: [String] = []
        if let change {
            // An item is a change of declaration unless all that differs is
            // the content digest of a host input; a scalar item (a package
            // atom: `tzdata` → `tzdata (>= 2025a)`) has no fields to tell.
            let spec = !change.fields.isEmpty
                || change.items.contains { $0.change != .changed || $0.fields.isEmpty || $0.fields.contains { !LayerChange.digestFields.contains($0.field) } }
            let inputs = change.items.contains { $0.fields.contains { LayerChange.digestFields.contains($0.field) } }
            if spec { reasons.append("spec") }
            if inputs { reasons.append("inputs") }
        }
        if lock { reasons.append("lock") }
        reasons += planWide
        if case .packages = layer.strategy, (old.base == .scratch) != (new.base == .scratch) { reasons.append("base") }
        return reasons.isEmpty ? ["key"] : reasons
    }

    private enum Keys: String, CodingKey {
        case name, type, outcome, reasons
        case reusedFrom = "reused_from", oldKey = "old_key", newKey = "new_key", shared
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(reasons, forKey: .reasons)
        try container.encodeIfPresent(reusedFrom, forKey: .reusedFrom)
        try container.encodeIfPresent(oldKey, forKey: .oldKey)
        try container.encodeIfPresent(newKey, forKey: .newKey)
        try container.encodeIfPresent(shared, forKey: .shared)
    }
}
