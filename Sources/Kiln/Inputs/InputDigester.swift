import Crypto
import Foundation
public import Layers
#if canImport(Glibc)
import Glibc
#endif

/// Content digests of a plan's host inputs: what `kiln plan` prints, what
/// `kiln diff` compares, and what layer cache keys are made of.
///
/// - A file's digest is the SHA-256 of its bytes (what `sha256sum` prints).
/// - A directory's digest is the SHA-256 of one record per entry below it,
///   in path byte order: `path NUL kind NUL content NL`, where kind is `d`
///   (directory), `f` (file), `x` (file with the owner-execute bit) or `l`
///   (symlink), and content is the file's digest or the link's target.
///   Only the execute bit of a mode counts, as git records only that bit:
///   two checkouts of one commit digest the same whatever their umask,
///   mtimes or inode numbers.
/// - Files hard-linked to each other inside one directory input become tar
///   hardlinks in a layer, so the grouping counts too: every member of a
///   group but the first (in path byte order) has kind `h` and the first
///   member's path as content. Trees without such groups are unaffected.
public final class InputDigester: @unchecked Sendable {
    private let lock = NSLock()
    private var memo: [String: Layers.Digest] = [:]
    private let statIndex: InputStatIndex?

    /// - Parameter statIndex: file digests to reuse while a file's stamp
    ///   is unchanged (`kiln build` keeps one in the cache directory); nil
    ///   hashes every file.
    public init(statIndex: InputStatIndex? = nil) {
        self.statIndex = statIndex
    }

    /// Writes the stat index back, if one is used and anything was hashed.
    public func saveStatIndex() throws {
        try statIndex?.save()
    }

    /// The digest of the file or directory at `path` (absolute; a symlink at
    /// the top is followed, as plans follow a top-level `source`).
    /// - Throws: ``InputDigestError`` for unreadable or special files.
    public func digest(of path: String) throws -> Layers.Digest {
        if let known = lock.withLock({ memo[path] }) { return known }
        var info = stat()
        guard stat(path, &info) == 0 else { throw InputDigestError.unreadable(path: path, errno: errno) }
        let digest: Layers.Digest
        switch info.st_mode & S_IFMT {
        case S_IFREG: digest = try fileDigest(path, info: info)
        case S_IFDIR: digest = try directoryDigest(path)
        default: throw InputDigestError.special(path: path)
        }
        lock.withLock { memo[path] = digest }
        return digest
    }

    /// Digests of every host input a plan names, keyed by absolute path, for
    /// ``ImageBuildPlan``'s JSON.
    public func digests(of paths: [String]) throws -> [String: String] {
        var result: [String: String] = [:]
        for path in paths { result[path] = try digest(of: path).description }
        return result
    }

    private func directoryDigest(_ root: String) throws -> Layers.Digest {
        var hasher = SHA256()
        var pending = [""]
        var records: [(String, [UInt8])] = []
        var linkGroups: [FileIdentity: [String]] = [:]
        while let relative = pending.popLast() {
            let directory = relative.isEmpty ? root : root + "/" + relative
            let names: [String]
            do {
                names = try FileManager.default.contentsOfDirectory(atPath: directory)
            } catch {
                throw InputDigestError.unreadable(path: directory, errno: EACCES)
            }
            for name in names {
                let path = relative.isEmpty ? name : relative + "/" + name
                let host = root + "/" + path
                var info = stat()
                guard lstat(host, &info) == 0 else { throw InputDigestError.unreadable(path: host, errno: errno) }
                let kind: String
                let content: String
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    kind = "d"
                    content = ""
                    pending.append(path)
                case S_IFREG:
                    if info.st_nlink > 1 {
                        linkGroups[FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), default: []].append(path)
                    }
                    kind = info.st_mode & S_IXUSR != 0 ? "x" : "f"
                    content = try fileDigest(host, info: info).description
                case S_IFLNK:
                    kind = "l"
                    content = try Self.linkTarget(host)
                default:
                    throw InputDigestError.special(path: host)
                }
                records.append((path, Array("\(path)\0\(kind)\0\(content)\n".utf8)))
            }
        }
        var linkedTo: [String: String] = [:]
        for group in linkGroups.values where group.count > 1 {
            let sorted = group.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for member in sorted.dropFirst() { linkedTo[member] = sorted[0] }
        }
        if !linkedTo.isEmpty {
            records = records.map { path, record in
                guard let first = linkedTo[path] else { return (path, record) }
                return (path, Array("\(path)\0h\0\(first)\n".utf8))
            }
        }
        // Paths hold no NUL, so records sort as their paths do.
        records.sort { Self.precedes($0.1, $1.1) }
        for (_, record) in records { hasher.update(data: record) }
        return Layers.Digest(sha256Bytes: hasher.finalize())
    }

    /// Byte order, through memcmp.
    private static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let common = min(a.count, b.count)
        let order = a.withUnsafeBytes { a in b.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, common) } }
        return order != 0 ? order < 0 : a.count < b.count
    }

    /// A file's digest from the stat index, else hashed (and recorded with
    /// the stamp taken before the read, so a change during it is caught
    /// next time).
    private func fileDigest(_ path: String, info: stat) throws -> Layers.Digest {
        guard let statIndex else { return try Self.fileDigest(path) }
        let stamp = FileStamp(info)
        if let known = statIndex.digest(for: path, stamp: stamp) { return known }
        let digest = try Self.fileDigest(path)
        statIndex.record(digest, for: path, stamp: stamp)
        return digest
    }

    /// SHA-256 of a file's bytes, read in fixed-size chunks.
    static func fileDigest(_ path: String) throws -> Layers.Digest {
        let source = try FileByteSource(path: path)
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if count == 0 { break }
            buffer.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        }
        return Layers.Digest(sha256Bytes: hasher.finalize())
    }

    static func linkTarget(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw InputDigestError.unreadable(path: path, errno: errno) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A file's identity on the host, for hardlink groups.
private struct FileIdentity: Hashable {
    var device: UInt64
    var inode: UInt64
}

/// Why an input could not be digested.
public enum InputDigestError: Error, Hashable, Sendable, CustomStringConvertible {
    case unreadable(path: String, errno: Int32)
    case special(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
        case .special(let path): "\(path) is not a regular file, directory or symlink"
        }
    }
}
