import KilnCore
import Glibc
internal import CLinux

/// A destination for a stream of bytes: a layer pipeline, a file, memory.
///
/// ``TarWriter`` writes into one, so what it produces can be hashed,
/// compressed and stored without the whole stream ever being in memory.
public protocol ByteSink: AnyObject {
    /// Takes all of `bytes`; the buffer is only valid during the call.
    /// - Throws: whatever the destination reports (an I/O error, cancellation).
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Collects everything written in memory, for small streams and tests.
public final class MemoryByteSink: ByteSink {
    /// Every byte written so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty sink.
    public init() {}

    /// Appends `bytes`; never fails.
    public func write(_ bytes: UnsafeRawBufferPointer) {
        self.bytes.append(contentsOf: bytes)
    }
}

/// Writes to a file descriptor, retrying short writes and interruptions.
///
/// Unbuffered: callers hand it large chunks. The descriptor is closed when
/// the sink is released if the sink opened it.
public final class FileByteSink: ByteSink {
    /// The path, for messages.
    public let path: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var closed = false

    /// Creates (or truncates) `path` with mode 0644 (before the umask).
    /// - Throws: ``FileSinkError/create(path:errno:)``.
    public init(creating path: String) throws(FileSinkError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw .create(path: path, errno: errno) }
        self.path = path
        self.descriptor = descriptor
        self.ownsDescriptor = true
    }

    /// Writes to a descriptor the caller opened and keeps ownership of.
    /// - Parameter name: how messages call the destination.
    public init(fileDescriptor: Int32, name: String) {
        self.path = name
        self.descriptor = fileDescriptor
        self.ownsDescriptor = false
    }

    deinit {
        if ownsDescriptor && !closed { _ = Glibc.close(descriptor) }
    }

    /// - Throws: ``FileSinkError/write(path:errno:)``; a full disk is `ENOSPC`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(FileSinkError) {
        guard var next = bytes.baseAddress else { return }
        var remaining = bytes.count
        while remaining > 0 {
            let written = Glibc.write(descriptor, next, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileSinkError.write(path: path, errno: errno)
            }
            remaining -= written
            next += written
        }
    }

    /// Asks the kernel to start writing `count` bytes from `offset` to the
    /// disk, without waiting (Linux `sync_file_range`). Blobs are fsynced
    /// before a layout is published: writing back while the layer is still
    /// being produced leaves that fsync little to wait for. Only a hint, so
    /// a file system that refuses it changes nothing.
    public func startWriteback(offset: Int64, count: Int64) {
        _ = clinux_start_writeback(descriptor, offset, count)
    }

    /// Closes the descriptor now, reporting what a delayed write error
    /// (NFS, some full disks) only reveals at close.
    /// - Throws: ``FileSinkError/write(path:errno:)``.
    public func close() throws(FileSinkError) {
        guard ownsDescriptor, !closed else { return }
        closed = true
        let result = Glibc.close(descriptor)
        if result != 0 && errno != EINTR { throw .write(path: path, errno: errno) }
    }
}

/// Why a file could not take the bytes written to it.
public enum FileSinkError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file could not be created.
    case create(path: String, errno: Int32)
    /// A write (or the closing flush) failed; `ENOSPC` when the disk is full.
    case write(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .create(let path, let code): "cannot create \(path): \(String(cString: strerror(code)))"
        case .write(let path, let code): "cannot write \(path): \(String(cString: strerror(code)))"
        }
    }
}
