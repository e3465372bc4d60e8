internal import Crypto
internal import CLinux
import Glibc

/// Reading a file once while hashing it (SHA-256), optionally copying what
/// was read: how kiln verifies blobs, imports base layers and fills its
/// cache, so a file is never read twice to be checked.
public enum FileHashing {
    /// Bytes read and written per system call. 64 KiB, not more: a build
    /// copies one blob into the cache per layer, and a 1 MiB buffer freed
    /// after each copy lands in glibc's heap once its mmap threshold has
    /// risen, where what is allocated before the next copy splits it; with
    /// 200 layers such holes held tens of MiB of RSS (docs/layers.md).
    public static let chunkSize = 64 << 10

    /// SHA-256 and length of the file at `path`.
    /// - Throws: ``FileIOError`` naming the call that failed.
    public static func sha256(ofFileAt path: String) throws(FileIOError) -> (digest: ContentDigest, size: Int64) {
        let input = open(path, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileIOError(operation: "open", path: path, errno: errno) }
        defer { close(input) }
        return try hash(input, path: path, copyingTo: nil, destinationPath: "")
    }

    /// Copies `source` into a new file `destination` (which must not
    /// exist), hashing what it copies. On failure the partial copy is
    /// removed.
    /// - Throws: ``FileIOError`` naming the call that failed.
    public static func copy(from source: String, to destination: String) throws(FileIOError) -> (digest: ContentDigest, size: Int64) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileIOError(operation: "open", path: source, errno: errno) }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw FileIOError(operation: "create", path: destination, errno: errno) }
        defer { close(output) }
        do {
            return try hash(input, path: source, copyingTo: output, destinationPath: destination)
        } catch {
            unlink(destination)
            throw error
        }
    }

    /// Copies `source` to a new file `destination` that shares no storage
    /// a later write to either could change in the other: a copy-on-write
    /// clone (`FICLONE`) where the file system makes one, else a copy that
    /// hashes as it goes. Never a hard link: an output must not change when
    /// the cache or a base layout it came from is damaged in place
    /// (docs/security.md).
    /// - Returns: the digest and size of what `destination` holds.
    /// - Throws: ``FileIOError``; `destination` is removed.
    public static func independentCopy(from source: String, to destination: String) throws(FileIOError) -> (digest: ContentDigest, size: Int64) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileIOError(operation: "open", path: source, errno: errno) }
        defer { close(input) }
        let output = open(destination, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw FileIOError(operation: "create", path: destination, errno: errno) }
        defer { close(output) }
        do {
            // A clone costs no I/O; what it holds is then read once to hash.
            if clinux_clone_file(output, input) == 0 { return try hash(output, path: destination, copyingTo: nil, destinationPath: destination) }
            return try hash(input, path: source, copyingTo: output, destinationPath: destination)
        } catch {
            unlink(destination)
            throw error
        }
    }

    /// Writes all of `bytes` to `descriptor`, retrying short writes and EINTR.
    /// - Throws: ``FileIOError`` (`write`, `path`).
    public static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws(FileIOError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    /// Writes all of `bytes` to `descriptor` (see the raw-buffer form).
    public static func writeAll(_ descriptor: Int32, _ bytes: ArraySlice<UInt8>, path: String) throws(FileIOError) {
        let failure: FileIOError? = bytes.withUnsafeBytes { buffer in
            do throws(FileIOError) { try writeAll(descriptor, buffer, path: path) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    private static func hash(_ input: Int32, path: String, copyingTo output: Int32?, destinationPath: String) throws(FileIOError) -> (digest: ContentDigest, size: Int64) {
        var hasher = SHA256()
        var total: Int64 = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = read(input, buffer.baseAddress, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw FileIOError(operation: "read", path: path, errno: errno)
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[..<count])
            hasher.update(bufferPointer: chunk)
            if let output { try writeAll(output, chunk, path: destinationPath) }
            total += Int64(count)
        }
        return (ContentDigest(sha256Bytes: hasher.finalize()), total)
    }
}
