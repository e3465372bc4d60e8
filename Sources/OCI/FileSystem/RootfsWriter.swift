import CLinux
import Glibc

/// Writes an ``ImageFileSystem`` onto the disk under one directory, as it
/// applies layers: the tree decides every path (symlinks among parents
/// already followed inside the image), and each write here opens the
/// parent with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` and acts
/// on one name in it, so no symlink — in the layers or put on the disk by
/// anyone meanwhile — can lead a write outside the root.
///
/// Owners, modes and mtimes are set as the layers say (owners need root, as
/// for `umoci unpack`). Device nodes are refused; fifos are made.
public final class RootfsWriter: FileSystemSink {
    /// The root directory.
    public let root: String
    private let rootDescriptor: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)

    /// Writes under `root`, an existing directory.
    /// - Throws: ``ImageFileSystemError/output(path:detail:)``.
    public init(root: String) throws(ImageFileSystemError) {
        self.root = root
        rootDescriptor = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootDescriptor >= 0 else { throw .output(path: root, detail: RootfsWriter.message(errno)) }
    }

    deinit { close(rootDescriptor) }

    static func message(_ code: Int32) -> String { String(cString: strerror(code)) }

    /// Opens the directory at `path` (relative, "" for the root) beneath the
    /// root without following any symlink.
    private func openDirectory(_ path: String) throws(RefusedEntry.Reason) -> Int32 {
        let descriptor = clinux_openat2(
            rootDescriptor, path.isEmpty ? "." : path, UInt64(O_DIRECTORY | O_CLOEXEC | O_RDONLY),
            clinux_resolve_beneath | clinux_resolve_no_symlinks | clinux_resolve_no_magiclinks | clinux_resolve_no_xdev)
        guard descriptor >= 0 else { throw .system("cannot open its directory: \(RootfsWriter.message(errno))") }
        return descriptor
    }

    private func inParent<T>(_ path: String, _ body: (Int32, String) throws(RefusedEntry.Reason) -> T) throws(RefusedEntry.Reason) -> T {
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        let name = path.lastIndex(of: "/").map { String(path[path.index(after: $0)...]) } ?? path
        let descriptor = try openDirectory(parent)
        defer { close(descriptor) }
        return try body(descriptor, name)
    }

    private static func check(_ result: Int32, _ what: String) throws(RefusedEntry.Reason) {
        guard result == 0 else { throw .system("\(what): \(message(errno))") }
    }

    public func remove(_ path: String) throws(RefusedEntry.Reason) {
        try inParent(path) { directory, name throws(RefusedEntry.Reason) in try RootfsWriter.removeTree(directory, name) }
    }

    /// Removes `name` in `directory`, and for a directory what is below it,
    /// through descriptors only.
    private static func removeTree(_ directory: Int32, _ name: String) throws(RefusedEntry.Reason) {
        if unlinkat(directory, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw .system("cannot remove it: \(message(errno))") }
        let child = openat(directory, name, O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_RDONLY)
        guard child >= 0, let stream = fdopendir(child) else { throw .system("cannot read it: \(message(errno))") }
        var names: [String] = []
        while let entry = readdir(stream) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if entryName != ".", entryName != ".." { names.append(entryName) }
        }
        defer { closedir(stream) }
        for entryName in names { try removeTree(dirfd(stream), entryName) }
        try check(unlinkat(directory, name, AT_REMOVEDIR), "cannot remove it")
    }

    public func create(_ path: String, _ node: FileSystemNode, content: (UnsafeMutableRawBufferPointer) throws -> Int) throws(RefusedEntry.Reason) {
        try inParent(path) { directory, name throws(RefusedEntry.Reason) in
            switch node.kind {
            case .directory:
                try RootfsWriter.check(mkdirat(directory, name, 0o700), "cannot make it")
            case .regular:
                let file = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard file >= 0 else { throw .system("cannot create it: \(RootfsWriter.message(errno))") }
                defer { close(file) }
                try copy(content, to: file)
            case .symlink(let target):
                try RootfsWriter.check(symlinkat(target, directory, name), "cannot make the symlink")
            case .fifo:
                try RootfsWriter.check(mkfifoat(directory, name, 0o600), "cannot make the fifo")
            case .characterDevice(let major, let minor), .blockDevice(let major, let minor):
                throw .device("\(major):\(minor)")
            case .hardlink:
                preconditionFailure("an ImageFileSystem links files with link(_:to:)")
            }
            try RootfsWriter.setMetadata(directory, name, node)
        }
    }

    private func copy(_ content: (UnsafeMutableRawBufferPointer) throws -> Int, to file: Int32) throws(RefusedEntry.Reason) {
        while true {
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { try content($0) }
            } catch {
                throw .system("\(error)")
            }
            if count == 0 { return }
            var written = 0
            while written < count {
                let result = buffer.withUnsafeBytes { Glibc.write(file, $0.baseAddress! + written, count - written) }
                guard result > 0 else { throw .system("cannot write it: \(RootfsWriter.message(errno))") }
                written += result
            }
        }
    }

    public func link(_ path: String, to target: String) throws(RefusedEntry.Reason) {
        try inParent(target) { targetDirectory, targetName throws(RefusedEntry.Reason) in
            try inParent(path) { directory, name throws(RefusedEntry.Reason) in
                try RootfsWriter.check(linkat(targetDirectory, targetName, directory, name, 0), "cannot link it")
            }
        }
    }

    public func update(_ path: String, _ node: FileSystemNode) throws(RefusedEntry.Reason) {
        try inParent(path) { directory, name throws(RefusedEntry.Reason) in try RootfsWriter.setMetadata(directory, name, node) }
    }

    /// Owner, then mode (a chown clears setuid bits), then mtime; a symlink
    /// has no mode of its own.
    private static func setMetadata(_ directory: Int32, _ name: String, _ node: FileSystemNode) throws(RefusedEntry.Reason) {
        try check(fchownat(directory, name, node.uid, node.gid, AT_SYMLINK_NOFOLLOW), "cannot set its owner")
        if case .symlink = node.kind {} else {
            try check(fchmodat(directory, name, mode_t(node.mode), 0), "cannot set its mode")
        }
        var times = [timespec(tv_sec: Int(node.modificationTime), tv_nsec: 0), timespec(tv_sec: Int(node.modificationTime), tv_nsec: 0)]
        try check(utimensat(directory, name, &times, AT_SYMLINK_NOFOLLOW), "cannot set its mtime")
    }

    /// Sets the directories' mtimes again, deepest first, once everything
    /// is written (writing into a directory moves its mtime).
    /// - Parameter directories: the file system's directories and their mtimes.
    public func finish(directories: [(path: String, modificationTime: Int64)]) throws(RefusedEntry.Reason) {
        for (path, time) in directories.reversed() {
            let descriptor = try openDirectory(path)
            defer { close(descriptor) }
            var times = [timespec(tv_sec: Int(time), tv_nsec: 0), timespec(tv_sec: Int(time), tv_nsec: 0)]
            try RootfsWriter.check(futimens(descriptor, &times), "cannot set the mtime of /\(path)")
        }
    }
}
