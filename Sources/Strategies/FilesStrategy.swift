import Archive
import KilnCore
public import Plan

/// The `files` strategy (SPEC §1.1): declared content, no execution.
///
/// - `content`: a regular file holding the text, mode `mode` or 0644.
/// - `directory: true`: an empty directory, mode `mode` or 0755.
/// - `symlink`: a symlink whose target is stored verbatim (always 0777;
///   `mode` does not apply to symlinks, whose permissions Linux ignores).
/// - `source`: a host file or directory copied recursively with
///   ``HostTreeOptions/ModePolicy/normalized`` modes (0755 if the
///   owner-execute bit is set, else 0644; directories 0755). Symlinks inside
///   are kept, a top-level symlink is followed, and hardlinks inside one
///   source stay hardlinks. `mode` applies to the entry at `path` only: the
///   file itself, or for a directory that directory entry and none of its
///   contents. `owner` applies to every entry copied from the source.
/// - `root` + `paths` arrive from the plan already expanded into `source`
///   entries.
///
/// Every entry is owned by `owner` or 0:0. Two entries producing the same
/// image path — directly or through a copied directory — are an error
/// naming both places in the plan, as is an entry below a path that is not
/// a directory.
///
/// Each entry is one origin of the layer's provenance, recorded for its
/// path and everything copied below it.
public struct FilesStrategy: LayerPreparing {
    /// The plan's layer.
    public var files: FilesLayer

    /// The strategy for one files layer.
    public init(_ files: FilesLayer) {
        self.files = files
    }

    /// Builds the layer's tree; nothing is read from the host but metadata
    /// (file contents are streamed later by ``LayerWriter``).
    /// - Throws: ``FilesStrategyError``.
    public func prepare(_ context: StrategyContext) throws(FilesStrategyError) -> PreparedLayer {
        let layer = context.layer.name
        var tree = LayerTree()
        // The declared entry of each tree entry, by insertion index: where
        // an error points. An index per entry, not a location per path, for
        // memory's sake on sources of 100,000 files.
        var declaredIndex: [Int32] = []
        var provenance = Provenance()
        func origin(of path: String) -> SourceLocation? {
            tree.insertionIndex(of: path).map { files.entries[Int(declaredIndex[$0])].location }
        }

        // The index of the declared entry being added.
        var current: Int32 = 0
        func add(_ entry: LayerEntry, from declared: FileEntry) throws(FilesStrategyError) {
            do {
                try tree.insert(entry)
            } catch {
                switch error {
                case .duplicatePath:
                    throw .duplicatePath(layer: layer, path: entry.path, first: origin(of: entry.path)!, second: declared.location)
                default:
                    throw .invalidPath(layer: layer, location: declared.location, path: entry.path)
                }
            }
            declaredIndex.append(current)
        }

        for (index, declared) in files.entries.enumerated() {
            current = Int32(index)
            let path = String(declared.path.drop { $0 == "/" })
            guard LayerTree.isNormalized(path) else {
                throw .invalidPath(layer: layer, location: declared.location, path: path)
            }
            let uid = declared.owner?.uid ?? 0
            let gid = declared.owner?.gid ?? 0
            let origin = provenance.add(.filesEntry(Self.origin(of: declared, context: context)))
            provenance.assignTree(declared.content == .remove ? Self.whiteoutPath(path) : path, to: origin)
            switch declared.content {
            case .content(let text):
                let entry = LayerEntry(path: path, kind: .regular(.bytes(Array(text.utf8))), mode: declared.mode ?? 0o644, uid: uid, gid: gid)
                try add(entry, from: declared)
            case .directory:
                try add(LayerEntry(path: path, kind: .directory, mode: declared.mode ?? 0o755, uid: uid, gid: gid), from: declared)
                if declared.replace { try add(Self.marker(path + "/" + Whiteout.opaqueMarker), from: declared) }
            case .remove:
                try add(Self.marker(Self.whiteoutPath(path)), from: declared)
            case .symlink(let target):
                try add(LayerEntry(path: path, kind: .symlink(target: target), mode: 0o777, uid: uid, gid: gid), from: declared)
            case .source(let host):
                let options = HostTreeOptions(
                    modes: .normalized, owner: declared.owner, followTopLevelSymlink: true, topLevelMode: declared.mode)
                do {
                    try HostTree.walk(host, at: path, options: options) { entry in try add(entry, from: declared) }
                } catch let error as FilesStrategyError {
                    throw error
                } catch let error as HostTreeError {
                    throw .source(layer: layer, location: declared.location, error)
                } catch {
                    preconditionFailure("HostTree.walk threw \(error), which is neither a HostTreeError nor from the body")
                }
            }
        }

        // Check the tree now, so a path below a file or symlink is
        // reported with both plan locations rather than at write time.
        do {
            try tree.check()
        } catch {
            switch error {
            case .parentNotDirectory(let path, let parent):
                throw .belowNonDirectory(layer: layer, path: path, location: origin(of: path)!, parent: parent, parentLocation: origin(of: parent)!)
            case .danglingHardlink, .duplicatePath, .invalidPath:
                // Hardlinks come only from one walk, paths were checked on
                // insert: the tree cannot produce these here.
                preconditionFailure("files layer \"\(layer)\": \(error)")
            }
        }
        return PreparedLayer(tree: tree, provenance: provenance)
    }

    /// `dir/.wh.name` for `dir/name` (SPEC §1.4).
    static func whiteoutPath(_ path: String) -> String {
        let parent = LayerTree.parent(of: path)
        let name = parent.map { String(path.dropFirst($0.count + 1)) } ?? path
        return (parent.map { $0 + "/" } ?? "") + Whiteout.prefix + name
    }

    /// A whiteout or opaque marker: empty, mode 0000, 0:0, as docker,
    /// containerd and umoci write them.
    static func marker(_ path: String) -> LayerEntry {
        LayerEntry(path: path, kind: .regular(.bytes([])), mode: 0, uid: 0, gid: 0)
    }

    /// What the provenance says of a declared entry; a source's host path
    /// relative to the context, as the cache key has it.
    static func origin(of declared: FileEntry, context: StrategyContext) -> Provenance.FilesEntry {
        switch declared.content {
        case .source(let host):
            Provenance.FilesEntry(path: declared.path, kind: .source, source: Provenance.hostPath(host, relativeTo: context.plan.context))
        case .content:
            Provenance.FilesEntry(path: declared.path, kind: .content)
        case .symlink:
            Provenance.FilesEntry(path: declared.path, kind: .symlink)
        case .directory:
            Provenance.FilesEntry(path: declared.path, kind: .directory)
        case .remove:
            Provenance.FilesEntry(path: declared.path, kind: .remove)
        }
    }
}

/// Why a `files` layer cannot be prepared; every message starts with the
/// plan location (`file:line:column: error: layer "name": …`).
public enum FilesStrategyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Two entries produce the same image path (`first` declared earlier).
    case duplicatePath(layer: String, path: String, first: SourceLocation, second: SourceLocation)
    /// An entry sits below an entry that is not a directory.
    case belowNonDirectory(layer: String, path: String, location: SourceLocation, parent: String, parentLocation: SourceLocation)
    /// A source could not be read.
    case source(layer: String, location: SourceLocation, HostTreeError)
    /// An image path that is not absolute and normalized.
    case invalidPath(layer: String, location: SourceLocation, path: String)
    /// `remove: true` for a path no lower layer has (SPEC §1.4).
    case removesMissing(layer: String, location: SourceLocation, path: String)
    /// An entry below a path a lower layer has as a symlink: its tar would
    /// replace the symlink with a directory. `resolved` is the path the
    /// entry reaches through the symlink.
    case belowLowerSymlink(layer: String, location: SourceLocation, path: String, symlink: String, target: String, resolved: String)

    public var description: String {
        switch self {
        case .duplicatePath(let layer, let path, let first, let second):
            "\(second): error: layer \"\(layer)\": /\(path) is produced twice, by this entry and by the entry at \(first)"
        case .belowNonDirectory(let layer, let path, let location, let parent, let parentLocation):
            "\(location): error: layer \"\(layer)\": /\(path) sits below /\(parent), which is not a directory (declared at \(parentLocation))"
        case .source(let layer, let location, let error):
            "\(location): error: layer \"\(layer)\": \(error)"
        case .invalidPath(let layer, let location, let path):
            "\(location): error: layer \"\(layer)\": invalid image path \"/\(path)\""
        case .removesMissing(let layer, let location, let path):
            "\(location): error: layer \"\(layer)\": cannot remove /\(path): neither the base nor an earlier layer has it"
        case .belowLowerSymlink(let layer, let location, let path, let symlink, let target, let resolved):
            "\(location): error: layer \"\(layer)\": /\(path) is below /\(symlink), which a lower layer has as a symlink to \(target); "
                + "write /\(resolved) (or replace /\(symlink) with directory: true, replace: true)"
        }
    }
}
