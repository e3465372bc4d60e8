import Glibc
public import Archive
import KilnCore
public import Plan

/// Reads a host file or directory into layer entries.
///
/// Used by every strategy that copies host content: `files` (with
/// ``HostTreeOptions/ModePolicy/normalized`` modes), `build` outputs and
/// nix store paths (with ``HostTreeOptions/ModePolicy/preserved``).
///
/// What is recorded, and what never is:
/// - Each directory's names are taken in byte order, never in `readdir`
///   order: a directory's entries are yielded, then its subdirectories are
///   walked in that order. The walk (and which error is met first) is the
///   same on every file system.
/// - Modes follow the policy; owners are `options.owner` or 0:0 for every
///   entry — host uids, gids, mtimes and xattrs are never read into a layer.
/// - Symlinks are stored verbatim and never followed, except the top-level
///   path itself when `followTopLevelSymlink` is set.
/// - Regular files with more than one link whose (device, inode) pair was
///   already met in the same walk become hardlinks to the first path met;
///   ``LayerTree/sortedEntries()`` then makes the first in stream order the
///   file.
/// - Sockets, FIFOs and devices are refused with an error naming the path.
/// - File contents are not read here: regular files become
///   ``FileContent/file(path:size:)`` and are read while the layer streams,
///   where a changed size is an error.
public enum HostTree {
    /// Calls `body` with an entry for `hostPath` at `imagePath` and, for a
    /// directory, one for everything below it, in walk order.
    /// - Parameters:
    ///   - imagePath: a normalized relative image path (`etc/app`), or ""
    ///     to put a directory's contents at the root of the layer (the
    ///     directory itself then yields no entry).
    /// - Throws: ``HostTreeError``, or what `body` throws.
    public static func walk(
        _ hostPath: String, at imagePath: String, options: HostTreeOptions,
        _ body: (LayerEntry) throws -> Void
    ) throws {
        guard imagePath.isEmpty || LayerTree.isNormalized(imagePath) else {
            throw HostTreeError.invalidImagePath(imagePath)
        }
        var walker = Walker(options: options)
        var status = stat()
        if lstat(hostPath, &status) != 0 {
            throw walker.statError(hostPath, errno: errno)
        }
        if options.followTopLevelSymlink, (status.st_mode & S_IFMT) == S_IFLNK, stat(hostPath, &status) != 0 {
            let code = errno
            throw code == ENOENT ? HostTreeError.danglingTopLevelSymlink(hostPath) : HostTreeError.unreadable(hostPath, errno: code)
        }
        if imagePath.isEmpty {
            guard (status.st_mode & S_IFMT) == S_IFDIR else { throw HostTreeError.rootNotDirectory(hostPath) }
        } else {
            var entry = try walker.entry(for: hostPath, status: status, imagePath: imagePath)
            if let mode = options.topLevelMode { entry.mode = mode & 0o7777 }
            try body(entry)
        }
        guard (status.st_mode & S_IFMT) == S_IFDIR else { return }

        // An explicit stack rather than recursion: deep trees must not
        // exhaust a small thread stack. Each directory is opened once and
        // must be the very directory listed (device, inode): one swapped
        // for a symlink since is refused, never walked. Its entries are
        // then read relative to that descriptor, so a later swap of a
        // directory above cannot redirect them either.
        var pending: [(host: String, image: String, identity: FileIdentity)] = [(hostPath, imagePath, FileIdentity(status))]
        while let directory = pending.popLast() {
            let descriptor = open(directory.host, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard descriptor >= 0 else {
                let code = errno
                throw code == ENOENT ? HostTreeError.vanished(directory.host)
                    : code == ENOTDIR ? HostTreeError.replaced(directory.host) : HostTreeError.unreadableDirectory(directory.host, errno: code)
            }
            defer { close(descriptor) }
            var opened = stat()
            guard fstat(descriptor, &opened) == 0 else { throw HostTreeError.unreadableDirectory(directory.host, errno: errno) }
            guard FileIdentity(opened) == directory.identity else { throw HostTreeError.replaced(directory.host) }
            let names = try walker.sortedNames(descriptor: descriptor, shown: directory.host)
            var subdirectories: [(host: String, image: String, identity: FileIdentity)] = []
            for name in names {
                let host = directory.host == "/" ? "/" + name : directory.host + "/" + name
                let image = directory.image.isEmpty ? name : directory.image + "/" + name
                var child = stat()
                guard fstatat(descriptor, name, &child, AT_SYMLINK_NOFOLLOW) == 0 else {
                    let code = errno
                    throw code == ENOENT ? HostTreeError.vanished(host) : walker.statError(host, errno: code)
                }
                try body(try walker.entry(for: host, status: child, imagePath: image, in: descriptor, name: name))
                if (child.st_mode & S_IFMT) == S_IFDIR { subdirectories.append((host, image, FileIdentity(child))) }
            }
            // Reversed so the stack pops them in byte order.
            pending.append(contentsOf: subdirectories.reversed())
        }
    }

    private struct Walker {
        let options: HostTreeOptions
        /// First image path of every multiply-linked regular file met.
        var linked: [FileIdentity: String] = [:]

        init(options: HostTreeOptions) {
            self.options = options
        }

        /// The entry for `host`, whose `status` was read (a directory's child
        /// through the directory's descriptor and its `name`, so its
        /// symlink target is read there too).
        mutating func entry(
            for host: String, status: stat, imagePath: String, in directory: Int32 = AT_FDCWD, name: String? = nil
        ) throws -> LayerEntry {
            let uid = options.owner?.uid ?? 0
            let gid = options.owner?.gid ?? 0
            let permissions = UInt32(status.st_mode) & 0o7777
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                let mode = options.modes == .preserved ? permissions : 0o755
                return LayerEntry(path: imagePath, kind: .directory, mode: mode, uid: uid, gid: gid)
            case S_IFREG:
                let mode = options.modes == .preserved ? permissions : (permissions & 0o100 != 0 ? 0o755 : 0o644)
                let identity = FileIdentity(status)
                if status.st_nlink > 1 {
                    if let first = linked[identity] {
                        return LayerEntry(path: imagePath, kind: .hardlink(target: first), mode: mode, uid: uid, gid: gid)
                    }
                    linked[identity] = imagePath
                }
                // Read later from this very inode (see TarWriter.copyFile).
                let content = FileContent.file(path: host, size: Int64(status.st_size), identity: identity)
                return LayerEntry(path: imagePath, kind: .regular(content), mode: mode, uid: uid, gid: gid)
            case S_IFLNK:
                let target = try linkTarget(host, in: directory, name: name ?? host)
                return LayerEntry(path: imagePath, kind: .symlink(target: target), mode: 0o777, uid: uid, gid: gid)
            case S_IFIFO:
                throw HostTreeError.unsupportedFileType(host, kind: "a FIFO")
            case S_IFSOCK:
                throw HostTreeError.unsupportedFileType(host, kind: "a socket")
            case S_IFCHR:
                throw HostTreeError.unsupportedFileType(host, kind: "a character device")
            case S_IFBLK:
                throw HostTreeError.unsupportedFileType(host, kind: "a block device")
            default:
                throw HostTreeError.unsupportedFileType(host, kind: "of an unknown file type")
            }
        }

        func linkTarget(_ host: String, in directory: Int32, name: String) throws -> String {
            let capacity = Int(PATH_MAX) + 1
            return try withUnsafeTemporaryAllocation(of: CChar.self, capacity: capacity) { buffer in
                let count = readlinkat(directory, name, buffer.baseAddress!, capacity)
                guard count >= 0 else {
                    let code = errno
                    // EINVAL: no longer a symlink.
                    throw code == ENOENT ? HostTreeError.vanished(host)
                        : code == EINVAL ? HostTreeError.replaced(host) : HostTreeError.unreadable(host, errno: code)
                }
                guard count < capacity else { throw HostTreeError.unreadable(host, errno: ENAMETOOLONG) }
                let bytes = UnsafeRawBufferPointer(start: buffer.baseAddress!, count: count)
                guard let target = DirectoryListing.strictUTF8(bytes) else {
                    throw HostTreeError.notUTF8(host)
                }
                return target
            }
        }

        func sortedNames(descriptor: Int32, shown directory: String) throws -> [String] {
            do {
                return try DirectoryListing.sortedNames(descriptor: descriptor, shown: directory)
            } catch {
                switch error {
                case .vanished(let path): throw HostTreeError.vanished(path)
                case .unreadable(let path, let code): throw HostTreeError.unreadableDirectory(path, errno: code)
                case .notUTF8(let path): throw HostTreeError.notUTF8(path)
                }
            }
        }

        func statError(_ host: String, errno code: Int32) -> HostTreeError {
            code == ENOENT || code == ENOTDIR ? .missing(host) : .unreadable(host, errno: code)
        }
    }
}

extension LayerTree {
    /// Inserts `hostPath` (and, for a directory, everything below it) at
    /// `imagePath`; see ``HostTree`` for what is recorded.
    /// - Throws: ``HostTreeError``, or ``LayerTreeError/duplicatePath(_:)``
    ///   when an entry's path is already in the tree.
    public mutating func addHost(_ hostPath: String, at imagePath: String, options: HostTreeOptions) throws {
        try HostTree.walk(hostPath, at: imagePath, options: options) { entry in try insert(entry) }
    }
}

/// How host metadata becomes layer metadata.
public struct HostTreeOptions: Hashable, Sendable {
    /// How permission bits are taken from the host.
    public enum ModePolicy: Hashable, Sendable {
        /// What the `files` strategy records (SPEC §1.1): regular files 0755
        /// if the owner-execute bit is set, else 0644; directories 0755. Git
        /// records only that bit, so this is what survives a checkout.
        case normalized
        /// `st_mode & 0o7777` as on the host (setuid, setgid and sticky
        /// included), for build outputs and store paths whose producer set
        /// the modes deliberately.
        case preserved
    }

    /// How permission bits are taken from the host (symlinks are always 0777).
    public var modes: ModePolicy
    /// The owner of every entry; nil for 0:0.
    public var owner: Owner?
    /// Follow the top-level path if it is a symlink (symlinks below it are
    /// always kept as symlinks).
    public var followTopLevelSymlink: Bool
    /// Overrides the mode of the entry at the image path itself only (a
    /// `files` entry's `mode` on a source directory).
    public var topLevelMode: UInt32?

    /// Options for ``HostTree/walk(_:at:options:_:)``; only `modes` has no default.
    public init(modes: ModePolicy, owner: Owner? = nil, followTopLevelSymlink: Bool = false, topLevelMode: UInt32? = nil) {
        self.modes = modes
        self.owner = owner
        self.followTopLevelSymlink = followTopLevelSymlink
        self.topLevelMode = topLevelMode
    }
}

/// Why a host path cannot be read into a layer.
public enum HostTreeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The top-level host path does not exist.
    case missing(String)
    /// The top-level path is a symlink to nothing.
    case danglingTopLevelSymlink(String)
    /// A path listed in its directory was gone when examined.
    case vanished(String)
    /// A directory could not be listed.
    case unreadableDirectory(String, errno: Int32)
    /// A path could not be examined (or a symlink read).
    case unreadable(String, errno: Int32)
    /// A socket, FIFO or device; `kind` says which ("a FIFO").
    case unsupportedFileType(String, kind: String)
    /// A file name or symlink target that is not valid UTF-8.
    case notUTF8(String)
    /// An image path that is not normalized.
    case invalidImagePath(String)
    /// The layer root ("" image path) was asked to hold a non-directory.
    case rootNotDirectory(String)
    /// A directory or symlink is not what was listed: it was swapped while
    /// the tree was read.
    case replaced(String)

    public var description: String {
        switch self {
        case .missing(let path): "host path \(path) does not exist"
        case .danglingTopLevelSymlink(let path): "host path \(path) is a symlink to a path that does not exist"
        case .vanished(let path): "host path \(path) vanished while its directory was being read"
        case .unreadableDirectory(let path, let code): "cannot read directory \(path): \(String(cString: strerror(code)))"
        case .unreadable(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
        case .unsupportedFileType(let path, let kind): "\(path) is \(kind); layers hold only regular files, directories and symlinks"
        case .notUTF8(let path): "\(path): file names and symlink targets must be valid UTF-8"
        case .invalidImagePath(let path): "invalid image path \"\(path)\""
        case .rootNotDirectory(let path): "\(path) must be a directory to become the root of a layer"
        case .replaced(let path): "host path \(path) was replaced while its directory was being read (nothing it now leads to was read)"
        }
    }
}

extension FileIdentity {
    /// The device and inode of `status`.
    init(_ status: stat) {
        self.init(device: UInt64(status.st_dev), inode: UInt64(status.st_ino))
    }
}
