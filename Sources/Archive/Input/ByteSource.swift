import KilnCore
import Glibc

/// A stream of bytes read in chunks: a file, a decompressor, bytes in memory.
///
/// Readers such as ``TarReader`` and ``Decompressor`` sit on one, so a
/// whole archive never has to be in memory.
public protocol ByteSource: AnyObject {
    /// Copies up to `buffer.count` bytes into `buffer`.
    /// - Returns: the number of bytes copied; 0 only at the end of the stream
    ///   (or when `buffer` is empty).
    /// - Throws: whatever the underlying source reports (an I/O error, corrupt
    ///   compressed data).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension ByteSource {
    /// Reads until `buffer` is full or the stream ends.
    /// - Returns: the number of bytes read; less than `buffer.count` only at
    ///   the end of the stream.
    public func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Reads the rest of the stream into memory, for inputs known to be small.
    /// - Throws: ``ByteSourceError/tooLarge(limit:)`` when the stream holds
    ///   more than `limit` bytes.
    public func readAll(limit: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try read(into: $0) }
            if count == 0 { return result }
            guard result.count + count <= limit else { throw ByteSourceError.tooLarge(limit: limit) }
            result.append(contentsOf: chunk[..<count])
        }
    }
}

/// Bytes held in memory, read as a stream.
public final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0

    /// A source that yields `bytes` once.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBytes { source in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[position..<(position + count)]))
        }
        position += count
        return count
    }
}

/// A file read sequentially through its descriptor.
public final class FileByteSource: ByteSource {
    /// The path, for messages.
    public let path: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool

    /// Opens `path` for reading; the descriptor is closed when the source is
    /// released.
    /// - Throws: ``ByteSourceError/open(path:errno:)``.
    public init(path: String) throws(ByteSourceError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .open(path: path, errno: errno) }
        self.path = path
        self.descriptor = descriptor
        self.ownsDescriptor = true
    }

    /// Reads from a descriptor the caller opened (a pipe, standard input);
    /// the caller keeps ownership and closes it.
    /// - Parameter name: how messages call the stream.
    public init(fileDescriptor: Int32, name: String) {
        self.path = name
        self.descriptor = fileDescriptor
        self.ownsDescriptor = false
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        while true {
            let count = Glibc.read(descriptor, base, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw ByteSourceError.read(path: path, errno: errno)
        }
    }
}

/// Why a byte source could not deliver its bytes.
public enum ByteSourceError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file could not be opened.
    case open(path: String, errno: Int32)
    /// Reading failed midway.
    case read(path: String, errno: Int32)
    /// ``ByteSource/readAll(limit:)`` met more than `limit` bytes.
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .open(let path, let code): "cannot open \(path): \(String(cString: strerror(code)))"
        case .read(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
        case .tooLarge(let limit): "input is larger than the \(limit) bytes expected"
        }
    }
}
