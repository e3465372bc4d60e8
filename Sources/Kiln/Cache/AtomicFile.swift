import KilnCore
import Foundation
import Glibc

/// Files that appear whole or not at all: written under a temporary name in
/// the destination's directory, then renamed into place. Readers (another
/// kiln process) never see a partial file; two writers of the same file
/// leave one complete version.
///
/// Nothing is fsynced: everything written this way is checked when read
/// (cache blobs by size and digest, entries by parsing, the stat index is
/// only a hint), so a file torn by a crash is detected and dropped.
enum AtomicFile {
    /// Writes `bytes` to `path`, replacing any file there.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let temporary = temporaryPath(beside: path)
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CacheError.io(operation: "create", path: temporary, errno: errno) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, bytes.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let code = errno
                close(descriptor)
                unlink(temporary)
                throw CacheError.io(operation: "write", path: temporary, errno: code)
            }
            offset += written
        }
        close(descriptor)
        try rename(temporary, to: path)
    }

    /// Renames `temporary` over `path`; on failure `temporary` is removed.
    static func rename(_ temporary: String, to path: String) throws {
        guard Glibc.rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw CacheError.io(operation: "rename \(temporary) to", path: path, errno: code)
        }
    }

    /// A fresh name in `path`'s directory, unique across processes.
    static func temporaryPath(beside path: String) -> String {
        let slash = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
        return String(path[..<slash]) + ".tmp-" + String(path[slash...]) + "-\(getpid())-" + randomSuffix()
    }

    static func randomSuffix() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }
}
