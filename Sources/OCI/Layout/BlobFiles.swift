import Crypto
import Foundation
import Archive
import KilnCore
import Glibc
internal import CLinux

/// File operations of the layout reader and writer: streaming hashes,
/// verified copies, durable writes.
enum BlobFiles {
    static let chunkSize = FileHashing.chunkSize

    /// What kind of thing is at `path`, without following a final symlink.
    /// What is at a path, without following a symlink; `other` is anything
    /// else (a FIFO, a socket, a device).
    enum Kind { case missing, directory, symlink, regular, other }

    static func kind(at path: String) throws(LayoutError) -> Kind {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return .missing }
            throw .io(operation: "inspect", path: path, errno: errno)
        }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFLNK: return .symlink
        case S_IFREG: return .regular
        default: return .other
        }
    }

    static func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// SHA-256 and length of a file, read in fixed chunks.
    static func digest(ofFileAt path: String) throws(LayoutError) -> (digest: ContentDigest, size: Int64) {
        do { return try FileHashing.sha256(ofFileAt: path) } catch { throw LayoutError(error) }
    }

    /// Writes all of `bytes` to `descriptor`.
    static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(LayoutError) {
        do { try FileHashing.writeAll(descriptor, bytes, path: path) } catch { throw LayoutError(error) }
    }

    /// Creates `path` with `bytes` (it must not exist) and syncs it.
    static func writeNew(_ bytes: [UInt8], to path: String) throws(LayoutError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .io(operation: "create", path: path, errno: errno) }
        defer { close(descriptor) }
        try writeAll(descriptor, bytes[...], path: path)
        guard fsync(descriptor) == 0 else { throw .io(operation: "sync", path: path, errno: errno) }
    }

    /// Reads a small file whole.
    static func readSmall(_ path: String, limit: Int) throws(LayoutError) -> [UInt8] {
        do {
            return try FileByteSource(path: path).readAll(limit: limit)
        } catch let error as ByteSourceError {
            if case .open(_, let code) = error { throw .io(operation: "open", path: path, errno: code) }
            if case .read(_, let code) = error { throw .io(operation: "read", path: path, errno: code) }
            throw .badJSON(path: path, what: "document", detail: "larger than \(limit) bytes")
        } catch {
            throw .io(operation: "read", path: path, errno: EIO)
        }
    }

    static func makeDirectory(_ path: String) throws(LayoutError) {
        guard mkdir(path, 0o755) == 0 else { throw .io(operation: "create directory", path: path, errno: errno) }
    }

    /// Flushes every file and directory below `root` (and `root`) to disk, so
    /// a rename that publishes them cannot survive a crash without them.
    static func syncTree(_ root: String) throws(LayoutError) {
        var paths = [root]
        if let enumerator = FileManager.default.enumerator(atPath: root) {
            for case let relative as String in enumerator { paths.append(root + "/" + relative) }
        }
        for path in paths {
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else { throw .io(operation: "open", path: path, errno: errno) }
            defer { close(descriptor) }
            guard fsync(descriptor) == 0 else { throw .io(operation: "sync", path: path, errno: errno) }
        }
    }

    static func syncDirectory(_ path: String) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_DIRECTORY)
        guard descriptor >= 0 else { return }
        _ = fsync(descriptor)
        close(descriptor)
    }

    static func parent(of path: String) -> String {
        let url = URL(fileURLWithPath: path)
        return url.deletingLastPathComponent().path
    }

    static func baseName(of path: String) -> String {
        URL(fileURLWithPath: path).lastPathComponent
    }

    /// `renameat2(RENAME_EXCHANGE)`: swaps two paths in one step. Returns
    /// false when the kernel or the file system does not support it, so the
    /// caller falls back to two renames.
    static func exchange(_ first: String, _ second: String) throws(LayoutError) -> Bool {
        guard clinux_rename_exchange(AT_FDCWD, first, AT_FDCWD, second) == 0 else {
            if errno == EINVAL || errno == ENOSYS || errno == ENOTSUP { return false }
            throw .io(operation: "exchange \(first) with", path: second, errno: errno)
        }
        return true
    }
}
