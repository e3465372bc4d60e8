import Foundation
import Archive
public import KilnCore
public import OCI
import Strategies

/// One side of a layout diff: the image an OCI layout (or a tar of one)
/// holds, its manifest and config verified.
public struct LayoutSnapshot: Sendable {
    /// The directory or archive as the user named it.
    public var label: String
    /// The image, its manifest and config read and verified.
    public var image: LayoutImage

    /// A side made of an image already read.
    public init(label: String, image: LayoutImage) {
        self.label = label
        self.image = image
    }

    /// Opens the layout at `path`: a directory, or an `oci-archive` tar
    /// unpacked into `scratch` (an empty directory) first. The layout must
    /// hold one image. Every layer blob is hashed against its descriptor:
    /// the diff skips layers whose digests agree, so a tampered blob under
    /// the same digest would otherwise pass as "no differences".
    /// - Throws: ``LayoutError``, ``DiffError/severalImages(layout:count:refs:)``.
    /// - Parameter platform: the image to take from a multi-platform
    ///   layout; nil takes this machine's platform where it holds several
    ///   (as `kiln export` and `kiln pull` do).
    public static func open(_ path: String, scratch: String, platform: Platform? = nil) throws -> LayoutSnapshot {
        var isDirectory: ObjCBool = false
        let reader: LayoutReader
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue {
            reader = try LayoutReader.unpackArchive(path, into: scratch)
        } else {
            reader = try LayoutReader(directory: path)
        }
        do {
            if let platform { return LayoutSnapshot(label: path, image: try reader.image(ref: nil, platform: platform)) }
            if let host = try? reader.image(ref: nil, platform: Platform.host) { return LayoutSnapshot(label: path, image: host) }
            return LayoutSnapshot(label: path, image: try reader.image(ref: nil, platform: nil))
        } catch .ambiguousImage(_, let count, let refs) {
            throw DiffError.severalImages(layout: path, count: count, refs: refs)
        }
    }
}

/// What changes between two built images: manifest and config fields, and
/// per layer either nothing (same digest) or the files added, removed and
/// changed, read by streaming both layer tars.
public struct LayoutDiff: Hashable, Sendable, Encodable {
    /// The old layout as the user named it (directory or archive).
    public var old: String
    /// The new layout as the user named it.
    public var new: String
    /// `manifest_digest`, `config_digest`, `media_type`, `annotations` (the
    /// manifest's) and `index_annotations` (its descriptor's in `index.json`).
    public var manifest: [ValueChange]
    /// The image config's fields (`created`, `architecture`, …) and its
    /// runtime config's (`Env` and `Labels` by key, `ExposedPorts` and
    /// `Volumes` by member, `Entrypoint`, …), then `history` entries by
    /// position.
    public var config: [ValueChange]
    /// Every layer of either image: new image order, then layers only the
    /// old image has.
    public var layers: [LayoutLayerChange]

    /// Whether the two layouts hold the same image.
    public var isEqual: Bool { manifest.isEmpty && config.isEmpty && layers.allSatisfy { $0.status == .same } }

    static let configFields = ["created", "author", "architecture", "os", "os.version", "os.features", "variant"]
    static let runtimeFields = ["Entrypoint", "Cmd", "Env", "WorkingDir", "User", "ExposedPorts", "Volumes", "StopSignal", "Labels"]

    /// Compares two images.
    /// - Throws: ``DiffError`` for a layer that cannot be read or whose
    ///   content does not match its diff_id.
    public static func compare(old: LayoutSnapshot, new: LayoutSnapshot) throws -> LayoutDiff {
        let a = old.image, b = new.image
        var manifest = TreeDiff.value("manifest_digest", .string(a.manifestDescriptor.digest.description), .string(b.manifestDescriptor.digest.description))
        manifest += TreeDiff.value("config_digest", .string(a.manifest.config.digest.description), .string(b.manifest.config.digest.description))
        manifest += TreeDiff.value("media_type", a.manifest.mediaType.map(JSONValue.string), b.manifest.mediaType.map(JSONValue.string))
        manifest += TreeDiff.map("annotations", strings(a.manifest.annotations), strings(b.manifest.annotations))
        manifest += TreeDiff.map("index_annotations", strings(a.manifestDescriptor.annotations), strings(b.manifestDescriptor.annotations))
        let config = try configChanges(a.config, b.config)
        let layers = try LayoutLayerChange.compare(old: old, new: new)
        return LayoutDiff(old: old.label, new: new.label, manifest: manifest, config: config, layers: layers)
    }

    private static func strings(_ map: [String: String]?) -> [String: JSONValue] {
        (map ?? [:]).mapValues(JSONValue.string)
    }

    private static func configChanges(_ old: ImageConfig, _ new: ImageConfig) throws -> [ValueChange] {
        let before = TreeDiff.object(try CanonicalJSONEncoder.tree(of: old)), after = TreeDiff.object(try CanonicalJSONEncoder.tree(of: new))
        var changes = TreeDiff.fields(before, after, order: configFields, skipping: ["config", "rootfs", "history"])
        let oldRuntime = TreeDiff.object(before["config"]), newRuntime = TreeDiff.object(after["config"])
        let runtimeKeys = runtimeFields + TreeDiff.sortedKeys(Set(oldRuntime.keys).union(newRuntime.keys).subtracting(runtimeFields))
        for field in runtimeKeys {
            switch field {
            case "Env": changes += TreeDiff.map(field, environment(oldRuntime[field]), environment(newRuntime[field]))
            case "Labels": changes += TreeDiff.map(field, TreeDiff.object(oldRuntime[field]), TreeDiff.object(newRuntime[field]))
            case "ExposedPorts", "Volumes":
                changes += TreeDiff.set(field, TreeDiff.object(oldRuntime[field]).keys.map(JSONValue.string), TreeDiff.object(newRuntime[field]).keys.map(JSONValue.string))
            default: changes += TreeDiff.value(field, oldRuntime[field], newRuntime[field])
            }
        }
        let oldHistory = try history(old), newHistory = try history(new)
        for index in 0..<max(oldHistory.count, newHistory.count) {
            changes += TreeDiff.value("history", key: String(index + 1), index < oldHistory.count ? oldHistory[index] : nil, index < newHistory.count ? newHistory[index] : nil)
        }
        return changes
    }

    /// `KEY=value` entries by key.
    private static func environment(_ value: JSONValue?) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for entry in TreeDiff.array(value).compactMap(TreeDiff.string) {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            result[String(parts[0])] = .string(parts.count > 1 ? String(parts[1]) : "")
        }
        return result
    }

    /// History entries, without a `created` that only repeats the config's
    /// (so a new `created` is reported once, not once per layer).
    private static func history(_ config: ImageConfig) throws -> [JSONValue] {
        try (config.history ?? []).map { entry in
            var fields = TreeDiff.object(try CanonicalJSONEncoder.tree(of: entry))
            if entry.created == config.created { fields["created"] = nil }
            return .object(fields)
        }
    }

    private enum Keys: String, CodingKey { case kind, old, new, equal, manifest, config, layers }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode("layouts", forKey: .kind)
        try container.encode(old, forKey: .old)
        try container.encode(new, forKey: .new)
        try container.encode(isEqual, forKey: .equal)
        try container.encode(manifest, forKey: .manifest)
        try container.encode(config, forKey: .config)
        try container.encode(layers, forKey: .layers)
    }
}

/// One layer of either image, matched with its counterpart.
///
/// Layers whose history says `kiln <type> <name>` are matched by name;
/// the others (base layers, images from other tools) by their position
/// among such unnamed layers.
public struct LayoutLayerChange: Hashable, Sendable, Encodable {
    /// How the layer compares with its counterpart.
    public enum Status: String, Hashable, Sendable, Encodable {
        /// Same digest: the same blob.
        case same
        /// Same diff_id, another blob: the same files, compressed otherwise.
        case recompressed
        /// Another diff_id: `files` says what differs.
        case changed
        /// Only the new image has it; `files` lists its entries.
        case added
        /// Only the old image has it; `files` lists its entries.
        case removed
    }

    /// The kiln layer name, when the history gives one.
    public var name: String?
    /// Same, recompressed, changed, added or removed.
    public var status: Status
    /// 1-based position in the old image's manifest; nil for an added layer.
    public var oldPosition: Int?
    /// 1-based position in the new image's manifest; nil for a removed layer.
    public var newPosition: Int?
    /// The old blob's digest; nil for an added layer.
    public var oldDigest: ContentDigest?
    /// The new blob's digest; nil for a removed layer.
    public var newDigest: ContentDigest?
    /// The old diff_id (digest of the uncompressed tar); nil for an added layer.
    public var oldDiffID: ContentDigest?
    /// The new diff_id; nil for a removed layer. Equal to ``oldDiffID`` for a
    /// layer that was only recompressed.
    public var newDiffID: ContentDigest?
    /// `media_type`, `blob_size` and `created_by`, where they differ.
    public var fields: [ValueChange]
    /// Entries that differ, by image path; each side a record with `type`,
    /// `size`, `mode`, `owner`, `target`, `device`, `digest`.
    public var files: [ItemChange]
    /// The old blob's size in bytes; nil for an added layer.
    public var oldSize: Int64? = nil
    /// The new blob's size in bytes; nil for a removed layer.
    public var newSize: Int64? = nil
    /// Debian packages the layer's dpkg database (`/var/lib/dpkg/status.d/`,
    /// `/var/lib/dpkg/status`) adds, removes or changes.
    public var packages: [PackageChange] = []

    /// How an image's layers are named for matching, in order.
    private struct Named {
        var key: String
        var name: String?
        var layer: LayoutLayer
        var createdBy: String?
    }

    private static func named(_ image: LayoutImage) -> [Named] {
        let history = (image.config.history ?? []).filter { $0.emptyLayer != true }
        var layers: [Named] = []
        for (index, layer) in image.layers.enumerated() {
            let createdBy = index < history.count ? history[index].createdBy : nil
            let words = (createdBy ?? "").split(separator: " ")
            let name = words.count == 3 && words[0] == "kiln" ? String(words[2]) : nil
            layers.append(Named(key: "", name: name, layer: layer, createdBy: createdBy))
        }
        // A name used twice cannot match anything reliably: treat as unnamed.
        var counts: [String: Int] = [:]
        for layer in layers { if let name = layer.name { counts[name, default: 0] += 1 } }
        var unnamed = 0
        for index in layers.indices {
            if let name = layers[index].name, counts[name] == 1 {
                layers[index].key = "name " + name
            } else {
                layers[index].name = nil
                unnamed += 1
                layers[index].key = "#\(unnamed)"
            }
        }
        return layers
    }

    static func compare(old: LayoutSnapshot, new: LayoutSnapshot) throws -> [LayoutLayerChange] {
        let before = named(old.image), after = named(new.image)
        var oldByKey: [String: (Int, Named)] = [:]
        for (index, layer) in before.enumerated() { oldByKey[layer.key] = (index + 1, layer) }
        var changes: [LayoutLayerChange] = []
        var matched = Set<String>()
        for (index, layer) in after.enumerated() {
            guard let (position, previous) = oldByKey[layer.key] else {
                changes.append(try onlyOne(layer, position: index + 1, in: new.label, added: true))
                continue
            }
            matched.insert(layer.key)
            changes.append(try pair(previous, layer, positions: (position, index + 1), labels: (old.label, new.label)))
        }
        for (index, layer) in before.enumerated() where !matched.contains(layer.key) {
            changes.append(try onlyOne(layer, position: index + 1, in: old.label, added: false))
        }
        return changes
    }

    private static func pair(_ old: Named, _ new: Named, positions: (Int, Int), labels: (String, String)) throws -> LayoutLayerChange {
        let a = old.layer, b = new.layer
        var fields = TreeDiff.value("media_type", .string(a.descriptor.mediaType), .string(b.descriptor.mediaType))
        fields += TreeDiff.value("blob_size", .integer(a.descriptor.size), .integer(b.descriptor.size))
        fields += TreeDiff.value("created_by", old.createdBy.map(JSONValue.string), new.createdBy.map(JSONValue.string))
        var change = LayoutLayerChange(
            name: new.name, status: .same, oldPosition: positions.0, newPosition: positions.1,
            oldDigest: a.descriptor.digest, newDigest: b.descriptor.digest, oldDiffID: a.diffID, newDiffID: b.diffID,
            fields: fields, files: [], oldSize: a.descriptor.size, newSize: b.descriptor.size)
        if a.descriptor.digest == b.descriptor.digest { return change }
        if a.diffID == b.diffID {
            change.status = .recompressed
            return change
        }
        change.status = .changed
        let before = try LayerListing.listing(a, layout: labels.0), after = try LayerListing.listing(b, layout: labels.1)
        change.files = files(before.entries, after.entries)
        change.packages = PackageChange.compare(Array(before.packages.values), Array(after.packages.values))
        return change
    }

    private static func onlyOne(_ layer: Named, position: Int, in label: String, added: Bool) throws -> LayoutLayerChange {
        let listing = try LayerListing.listing(layer.layer, layout: label)
        let descriptor = layer.layer.descriptor
        let packages = Array(listing.packages.values)
        var change = LayoutLayerChange(
            name: layer.name, status: added ? .added : .removed,
            oldPosition: added ? nil : position, newPosition: added ? position : nil,
            oldDigest: added ? nil : descriptor.digest, newDigest: added ? descriptor.digest : nil,
            oldDiffID: added ? nil : layer.layer.diffID, newDiffID: added ? layer.layer.diffID : nil,
            fields: [], files: added ? files([:], listing.entries) : files(listing.entries, [:]))
        change.oldSize = added ? nil : descriptor.size
        change.newSize = added ? descriptor.size : nil
        change.packages = added ? PackageChange.compare([], packages) : PackageChange.compare(packages, [])
        return change
    }

    private static func files(_ old: [String: JSONValue], _ new: [String: JSONValue]) -> [ItemChange] {
        TreeDiff.sortedKeys(Set(old.keys).union(new.keys)).compactMap { path in
            let before = old[path], after = new[path]
            guard before != after else { return nil }
            let fields = before != nil && after != nil
                ? TreeDiff.fields(TreeDiff.object(before), TreeDiff.object(after), order: LayerListing.fieldOrder) : []
            return ItemChange(section: "files", key: path, old: before, new: after, fields: fields)
        }
    }

    private enum Keys: String, CodingKey {
        case name, status, fields, files, packages
        case oldSize = "old_size", newSize = "new_size"
        case oldPosition = "old_position", newPosition = "new_position", oldDigest = "old_digest", newDigest = "new_digest"
        case oldDiffID = "old_diff_id", newDiffID = "new_diff_id"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(name, forKey: .name)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(oldPosition, forKey: .oldPosition)
        try container.encodeIfPresent(newPosition, forKey: .newPosition)
        try container.encodeIfPresent(oldDigest, forKey: .oldDigest)
        try container.encodeIfPresent(newDigest, forKey: .newDigest)
        try container.encodeIfPresent(oldDiffID, forKey: .oldDiffID)
        try container.encodeIfPresent(newDiffID, forKey: .newDiffID)
        try container.encodeIfPresent(oldSize, forKey: .oldSize)
        try container.encodeIfPresent(newSize, forKey: .newSize)
        try container.encode(fields, forKey: .fields)
        try container.encode(packages, forKey: .packages)
        try container.encode(files, forKey: .files)
    }
}
