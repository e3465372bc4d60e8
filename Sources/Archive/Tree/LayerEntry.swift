import KilnCore

/// One entry of a layer tree, before it becomes a tar header.
///
/// Metadata is explicit (never read back from the disk at write time), so
/// strategies decide modes and owners and the tar writer only serializes.
public struct LayerEntry: Hashable, Sendable {
    /// Relative path inside the image, normalized: no leading `/`, no `.` or
    /// `..` components, no trailing `/`, never empty. `etc/ssl/certs`.
    public var path: String
    /// What the entry is.
    public var kind: Kind
    /// Permission bits, including setuid, setgid and sticky (`& 0o7777`).
    public var mode: UInt32
    /// Numeric owner; the tar header's uname and gname stay empty.
    public var uid: UInt32
    public var gid: UInt32

    /// An entry owned by `uid:gid` (root unless given).
    public init(path: String, kind: Kind, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) {
        self.path = path
        self.kind = kind
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
    }

    /// The entry types a layer may hold.
    public enum Kind: Hashable, Sendable {
        case directory
        case regular(FileContent)
        /// Target stored verbatim.
        case symlink(target: String)
        /// Target is another entry's `path` (earlier in the stream).
        case hardlink(target: String)
    }
}

/// Where a regular file's bytes come from when the layer is streamed.
public enum FileContent: Hashable, Sendable {
    /// Bytes held in memory (inline `content`, generated files).
    case bytes([UInt8])
    /// A host file read while streaming. `size` is what the strategy saw;
    /// a file that no longer has that size when read is an error. With an
    /// `identity` (the file as listed), a file that is not that one when
    /// opened is an error too: a directory on its path swapped for a
    /// symlink after listing leads elsewhere, to another inode.
    case file(path: String, size: Int64, identity: FileIdentity? = nil)

    /// The number of bytes the entry will hold.
    public var size: Int64 {
        switch self {
        case .bytes(let bytes): Int64(bytes.count)
        case .file(_, let size, _): size
        }
    }
}

/// A file as the kernel names it: device and inode (`st_dev`, `st_ino`).
public struct FileIdentity: Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}
