import KilnCore
import Glibc

/// Why a layer blob could not be written.
///
/// Source-file errors name both the host file and the image path it was
/// listed for, since the host tree may have changed between listing and
/// streaming.
public enum LayerWriteError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The host file listed for `entry` no longer exists.
    case sourceMissing(source: String, entry: String)
    /// The host file could not be opened or read (`errno`).
    case sourceUnreadable(source: String, entry: String, errno: Int32)
    /// The host path is no longer a regular file.
    case sourceNotRegularFile(source: String, entry: String)
    /// The path leads to another file than the one listed (a directory on
    /// it was swapped for a symlink, or the file replaced).
    case sourceReplaced(source: String, entry: String)
    /// The host file's size differs from the listed one; `now` is nil when
    /// the file grew while it was being read.
    case sourceSizeChanged(source: String, entry: String, listed: Int64, now: Int64?)
    /// An image path that is not normalized or holds a NUL byte.
    case unrepresentablePath(String)
    /// A symlink or hardlink target that is empty, holds a NUL byte, or (for
    /// a hardlink) is not a normalized image path.
    case unrepresentableLinkTarget(path: String, target: String)
    /// The blob file could not be created.
    case blobCreate(path: String, errno: Int32)
    /// Writing the blob failed (`ENOSPC` when the disk is full).
    case blobWrite(path: String, errno: Int32)
    /// The compression library failed; `detail` is its own message.
    case compressionFailed(format: String, detail: String)
    /// The write was cancelled (another layer failed, or the build was
    /// interrupted).
    case cancelled

    public var description: String {
        switch self {
        case .sourceMissing(let source, let entry):
            "source file \(source) (for /\(entry)) no longer exists; it was removed while the layer was being written"
        case .sourceUnreadable(let source, let entry, let code):
            "cannot read source file \(source) (for /\(entry)): \(String(cString: strerror(code)))"
        case .sourceNotRegularFile(let source, let entry):
            "source file \(source) (for /\(entry)) is no longer a regular file; it was replaced while the layer was being written"
        case .sourceReplaced(let source, let entry):
            "source file \(source) (for /\(entry)) is no longer the file that was listed; it or a directory on its path was replaced while the layer was being written"
        case .sourceSizeChanged(let source, let entry, let listed, let now):
            "source file \(source) (for /\(entry)) changed while the layer was being written: listed with \(listed) bytes, now "
                + (now.map { "\($0) bytes" } ?? "longer")
        case .unrepresentablePath(let path):
            "cannot write image path \"\(path)\" into a tar stream: it must be relative, normalized and free of NUL bytes"
        case .unrepresentableLinkTarget(let path, let target):
            "cannot write the link /\(path) -> \"\(target)\" into a tar stream: the target must be non-empty and free of NUL bytes (and, for a hardlink, a normalized image path)"
        case .blobCreate(let path, let code):
            "cannot create layer blob \(path): \(String(cString: strerror(code)))"
        case .blobWrite(let path, let code):
            "cannot write layer blob \(path): \(String(cString: strerror(code)))"
        case .compressionFailed(let format, let detail):
            "\(format) compression failed: \(detail)"
        case .cancelled:
            "layer writing was cancelled (another layer failed or the build was interrupted)"
        }
    }
}
