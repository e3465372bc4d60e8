import KilnCore
import OCI
import Plan

/// What changes between two plans, in meaning rather than text: the image's
/// identity, its runtime config, its layers matched by name, and which
/// layers the cache will rebuild.
///
/// Both plans are compared in their normalized form (``ImageBuildPlan``'s
/// JSON, as `kiln plan` prints it), so formatting, key order, comments and
/// anchors change nothing; host paths are compared relative to each plan's
/// directory, and host inputs by content digest.
public struct PlanDiff: Hashable, Sendable, Encodable {
    /// How the old plan is named: a path, or `PLAN@REV` for a git revision.
    public var old: String
    /// How the new plan is named, in the same form.
    public var new: String
    /// `name`, `tag`, `base`, `platform`, `created`, `compression`, `sbom`.
    public var image: [ValueChange]
    /// `entrypoint`, `cmd`, `env`, `workdir`, `user`, `expose`, `volumes`,
    /// `stop_signal`, `labels`, `annotations`.
    public var config: [ValueChange]
    /// Layers added, removed, moved or changed; new plan order, then the
    /// removed ones in old plan order.
    public var layers: [LayerChange]
    /// Per packages layer, the packages its resolution (the lock file, or
    /// `--resolve`) adds, removes, upgrades or downgrades; or that it is
    /// unknown.
    public var packages: [PackagesLayerDiff] = []
    /// Small texts that changed (inline `content`, small `source` files,
    /// build commands), with their unified diffs.
    public var texts: [TextDiff] = []
    /// For every layer of either plan, whether the cache keeps it or it is
    /// built again.
    public var cache: [LayerCacheOutcome]

    /// Whether the two plans describe the same image.
    public var isEqual: Bool { image.isEmpty && config.isEmpty && layers.isEmpty && packages.isEmpty }

    static let imageFields = ["name", "tag", "base", "platform", "created", "compression", "sbom"]
    static let mapFields: Set<String> = ["env", "labels", "annotations"]
    static let setFields: Set<String> = ["expose", "volumes"]
    static let configFields = ["entrypoint", "cmd", "env", "workdir", "user", "expose", "volumes", "stop_signal", "labels", "annotations"]

    /// Compares two plans.
    /// - Throws: ``CanonicalJSONError`` when a plan cannot be encoded (it
    ///   always can), or what ``LayerCacheKey`` throws.
    public static func compare(old: PlanSnapshot, new: PlanSnapshot) throws -> PlanDiff {
        let before = try old.comparableTree(), after = try new.comparableTree()
        var image = imageFields.flatMap { TreeDiff.value($0, before[$0], after[$0]) }
        // A registry base's tag is pinned in the lock file: a new pin is a
        // new base image, though the plan reads the same.
        image += TreeDiff.value("base_digest", old.lock?.base.map { .string($0.digest.description) }, new.lock?.base.map { .string($0.digest.description) })
        let config = configFields.flatMap { field -> [ValueChange] in
            if mapFields.contains(field) { return TreeDiff.map(field, TreeDiff.object(before[field]), TreeDiff.object(after[field])) }
            if setFields.contains(field) { return TreeDiff.set(field, TreeDiff.array(before[field]), TreeDiff.array(after[field])) }
            return TreeDiff.value(field, before[field], after[field])
        }
        let layers = LayerChange.compare(TreeDiff.array(before["layers"]), TreeDiff.array(after["layers"]))
        var diff = PlanDiff(old: old.label, new: new.label, image: image, config: config, layers: layers, cache: [])
        diff.packages = PackagesLayerDiff.compare(old: old, new: new, layers: layers)
        diff.texts = TextDiff.compare(layers, old: old, new: new)
        diff.cache = try LayerCacheOutcome.outcomes(old: old, new: new, diff: diff)
        return diff
    }

    private enum Keys: String, CodingKey { case kind, old, new, equal, image, config, layers, packages, texts, cache }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode("plans", forKey: .kind)
        try container.encode(old, forKey: .old)
        try container.encode(new, forKey: .new)
        try container.encode(isEqual, forKey: .equal)
        try container.encode(image, forKey: .image)
        try container.encode(config, forKey: .config)
        try container.encode(layers, forKey: .layers)
        try container.encode(packages, forKey: .packages)
        try container.encode(texts, forKey: .texts)
        try container.encode(cache, forKey: .cache)
    }
}

/// A layer that differs between two plans, matched by name.
public struct LayerChange: Hashable, Sendable, Encodable {
    /// `added`, `removed`, `moved` (only its position changed) or `changed`
    /// (its declaration changed, and it may have moved too).
    public enum Kind: String, Hashable, Sendable, Encodable {
        /// The kinds described above; `--json` writes them as these words.
        case added, removed, moved, changed
    }

    /// The name that matched the layer across the plans.
    public var name: String
    /// The layer's strategy (the new one when both sides have the layer).
    public var type: String
    /// Added, removed, moved or changed.
    public var change: Kind
    /// 1-based position in the old plan; nil for an added layer.
    public var oldPosition: Int?
    /// 1-based position in the new plan; nil for a removed layer.
    public var newPosition: Int?
    /// Plain, map and set fields that differ (`command`, `env` keys,
    /// `exclude` members, `files_order`…).
    public var fields: [ValueChange]
    /// Items of keyed lists that differ: `files` by image path, `names` by
    /// package, `inputs` by path, `sources` by directory or URI.
    public var items: [ItemChange]

    /// Whether its position differs between the plans.
    public var moved: Bool { oldPosition != nil && newPosition != nil && oldPosition != newPosition }

    /// Fields compared as plain values, in the order they are reported.
    static let fieldOrder = ["type", "command", "workdir", "env", "sandbox", "timeout", "resolve", "exclude", "store_path", "store_dir", "closure"]
    /// The host-input digests among item fields: a change of only these is
    /// a change of input content, not of the declaration.
    static let digestFields: Set<String> = ["source_digest", "digest", "dir_digest"]

    private struct Section: Sendable {
        var name: String
        var key: @Sendable (JSONValue) -> String
        var order: [String]
        var skipping: Set<String>
    }

    private static let sections = [
        Section(name: "files", key: { TreeDiff.string(TreeDiff.object($0)["path"]) ?? "" },
                order: ["source", "source_digest", "content", "symlink", "directory", "replace", "remove", "mode", "owner"], skipping: ["path"]),
        Section(name: "names", key: { packageName(TreeDiff.string($0) ?? "") }, order: [], skipping: []),
        // An input's `source` is its `path` seen from the plan's directory:
        // the same thing twice.
        Section(name: "inputs", key: { TreeDiff.string(TreeDiff.object($0)["path"]) ?? "" }, order: ["digest"], skipping: ["path", "source"]),
        Section(name: "sources", key: sourceKey,
                order: ["dir", "dir_digest", "uri", "suite", "components", "signed_by", "allow_unsigned"], skipping: []),
    ]

    /// Matches layers by name and compares each pair.
    static func compare(_ old: [JSONValue], _ new: [JSONValue]) -> [LayerChange] {
        func byName(_ layers: [JSONValue]) -> [String: (position: Int, fields: [String: JSONValue])] {
            var result: [String: (Int, [String: JSONValue])] = [:]
            for (index, layer) in layers.enumerated() {
                let fields = TreeDiff.object(layer)
                result[TreeDiff.string(fields["name"]) ?? ""] = (index + 1, fields)
            }
            return result
        }
        let oldLayers = byName(old)
        var changes: [LayerChange] = []
        var seen = Set<String>()
        for (index, layer) in new.enumerated() {
            let fields = TreeDiff.object(layer)
            let name = TreeDiff.string(fields["name"]) ?? ""
            seen.insert(name)
            let previous = oldLayers[name]
            var change = compare(name: name, old: previous?.fields ?? [:], new: fields)
            change.oldPosition = previous?.position
            change.newPosition = index + 1
            if previous == nil {
                change.change = .added
            } else if change.fields.isEmpty && change.items.isEmpty {
                guard change.moved else { continue }
                change.change = .moved
            }
            changes.append(change)
        }
        for (index, layer) in old.enumerated() {
            let fields = TreeDiff.object(layer)
            let name = TreeDiff.string(fields["name"]) ?? ""
            guard !seen.contains(name) else { continue }
            var change = compare(name: name, old: fields, new: [:])
            change.change = .removed
            change.oldPosition = index + 1
            changes.append(change)
        }
        return changes
    }

    /// The fields and items of one layer that differ (against an empty
    /// layer for one that is added or removed, so its content is listed).
    private static func compare(name: String, old: [String: JSONValue], new: [String: JSONValue]) -> LayerChange {
        let sectionNames = Set(sections.map(\.name))
        var fields: [ValueChange] = []
        for field in fieldOrder + TreeDiff.sortedKeys(Set(old.keys).union(new.keys).subtracting(fieldOrder).subtracting(sectionNames).subtracting(["name"])) {
            switch field {
            case "env": fields += TreeDiff.map(field, TreeDiff.object(old[field]), TreeDiff.object(new[field]))
            case "exclude": fields += TreeDiff.set(field, TreeDiff.array(old[field]), TreeDiff.array(new[field]))
            // A layer on one side only is headed by its type already.
            case "type" where old.isEmpty || new.isEmpty: continue
            default: fields += TreeDiff.value(field, old[field], new[field])
            }
        }
        var items: [ItemChange] = []
        for section in sections {
            let result = TreeDiff.items(
                section.name, TreeDiff.array(old[section.name]), TreeDiff.array(new[section.name]),
                key: section.key, order: section.order, skipping: section.skipping)
            items += result.items
            if let reordered = result.reordered { fields.append(reordered) }
        }
        let type = TreeDiff.string(new["type"]) ?? TreeDiff.string(old["type"]) ?? ""
        return LayerChange(name: name, type: type, change: .changed, oldPosition: nil, newPosition: nil, fields: fields, items: items)
    }

    /// The package an atom names: `curl` of `curl=7.88.1-10` or `curl (>= 7)`.
    static func packageName(_ atom: String) -> String {
        let end = atom.firstIndex { $0 == "=" || $0 == "(" || $0 == " " } ?? atom.endIndex
        return String(atom[..<end])
    }

    /// A package source's identity: `system`, its directory, or `URI SUITE`.
    private static func sourceKey(_ source: JSONValue) -> String {
        if let text = TreeDiff.string(source) { return text }
        let fields = TreeDiff.object(source)
        if let directory = TreeDiff.string(fields["dir"]) { return directory }
        return [TreeDiff.string(fields["uri"]), TreeDiff.string(fields["suite"])].compactMap { $0 }.joined(separator: " ")
    }

    private enum Keys: String, CodingKey {
        case name, type, change, moved, fields, items
        case oldPosition = "old_position", newPosition = "new_position"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(name, forKey: .name)
        try container.encode(type, forKey: .type)
        try container.encode(change, forKey: .change)
        try container.encode(moved, forKey: .moved)
        try container.encodeIfPresent(oldPosition, forKey: .oldPosition)
        try container.encodeIfPresent(newPosition, forKey: .newPosition)
        try container.encode(fields, forKey: .fields)
        try container.encode(items, forKey: .items)
    }
}
