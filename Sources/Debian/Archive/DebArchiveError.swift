import KilnCore

/// Why a `.deb` cannot be unpacked into a layer.
public enum DebArchiveError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The file cannot be opened or read.
    case unreadable(path: String, message: String)
    /// The file is not a Debian binary package.
    case notDeb(path: String, reason: String)
    /// A `control.tar` or `data.tar` cannot be decompressed or read.
    case corruptMember(path: String, member: String, message: String)
    /// An entry's path is absolute or climbs out with `..`.
    case unsafePath(package: String, path: String)
    /// A hardlink points outside the package's own entries.
    case hardlinkEscapes(package: String, path: String, target: String)
    /// An entry type a layer cannot hold (device, FIFO, …).
    case unsupportedEntry(package: String, path: String, type: String)
    /// Two packages ship the same path with different content or type.
    case conflict(path: String, first: String, second: String)
    /// The `.deb`'s control file is not what the index promised.
    case controlMismatch(path: String, message: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let message):
            "\(path): \(message)"
        case .notDeb(let path, let reason):
            "\(path): not a Debian package (\(reason))"
        case .corruptMember(let path, let member, let message):
            "\(path): \(member): \(message)"
        case .unsafePath(let package, let path):
            "package \(package): entry \"\(path)\" is absolute or leaves the root with \"..\""
        case .hardlinkEscapes(let package, let path, let target):
            "package \(package): hardlink \"\(path)\" points at \"\(target)\", which is not an earlier file of the package"
        case .unsupportedEntry(let package, let path, let type):
            "package \(package): \"\(path)\" is a \(type), which a packages layer cannot hold"
        case .conflict(let path, let first, let second):
            "packages \(first) and \(second) both ship /\(path) with different content"
        case .controlMismatch(let path, let message):
            "\(path): \(message)"
        }
    }
}
