import KilnCore

/// One member of a tar archive as ``TarReader`` reports it: the header with
/// every PAX and GNU extension applied.
public struct TarMember: Hashable, Sendable {
    /// The path as stored (after PAX `path` / GNU long-name), e.g. `./usr/bin/`
    /// or `etc/hosts`. ``normalizedPath()`` gives the form a layer uses.
    public var path: String
    /// What the member is.
    public var kind: Kind
    /// Permission bits including setuid, setgid and sticky (`& 0o7777`).
    public var mode: UInt32
    /// Numeric owner, as the header (or its PAX record) holds it.
    public var uid: UInt32
    public var gid: UInt32
    /// Bytes of content that follow the header; 0 for every kind but
    /// ``Kind/regular``.
    public var size: Int64
    /// Seconds since the epoch (PAX fractions dropped toward the past).
    public var modificationTime: Int64
    /// Owner name as stored (often empty).
    public var userName: String
    /// Group name as stored (often empty).
    public var groupName: String
    /// The PAX records in force for this member, global ones included
    /// (`SCHILY.xattr.*`, `comment`, …), for callers that need more than the
    /// fields above.
    public var paxRecords: [String: String]
    /// Where the member's first header (extended headers included) starts in
    /// the uncompressed stream.
    public var headerOffset: Int64

    public init(
        path: String, kind: Kind, mode: UInt32, uid: UInt32, gid: UInt32, size: Int64,
        modificationTime: Int64, userName: String = "", groupName: String = "",
        paxRecords: [String: String] = [:], headerOffset: Int64 = 0
    ) {
        self.path = path
        self.kind = kind
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
        self.size = size
        self.modificationTime = modificationTime
        self.userName = userName
        self.groupName = groupName
        self.paxRecords = paxRecords
        self.headerOffset = headerOffset
    }

    /// The kinds of member a reader reports.
    public enum Kind: Hashable, Sendable {
        /// A regular file (typeflag `0`, NUL or contiguous `7`); its content follows.
        case regular
        case directory
        /// Target as stored.
        case symlink(target: String)
        /// Target is the stored path of an earlier member.
        case hardlink(target: String)
        case characterDevice(major: UInt32, minor: UInt32)
        case blockDevice(major: UInt32, minor: UInt32)
        case fifo
    }

    /// The path relative to the archive root, in ``LayerEntry`` form: leading
    /// `/` and `./`, `.` components and trailing `/` removed.
    /// - Returns: nil when the member is the root itself (`./`, `/`).
    /// - Throws: ``TarReadError/unsafePath(offset:path:)`` when a `..`
    ///   component could lead outside the root.
    public func normalizedPath() throws(TarReadError) -> String? {
        try TarMember.normalize(path, headerOffset: headerOffset)
    }

    /// The hardlink target in the same form as ``normalizedPath()``, or nil
    /// for other kinds.
    public func normalizedLinkTarget() throws(TarReadError) -> String? {
        guard case .hardlink(let target) = kind else { return nil }
        guard let normalized = try TarMember.normalize(target, headerOffset: headerOffset) else {
            throw .unsafePath(offset: headerOffset, path: target)
        }
        return normalized
    }

    private static func normalize(_ path: String, headerOffset: Int64) throws(TarReadError) -> String? {
        var components: [Substring] = []
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." { throw .unsafePath(offset: headerOffset, path: path) }
            components.append(component)
        }
        return components.isEmpty ? nil : components.joined(separator: "/")
    }
}
