public import Archive

/// One entry of an image's file system after its layers are applied.
public struct FileSystemNode: Hashable, Sendable {
    /// What the entry is, as its tar member said; never
    /// ``TarMember/Kind/hardlink(target:)``: the paths of one file share
    /// its ``inode``.
    public var kind: TarMember.Kind
    /// Bytes of a regular file; 0 for other kinds.
    public var size: Int64
    /// Permission bits (`& 0o7777`).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// Seconds since the epoch, as the layer stored it.
    public var modificationTime: Int64
    /// The regular file this path shares its content with (a hardlink); the
    /// same number for every path of one file. 0 for other kinds.
    public var inode: Int

    /// Memberwise.
    public init(kind: TarMember.Kind, size: Int64 = 0, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0, modificationTime: Int64 = 0, inode: Int = 0) {
        self.kind = kind
        self.size = size
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
        self.modificationTime = modificationTime
        self.inode = inode
    }
}

/// What an ``ImageFileSystem`` does to the disk as it applies layers (the
/// rootfs writer); every path is normalized, relative to the root, with no
/// symlink among its parents in the image.
public protocol FileSystemSink: AnyObject {
    /// Removes `path` and everything below it.
    func remove(_ path: String) throws(RefusedEntry.Reason)
    /// Creates `path` (its parent exists; nothing is there). A regular
    /// file's bytes come from `content` until it returns 0.
    func create(_ path: String, _ node: FileSystemNode, content: (UnsafeMutableRawBufferPointer) throws -> Int) throws(RefusedEntry.Reason)
    /// Makes `path` a hardlink of `target`.
    func link(_ path: String, to target: String) throws(RefusedEntry.Reason)
    /// Sets the metadata of the directory already at `path`.
    func update(_ path: String, _ node: FileSystemNode) throws(RefusedEntry.Reason)
}

/// An image's file system: its layers applied in order, bottom first, as
/// the OCI image spec's changesets say (image-spec `layer.md`): an entry
/// replaces what lower layers had at its path (a directory over a
/// directory keeps its contents), `.wh.NAME` removes NAME, and
/// `.wh..wh..opq` hides every lower entry of its directory. Whiteouts
/// apply only to lower layers: what the same layer adds stays, wherever
/// the marker sits in the stream.
///
/// Paths are resolved as umoci and containerd resolve them: a symlink
/// among an entry's parents is followed inside the image's root (`..` at
/// the root stays there, an absolute target starts at the root), so
/// nothing a layer holds reaches outside. Members that cannot be applied
/// (a `..` path, a hardlink to nothing) are collected in ``refused``.
///
/// Only metadata is kept in memory; a ``FileSystemSink`` given to
/// ``apply(_:sink:)`` writes contents as they stream.
public final class ImageFileSystem {
    private final class Directory {
        var node: FileSystemNode
        var children: [String: Item] = [:]
        init(_ node: FileSystemNode) { self.node = node }
    }

    private enum Item {
        case directory(Directory)
        case leaf(FileSystemNode)

        var node: FileSystemNode {
            switch self {
            case .directory(let directory): directory.node
            case .leaf(let node): node
            }
        }
    }

    private let root = Directory(FileSystemNode(kind: .directory, mode: 0o755))
    private var nextInode = 1
    /// Members not applied, in the order met.
    public private(set) var refused: [RefusedEntry] = []
    /// The layer path (normalized, relative) of the member being applied,
    /// before symlinks among its parents are followed: a sink that needs to
    /// know what the layer called the path it is told (the SBOM, which
    /// looks it up in the layer's provenance) reads it here.
    public private(set) var memberPath = ""

    /// Symlinks followed per path before it is refused as a loop (Linux's limit).
    static let symlinkLimit = 40

    /// An empty file system (the root directory, 0755, 0:0).
    public init() {}

    // MARK: Applying layers

    /// Applies one layer on top of what is there, checking its diff_id.
    /// - Throws: ``ImageFileSystemError`` for an unreadable layer; a member
    ///   that cannot be applied is added to ``refused`` instead.
    public func apply(_ layer: LayoutLayer, sink: (any FileSystemSink)? = nil) throws(ImageFileSystemError) {
        let stream = try LayerStream(layer)
        var upper = Set<String>()
        while let member = try stream.next() {
            do {
                switch try ChangesetEntry(member) {
                case .root: continue
                case .whiteout(let path): try whiteout(path, upper: upper, sink: sink)
                case .opaque(let directory): try opaque(directory, upper: upper, sink: sink)
                case .entry(let path, let member):
                    memberPath = path
                    try add(path, member, reader: stream.reader, upper: &upper, sink: sink)
                }
            } catch let reason as RefusedEntry.Reason {
                refused.append(RefusedEntry(layer: layer.descriptor.digest.description, path: member.path, reason: reason))
            } catch {
                throw .layer(digest: layer.descriptor.digest, detail: "\(error)")
            }
        }
        try stream.finish()
    }

    private func whiteout(_ path: String, upper: Set<String>, sink: (any FileSystemSink)?) throws(RefusedEntry.Reason) {
        let resolved = try resolve(path)
        // Whiteouts apply to lower layers only (image-spec layer.md).
        guard !upper.contains(resolved), let (parent, name) = try located(resolved, creating: false), parent.children[name] != nil else { return }
        try sink?.remove(resolved)
        parent.children[name] = nil
    }

    private func opaque(_ path: String, upper: Set<String>, sink: (any FileSystemSink)?) throws(RefusedEntry.Reason) {
        var directory = root
        var resolved = ""
        if !path.isEmpty {
            // The marker's parent is resolved like any parent; a directory
            // the image does not have has nothing to hide (and, as umoci
            // does, the marker does not create it).
            resolved = try LayerTree.parent(of: resolve(path + "/" + Whiteout.opaqueMarker)) ?? ""
            if !resolved.isEmpty {
                guard let (parent, name) = try located(resolved, creating: false) else { return }
                switch parent.children[name] {
                case .directory(let existing): directory = existing
                case .leaf: throw .parentNotDirectory(resolved)
                case nil: return
                }
            }
        }
        try hideLower(in: directory, at: resolved, upper: upper, sink: sink)
    }

    /// Removes every entry below `directory` that this layer did not add.
    private func hideLower(in directory: Directory, at path: String, upper: Set<String>, sink: (any FileSystemSink)?) throws(RefusedEntry.Reason) {
        for name in directory.children.keys.sorted() {
            let child = path.isEmpty ? name : path + "/" + name
            if upper.contains(child) {
                if case .directory(let below) = directory.children[name] { try hideLower(in: below, at: child, upper: upper, sink: sink) }
            } else {
                try sink?.remove(child)
                directory.children[name] = nil
            }
        }
    }

    private func add(_ path: String, _ member: TarMember, reader: TarReader, upper: inout Set<String>, sink: (any FileSystemSink)?) throws {
        let resolved = try resolve(path)
        guard let (parent, name) = try located(resolved, creating: true, upper: &upper, sink: sink) else { throw RefusedEntry.Reason.escapes }
        var node = FileSystemNode(
            kind: member.kind, size: member.size, mode: member.mode, uid: member.uid, gid: member.gid, modificationTime: member.modificationTime)
        var linkTarget: String?
        switch member.kind {
        case .directory:
            if case .directory(let existing) = parent.children[name] {
                // A directory over a directory keeps what is below it.
                try sink?.update(resolved, node)
                existing.node = node
                upper.insert(resolved)
                return
            }
        case .regular:
            node.inode = nextInode
            nextInode += 1
        case .symlink, .characterDevice, .blockDevice, .fifo: break
        case .hardlink:
            let linked: String?
            do {
                linked = try member.normalizedLinkTarget()
            } catch {
                throw RefusedEntry.Reason.escapes
            }
            let target = try resolve(linked ?? "")
            guard target != resolved, let (targetParent, targetName) = try located(target, creating: false),
                  case .leaf(let file) = targetParent.children[targetName], case .regular = file.kind else {
                throw RefusedEntry.Reason.hardlinkTarget(target)
            }
            // One inode: the link has the file's metadata.
            node = file
            linkTarget = target
        }
        if parent.children[name] != nil {
            try sink?.remove(resolved)
            parent.children[name] = nil
        }
        if let linkTarget {
            try sink?.link(resolved, to: linkTarget)
        } else {
            try sink?.create(resolved, node) { buffer in try reader.readContent(into: buffer) }
        }
        parent.children[name] = node.kind == .directory ? .directory(Directory(node)) : .leaf(node)
        upper.insert(resolved)
    }

    // MARK: Paths

    /// `path` with every symlink among its parents followed inside the
    /// root; the last component is not followed.
    /// - Throws: ``RefusedEntry/Reason/symlinkLoop``.
    public func resolve(_ path: String) throws(RefusedEntry.Reason) -> String {
        var components = path.split(separator: "/").map(String.init)
        guard let last = components.popLast() else { return path }
        var pending = Array(components.reversed())
        var resolved: [String] = []
        var directory: Directory? = root
        var hops = 0
        while let component = pending.popLast() {
            if component == "." { continue }
            if component == ".." {
                // `..` at the root stays at the root, as in a chroot.
                if !resolved.isEmpty { resolved.removeLast() }
                directory = self.directory(at: resolved)
                continue
            }
            switch directory?.children[component] {
            case .leaf(let node):
                if case .symlink(let target) = node.kind {
                    hops += 1
                    guard hops <= ImageFileSystem.symlinkLimit else { throw .symlinkLoop }
                    if target.hasPrefix("/") { resolved = [] }
                    pending += target.split(separator: "/").map(String.init).reversed()
                    directory = self.directory(at: resolved)
                    continue
                }
                directory = nil
            case .directory(let below): directory = below
            case nil: directory = nil
            }
            resolved.append(component)
        }
        resolved.append(last)
        return resolved.joined(separator: "/")
    }

    private func directory(at components: [String]) -> Directory? {
        var directory = root
        for component in components {
            guard case .directory(let below) = directory.children[component] else { return nil }
            directory = below
        }
        return directory
    }

    /// The directory holding a resolved path and the path's last name; with
    /// `creating`, missing parents are made (0755, 0:0, as umoci makes
    /// them). nil when a parent is missing and not to be created.
    private func located(_ resolved: String, creating: Bool) throws(RefusedEntry.Reason) -> (Directory, String)? {
        var none = Set<String>()
        return try located(resolved, creating: creating, upper: &none, sink: nil)
    }

    private func located(
        _ resolved: String, creating: Bool, upper: inout Set<String>, sink: (any FileSystemSink)?
    ) throws(RefusedEntry.Reason) -> (Directory, String)? {
        var components = resolved.split(separator: "/").map(String.init)
        guard let name = components.popLast() else { return nil }
        var directory = root
        var walked = ""
        for component in components {
            walked = walked.isEmpty ? component : walked + "/" + component
            switch directory.children[component] {
            case .directory(let below): directory = below
            case .leaf: throw .parentNotDirectory(walked)
            case nil:
                guard creating else { return nil }
                let made = Directory(FileSystemNode(kind: .directory, mode: 0o755))
                try sink?.create(walked, made.node) { _ in 0 }
                directory.children[component] = .directory(made)
                upper.insert(walked)
                directory = made
            }
        }
        return (directory, name)
    }

    // MARK: Reading

    /// The entry at `path` (normalized, relative to the root), symlinks not
    /// followed; nil when the image has none there.
    public func node(at path: String) -> FileSystemNode? {
        var components = path.split(separator: "/").map(String.init)
        guard let name = components.popLast() else { return root.node }
        return directory(at: components)?.children[name]?.node
    }

    /// Every entry but the root, parents before children, in the byte
    /// order of their paths (SPEC §2).
    public func entries() -> [(path: String, node: FileSystemNode)] {
        var result: [(path: String, node: FileSystemNode)] = []
        func visit(_ directory: Directory, _ prefix: String) {
            for (name, item) in directory.children {
                let path = prefix.isEmpty ? name : prefix + "/" + name
                result.append((path, item.node))
                if case .directory(let below) = item { visit(below, path) }
            }
        }
        visit(root, "")
        return result.sorted { $0.path.utf8Precedes($1.path) }
    }
}
