import KilnCore

/// The set of entries a layer will hold, keyed by path.
///
/// Strategies insert what they produce; ``sortedEntries()`` gives the
/// stream order of SPEC §2: byte order of the full path, every parent
/// directory present (synthesized as 0755, 0:0 when not declared) before
/// its children, each path once, and every hardlink pointing at an entry
/// earlier in the stream.
public struct LayerTree: Sendable {
    /// In insertion order.
    private var entries: [LayerEntry] = []
    /// Each path's index in `entries`. An array and an index rather than a
    /// dictionary of entries: half the memory for a tree of 100,000 files,
    /// and ``sortedEntries()`` copies only the array (issue 19).
    private var positions: [String: Int] = [:]

    public init() {}

    /// Number of entries inserted (parents not yet synthesized).
    public var count: Int { entries.count }

    /// About how many bytes the layer's tar stream will have: a 512-byte
    /// header per entry, each regular file's bytes padded to 512, the
    /// 1024-byte end (PAX headers left out). What live progress shows the
    /// bytes written against, before the stream starts (SPEC §4).
    public var estimatedTarSize: Int64 {
        entries.reduce(1024) { total, entry in
            guard case .regular(let content) = entry.kind else { return total + 512 }
            return total + 512 + (content.size + 511) / 512 * 512
        }
    }

    /// The entry at `path`, if one was inserted.
    public subscript(path: String) -> LayerEntry? { positions[path].map { entries[$0] } }

    /// The place of `path` in insertion order (0 for the first entry
    /// inserted), if it was inserted: what a strategy that keeps a record
    /// per inserted entry (such as where in the plan it came from) indexes
    /// that record by.
    public func insertionIndex(of path: String) -> Int? { positions[path] }

    /// Adds an entry.
    /// - Throws: ``LayerTreeError/duplicatePath(_:)`` when the path is taken,
    ///   ``LayerTreeError/invalidPath(_:)`` when it is not normalized.
    public mutating func insert(_ entry: LayerEntry) throws(LayerTreeError) {
        guard LayerTree.isNormalized(entry.path) else { throw .invalidPath(entry.path) }
        guard positions[entry.path] == nil else { throw .duplicatePath(entry.path) }
        positions[entry.path] = entries.count
        entries.append(entry)
    }

    /// Adds or replaces an entry (for strategies where a later source wins,
    /// such as an explicit directory over one synthesized earlier). A
    /// replaced entry keeps its insertion index.
    public mutating func upsert(_ entry: LayerEntry) throws(LayerTreeError) {
        guard LayerTree.isNormalized(entry.path) else { throw .invalidPath(entry.path) }
        if let position = positions[entry.path] {
            entries[position] = entry
        } else {
            positions[entry.path] = entries.count
            entries.append(entry)
        }
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

    /// Throws what ``sortedEntries()`` would, without copying or ordering
    /// anything: for a strategy that reports a tree's errors while it is
    /// prepared, before the layer is written.
    public func check() throws(LayerTreeError) {
        _ = try missingParents()
        _ = try hardlinkGroups()
    }

    /// The entries in stream order, parents synthesized.
    ///
    /// Consuming: a caller that gives the tree up (as the layer writer does)
    /// gets its entries array back in order, not a copy of it, and the
    /// path index is freed before the sort.
    /// - Throws: ``LayerTreeError/parentNotDirectory(path:parent:)`` when an
    ///   entry sits below a file or symlink (the first such entry in
    ///   insertion order), ``LayerTreeError/danglingHardlink(path:target:)``
    ///   when a hardlink names no regular file of the tree.
    public consuming func sortedEntries() throws(LayerTreeError) -> [LayerEntry] {
        let parents = try missingParents()
        let groups = try hardlinkGroups()
        var all = entries
        entries = []
        orderHardlinks(groups, in: &all)
        positions = [:]
        all.append(contentsOf: parents.map { LayerEntry(path: $0, kind: .directory, mode: 0o755) })
        all.sort { $0.path.utf8Precedes($1.path) }
        return all
    }

    /// Parents no entry declares (they become 0755 directories), in the
    /// order met.
    private func missingParents() throws(LayerTreeError) -> [String] {
        var missing: [String] = []
        var met: Set<String> = []
        for entry in entries {
            var parent = LayerTree.parent(of: entry.path)
            while let directory = parent {
                if let position = positions[directory] {
                    guard entries[position].kind == .directory else {
                        throw .parentNotDirectory(path: entry.path, parent: directory)
                    }
                    break
                }
                guard met.insert(directory).inserted else { break }
                missing.append(directory)
                parent = LayerTree.parent(of: directory)
            }
        }
        return missing
    }

    /// Hardlink groups: each target path with the paths linking to it.
    private func hardlinkGroups() throws(LayerTreeError) -> [String: [String]] {
        var groups: [String: [String]] = [:]
        for entry in entries {
            guard case .hardlink(let target) = entry.kind else { continue }
            guard let position = positions[target], case .regular = entries[position].kind else {
                throw .danglingHardlink(path: entry.path, target: target)
            }
            groups[target, default: [target]].append(entry.path)
        }
        return groups
    }

    /// The parent of a normalized path, or nil at the top.
    public static func parent(of path: String) -> String? {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
        return String(path[..<slash])
    }

    /// Makes the first path (in stream order) of every hardlink group the
    /// regular file and every other member a link to it, so a reader always
    /// meets the target before the link. `all` is `entries`, in insertion
    /// order, so `positions` holds.
    private func orderHardlinks(_ groups: [String: [String]], in all: inout [LayerEntry]) {
        for (target, members) in groups {
            let first = members.min { $0.utf8Precedes($1) }!
            guard first != target else { continue }
            let file = all[positions[target]!]
            all[positions[first]!] = LayerEntry(path: first, kind: file.kind, mode: file.mode, uid: file.uid, gid: file.gid)
            for member in members where member != first {
                let position = positions[member]!
                var link = member == target ? file : all[position]
                link.kind = .hardlink(target: first)
                all[position] = link
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
