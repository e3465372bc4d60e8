import Glibc

/// Files that appear whole or not at all: written under a temporary name in
/// the destination's directory, then renamed into place. Readers (another
/// kiln process) never see a partial file; two writers of the same file
/// leave one complete version. Every write-then-rename in kiln (cache
/// entries and blobs, the stat index, downloads, archives) goes through it.
///
/// ``write(_:to:sync:)`` fsyncs only when asked: the cache checks what it
/// reads (blobs by size and digest, entries by checksum), so a file torn by
/// a crash is detected and dropped there; outputs a user keeps ask for it.
public enum AtomicFile {
    /// Writes `bytes` to `path`, replacing any file there.
    /// - Parameter sync: fsync the file before it is renamed into place.
    /// - Throws: ``FileIOError``; nothing is left under a temporary name.
    public static func write(_ bytes: [UInt8], to path: String, sync: Bool = false) throws(FileIOError) {
        let temporary = temporaryPath(beside: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FileIOError(operation: "create", path: temporary, errno: errno) }
        do throws(FileIOError) {
            try FileHashing.writeAll(descriptor, bytes[...], path: temporary)
            if sync, fsync(descriptor) != 0 { throw FileIOError(operation: "sync", path: temporary, errno: errno) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        try rename(temporary, to: path)
    }

    /// Renames `temporary` over `path`; on failure `temporary` is removed.
    /// - Throws: ``FileIOError`` (`rename <temporary> to`, `path`).
    public static func rename(_ temporary: String, to path: String) throws(FileIOError) {
        guard Glibc.rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileIOError(operation: "rename \(temporary) to", path: path, errno: code)
        }
    }

    /// A fresh name in `path`'s directory, unique across processes.
    public static func temporaryPath(beside path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return String(path[..<slash]) + ".tmp-" + String(path[slash...]) + "-\(getpid())-" + randomSuffix()
    }

    /// 16 random lowercase hex digits, for temporary names.
    public static func randomSuffix() -> String {
        let text = String(UInt64.random(in: .min ... .max), radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
