public import Archive
public import KilnCore

/// What one tar member of a layer does to the file system below it, read
/// the way the OCI image spec's layer changesets say (image-spec
/// `layer.md`, "Whiteouts"): `.wh.NAME` removes NAME from the lower
/// layers, `.wh..wh..opq` hides every lower entry of its directory, and
/// anything else is added (or replaces what a lower layer had there).
public enum ChangesetEntry: Hashable, Sendable {
    /// Remove this path (normalized, as ``LayerEntry/path``) and everything
    /// below it, as far as lower layers have it.
    case whiteout(String)
    /// Hide every lower entry of this directory (`""` for the root).
    case opaque(String)
    /// Add this member at this normalized path.
    case entry(String, TarMember)
    /// The archive's root itself (`./`): nothing to apply.
    case root

    /// Reads what `member` does.
    /// - Throws: ``RefusedEntry/Reason`` when the member would reach outside
    ///   the image's root (a `..` component) or is a whiteout naming no entry
    ///   (`.wh.`, `.wh..`, `.wh...`).
    public init(_ member: TarMember) throws(RefusedEntry.Reason) {
        let path: String?
        do {
            path = try member.normalizedPath()
        } catch {
            throw .escapes
        }
        guard let path else {
            self = .root
            return
        }
        let parent = LayerTree.parent(of: path)
        let name = parent.map { String(path.dropFirst($0.count + 1)) } ?? path
        guard name.hasPrefix(Whiteout.prefix) else {
            if parent.map({ $0.split(separator: "/").contains { $0.hasPrefix(Whiteout.prefix) } }) ?? false {
                // Below a whiteout name: not a path of the image at all.
                throw .belowWhiteout
            }
            self = .entry(path, member)
            return
        }
        if name == Whiteout.opaqueMarker {
            self = .opaque(parent ?? "")
            return
        }
        let removed = String(name.dropFirst(Whiteout.prefix.count))
        guard !removed.isEmpty, removed != ".", removed != "..", !removed.hasPrefix(Whiteout.prefix) else {
            // `.wh..wh.plnk` and the like are aufs bookkeeping, never paths;
            // `.wh..` would name the parent.
            throw .badWhiteout
        }
        self = .whiteout(parent.map { $0 + "/" + removed } ?? removed)
    }
}

/// A tar member an image reader did not apply, and why.
public struct RefusedEntry: Hashable, Sendable, CustomStringConvertible {
    /// The layer's blob digest.
    public var layer: String
    /// The member's path as stored.
    public var path: String
    /// Why it was refused.
    public var reason: Reason

    /// Memberwise.
    public init(layer: String, path: String, reason: Reason) {
        self.layer = layer
        self.path = path
        self.reason = reason
    }

    /// Why a member is not applied.
    public enum Reason: Error, Hashable, Sendable, CustomStringConvertible {
        /// A `..` component could lead outside the root.
        case escapes
        /// `.wh.` with no name, `.wh..`, `.wh...` or another `.wh..wh.` name.
        case badWhiteout
        /// A path below a `.wh.` name.
        case belowWhiteout
        /// A hardlink whose target the image does not have (or is a directory).
        case hardlinkTarget(String)
        /// A path whose parent is not a directory in the image.
        case parentNotDirectory(String)
        /// More than 40 symlinks on the way, or a loop.
        case symlinkLoop
        /// A device node: kiln does not create them (`major:minor`).
        case device(String)
        /// A kind the output cannot hold (a fifo in a tar).
        case unsupported(String)
        /// The file system refused it (errno's text).
        case system(String)

        public var description: String {
            switch self {
            case .escapes: "its path leads outside the image's root"
            case .badWhiteout: "a whiteout that names no entry"
            case .belowWhiteout: "it sits below a whiteout name"
            case .hardlinkTarget(let target): "a hardlink to /\(target), which the image does not have as a file"
            case .parentNotDirectory(let parent): "it sits below /\(parent), which is not a directory"
            case .symlinkLoop: "too many symlinks on its way (a loop)"
            case .device(let numbers): "a device node (\(numbers)); kiln export creates none"
            case .unsupported(let what): what
            case .system(let message): message
            }
        }
    }

    public var description: String { "\(path) in layer \(layer): \(reason)" }
}

/// Why an image's file system could not be read or written.
public enum ImageFileSystemError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A layer blob that cannot be read (corrupt, truncated member).
    case layer(digest: ContentDigest, detail: String)
    /// A layer whose tar stream does not hash to its diff_id.
    case diffIDMismatch(digest: ContentDigest, expected: ContentDigest, actual: ContentDigest)
    /// Members that were not applied, each named.
    case refused([RefusedEntry])
    /// The output could not be written.
    case output(path: String, detail: String)

    public var description: String {
        switch self {
        case .layer(let digest, let detail): "layer \(digest): \(detail)"
        case .diffIDMismatch(let digest, let expected, let actual):
            "layer \(digest): its content hashes to \(actual), not to the diff_id \(expected) the config names"
        case .refused(let entries):
            "refused \(entries.count) entr\(entries.count == 1 ? "y" : "ies"), nothing was written outside the output:\n"
                + entries.map { "  \($0)" }.joined(separator: "\n")
        case .output(let path, let detail): "\(path): \(detail)"
        }
    }
}
