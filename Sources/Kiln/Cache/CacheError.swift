import KilnCore
import Glibc

/// Why the layer cache could not be opened, read or written.
public enum CacheError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A system call on a cache file failed.
    case io(operation: String, path: String, errno: Int32)
    /// `--max-size` is not a size.
    case invalidSize(String)

    /// The message a user sees.
    public var description: String {
        switch self {
        case .io(let operation, let path, let code):
            "cache: cannot \(operation) \(path): \(String(cString: strerror(code)))"
        case .invalidSize(let text):
            "invalid size \"\(text)\" (expected bytes, or a number with K, M, G or T, e.g. 500M, 2G, 1.5GiB)"
        }
    }
}

extension CacheError {
    /// The cache's form of a failed file operation (its message says `cache:`).
    init(_ error: FileIOError) {
        self = .io(operation: error.operation, path: error.path, errno: error.errno)
    }
}
