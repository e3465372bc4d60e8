import Glibc

/// A system call on a file failed: what kiln was doing, to which path, and
/// the `errno` the call set. Modules wrap it in their own error types
/// (`CacheError`, `LayoutError`) where they add context.
public struct FileIOError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was being done, as a verb phrase (`create`, `rename X to`).
    public var operation: String
    /// The path it was done to.
    public var path: String
    /// The `errno` of the failed call.
    public var errno: Int32

    /// An error for `operation` on `path` that failed with `errno`.
    public init(operation: String, path: String, errno: Int32) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    /// What the system says `errno` means (`No space left on device`).
    public var reason: String { String(cString: strerror(errno)) }

    /// `cannot <operation> <path>: <reason>`.
    public var description: String {
        "cannot \(operation) \(path): \(reason)"
    }
}
