import KilnCore

/// The set of entries a layer will hold, keyed by path.
///
/// Strategies insert what they produce; ``sortedEntries()`` gives the
/// stream order of SPEC §2: byte order of the full path, every parent
/// directory present (synthesized as 0755, 0:0 when not declared) before
/// its children, each path once, and every hardlink pointing at an entry
/// earlier in the stream.
public struct LayerTree: Sendable {
    private var entries: [String: LayerEntry] = [:]

    public init() {}

    /// Number of entries inserted (parents not yet synthesized).
    public var count: Int { entries.count }

    /// About how many bytes the layer's tar stream will have: a 512-byte
    /// header per entry, each regular file's bytes padded to 512, the
    /// 1024-byte end (PAX headers left out). What live progress shows the
    /// bytes written against, before the stream starts (SPEC §4).
    public var estimatedTarSize: Int64 {
        entries.values.reduce(1024) { total, entry in
            guard case .regular(let content) = entry.kind else { return total + 512 }
            return total + 512 + (content.size + 511) / 512 * 512
        }
    }

    /// The entry at `path`, if one was inserted.
    public subscript(path: String) -> LayerEntry? { entries[path] }

    /// Adds an entry.
    /// - Throws: ``LayerTreeError/duplicatePath(_:)`` when the path is taken,
    ///   ``LayerTreeError/invalidPath(_:)`` when it is not normalized.
    public mutating func insert(_ entry: LayerEntry) throws(LayerTreeError) {
        guard LayerTree.isNormalized(entry.path) else { throw .invalidPath(entry.path) }
        guard entries[entry.path] == nil else { throw .duplicatePath(entry.path) }
        entries[entry.path] = entry
    }

    /// Adds or replaces an entry (for strategies where a later source wins,
    /// such as an explicit directory over one synthesized earlier).
    public mutating func upsert(_ entry: LayerEntry) throws(LayerTreeError) {
        guard LayerTree.isNormalized(entry.path) else { throw .invalidPath(entry.path) }
        entries[entry.path] = entry
    }

    /// Whether `path` is relative, non-empty, and free of empty, `.` and `..`
    /// components.
    public static func isNormalized(_ path: String) -> Bool {
        guard !path.isEmpty else { return false }
        for component in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty { return false }
            if component.elementsEqual(".".utf8) || component.elementsEqual("..".utf8) { return false }
        }
        return true
    }

    /// The entries in stream order, parents synthesized.
    /// - Throws: ``LayerTreeError/parentNotDirectory(path:parent:)`` when an
    ///   entry sits below a file or symlink, ``LayerTreeError/danglingHardlink(path:target:)``
    ///   when a hardlink names no regular file of the tree.
    public func sortedEntries() throws(LayerTreeError) -> [LayerEntry] {
        var all = entries
        for path in entries.keys {
            var parent = LayerTree.parent(of: path)
            while let dir = parent {
                if let existing = all[dir] {
                    guard existing.kind == .directory else {
                        throw .parentNotDirectory(path: path, parent: dir)
                    }
                    break
                }
                all[dir] = LayerEntry(path: dir, kind: .directory, mode: 0o755)
                parent = LayerTree.parent(of: dir)
            }
        }
        try LayerTree.orderHardlinks(&all)
        return all.values.sorted { $0.path.utf8Precedes($1.path) }
    }

    /// The parent of a normalized path, or nil at the top.
    public static func parent(of path: String) -> String? {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return String(path[..<slash])
    }

    /// Makes the first path (in stream order) of every hardlink group the
    /// regular file and every other member a link to it, so a reader always
    /// meets the target before the link.
    private static func orderHardlinks(_ all: inout [String: LayerEntry]) throws(LayerTreeError) {
        var groups: [String: [String]] = [:]
        for entry in all.values {
            guard case .hardlink(let target) = entry.kind else { continue }
            guard let targetEntry = all[target], case .regular = targetEntry.kind else {
                throw .danglingHardlink(path: entry.path, target: target)
            }
            groups[target, default: [target]].append(entry.path)
        }
        for (target, members) in groups {
            let first = members.min { $0.utf8Precedes($1) }!
            guard first != target else { continue }
            let file = all[target]!
            all[first] = LayerEntry(path: first, kind: file.kind, mode: file.mode, uid: file.uid, gid: file.gid)
            for member in members where member != first {
                var link = all[member]!
                if member == target { link = file }
                link.kind = .hardlink(target: first)
                all[member] = link
            }
        }
    }
}

/// Why a tree cannot hold an entry.
public enum LayerTreeError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicatePath(String)
    case invalidPath(String)
    case parentNotDirectory(path: String, parent: String)
    case danglingHardlink(path: String, target: String)

    public var description: String {
        switch self {
        case .duplicatePath(let path): "two entries produce the image path /\(path)"
        case .invalidPath(let path): "invalid image path \"\(path)\""
        case .parentNotDirectory(let path, let parent): "/\(path) sits below /\(parent), which is not a directory"
        case .danglingHardlink(let path, let target): "hardlink /\(path) points at /\(target), which is not a regular file of the layer"
        }
    }
}
