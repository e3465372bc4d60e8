import Crypto
import Foundation
import Archive
public import KilnCore
import Strategies
import Glibc
import Synchronization

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
///
/// Files are hashed on a ``WorkerPool``: the build's, or one the digester
/// starts on first use (sized by the core count) for `kiln plan` and
/// `kiln diff`.
public final class InputDigester: Sendable {
    private let memo = Mutex<[String: ContentDigest]>([:])
    private let statIndex: InputStatIndex?
    private let givenPool: Mutex<WorkerPool?>

    /// - Parameters:
    ///   - statIndex: file digests to reuse while a file's stamp is
    ///     unchanged (`kiln build` keeps one in the cache directory); nil
    ///     hashes every file.
    ///   - pool: the threads that hash files (a build's `--jobs`); nil
    ///     starts a pool of one thread per core on first need.
    public init(statIndex: InputStatIndex? = nil, pool: WorkerPool? = nil) {
        self.statIndex = statIndex
        givenPool = Mutex(pool)
    }

    /// The pool files are hashed on (started here if none was given).
    var pool: WorkerPool {
        givenPool.withLock { pool in
            if let pool { return pool }
            let started = WorkerPool(threads: WorkerPool.onlineCores)
            pool = started
            return started
        }
    }

    /// Writes the stat index back, if one is used and anything was hashed.
    public func saveStatIndex() throws {
        try statIndex?.save()
    }

    /// The digest of the file or directory at `path` (absolute; a symlink at
    /// the top is followed, as plans follow a top-level `source`).
    /// - Throws: ``InputDigestError`` for unreadable or special files.
    public func digest(of path: String) throws -> ContentDigest {
        if let known = memo.withLock({ $0[path] }) { return known }
        var info = stat()
        guard stat(path, &info) == 0 else { throw InputDigestError.unreadable(path: path, errno: errno) }
        let digest: ContentDigest
        switch info.st_mode & S_IFMT {
        case S_IFREG: digest = try fileDigest(path, info: info)
        case S_IFDIR: digest = try directoryDigest(path)
        default: throw InputDigestError.special(path: path)
        }
        memo.withLock { $0[path] = digest }
        return digest
    }

    /// Digests of every host input a plan names, keyed by absolute path, for
    /// ``ImageBuildPlan``'s JSON.
    public func digests(of paths: [String]) throws -> [String: String] {
        var result: [String: String] = [:]
        for path in paths { result[path] = try digest(of: path).description }
        return result
    }

    private func directoryDigest(_ root: String) throws -> ContentDigest {
        var hasher = SHA256()
        var pending = [""]
        // (path, kind, content); a file's content is its digest, looked up
        // by `file` (its index in `files`) when the record is hashed, so
        // 100,000 files do not keep 100,000 digest strings.
        var records: [(path: String, kind: String, content: String, file: Int)] = []
        // What hashing needs: the host path and the stamp, not the whole
        // `stat` (144 bytes), for memory's sake on large trees.
        var files: [(host: String, stamp: FileStamp)] = []
        var linkGroups: [FileIdentity: [String]] = [:]
        while let relative = pending.popLast() {
            let directory = relative.isEmpty ? root : root + "/" + relative
            let names: [String]
            do {
                names = try DirectoryListing.sortedNames(in: directory)
            } catch {
                throw InputDigestError.listing(error)
            }
            for name in names {
                let path = relative.isEmpty ? name : relative + "/" + name
                let host = root + "/" + path
                var info = stat()
                guard lstat(host, &info) == 0 else { throw InputDigestError.unreadable(path: host, errno: errno) }
                switch info.st_mode & S_IFMT {
                case S_IFDIR:
                    records.append((path, "d", "", -1))
                    pending.append(path)
                case S_IFREG:
                    if info.st_nlink > 1 {
                        linkGroups[FileIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)), default: []].append(path)
                    }
                    records.append((path, info.st_mode & S_IXUSR != 0 ? "x" : "f", "", files.count))
                    files.append((host, FileStamp(info)))
                case S_IFLNK:
                    records.append((path, "l", try Self.linkTarget(host), -1))
                default:
                    throw InputDigestError.special(path: host)
                }
            }
        }
        let digests = try fileDigests(files)
        files = []
        var linkedTo: [String: String] = [:]
        for group in linkGroups.values where group.count > 1 {
            let sorted = group.sorted { $0.utf8Precedes($1) }
            for member in sorted.dropFirst() { linkedTo[member] = sorted[0] }
        }
        for index in records.indices {
            if let first = linkedTo[records[index].path] { records[index] = (records[index].path, "h", first, -1) }
        }
        records.sort { $0.path.utf8Precedes($1.path) }
        for record in records {
            let content = record.file >= 0 ? digests[record.file].description : record.content
            hasher.update(data: Array("\(record.path)\0\(record.kind)\0\(content)\n".utf8))
        }
        return ContentDigest(sha256Bytes: hasher.finalize())
    }

    /// Digests of regular files: from the stat index where it holds them,
    /// the others hashed on the pool's threads and the calling one, one
    /// job per chunk of 16 files, so the layer pipeline's urgent jobs run
    /// between chunks instead of after all of them. The caller may
    /// be a pool job: it hashes too, and waits only for chunks under way
    /// (``WorkerPool/concurrentPerform(iterations:_:)``). The first failure
    /// in `files` order is thrown.
    private func fileDigests(_ files: [(host: String, stamp: FileStamp)]) throws -> [ContentDigest] {
        // By index, not in a dictionary: a quarter of the memory on large trees.
        var known = [ContentDigest?](repeating: nil, count: files.count)
        var missing: [Int] = []
        for (index, file) in files.enumerated() {
            if let digest = statIndex?.digest(for: file.host, stamp: file.stamp) {
                known[index] = digest
            } else {
                missing.append(index)
            }
        }
        let chunkSize = 16
        let chunks = (missing.count + chunkSize - 1) / chunkSize
        var hashed: [Int: Result<ContentDigest, any Error>] = [:]
        if chunks > 0 {
            let pool = self.pool
            let work = ParallelHashes(missing: missing, chunkSize: chunkSize)
            let statIndex = self.statIndex
            // Room for every record at once: growing the index while the
            // files are hashed would hold its old and new tables together.
            statIndex?.reserve(missing.count)
            pool.concurrentPerform(iterations: chunks) { _ in
                guard let chunk = work.nextChunk() else { return }
                // Sized for the chunk's largest file (at most 1 MiB): a chunk
                // of small files does not map and touch a megabyte.
                let largest = chunk.map { files[$0].stamp.size }.max() ?? 0
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(max(largest + 1, 4096), 1 << 20)), alignment: 64)
                defer { buffer.deallocate() }
                var results: [(Int, Result<ContentDigest, any Error>)] = []
                for index in chunk {
                    let result = Result { try Self.fileDigest(files[index].host, buffer: buffer) }
                    if case .success(let digest) = result { statIndex?.record(digest, for: files[index].host, stamp: files[index].stamp) }
                    results.append((index, result))
                }
                work.store(results)
            }
            hashed = work.results
        }
        return try files.indices.map { index in try known[index] ?? hashed[index]!.get() }
    }

    /// A file's digest from the stat index, else hashed (and recorded with
    /// the stamp taken before the read, so a change during it is caught
    /// next time).
    private func fileDigest(_ path: String, info: stat) throws -> ContentDigest {
        guard let statIndex else { return try Self.fileDigest(path, size: Int64(info.st_size)) }
        let stamp = FileStamp(info)
        if let known = statIndex.digest(for: path, stamp: stamp) { return known }
        let digest = try Self.fileDigest(path, size: stamp.size)
        statIndex.record(digest, for: path, stamp: stamp)
        return digest
    }

    /// SHA-256 of a file's bytes, read in chunks of at most 1 MiB.
    static func fileDigest(_ path: String, size: Int64) throws -> ContentDigest {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(max(size + 1, 4096), 1 << 20)), alignment: 64)
        defer { buffer.deallocate() }
        return try fileDigest(path, buffer: buffer)
    }

    /// SHA-256 of a file's bytes, read through `buffer`.
    static func fileDigest(_ path: String, buffer: UnsafeMutableRawBufferPointer) throws -> ContentDigest {
        let source = try FileByteSource(path: path)
        var hasher = SHA256()
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        return ContentDigest(sha256Bytes: hasher.finalize())
    }

    static func linkTarget(_ path: String) throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count >= 0 else { throw InputDigestError.unreadable(path: path, errno: errno) }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Hashing files on several threads: the next chunk of the files to hash
/// and the results so far, behind one lock.
private final class ParallelHashes: Sendable {
    private let missing: [Int]
    private let chunkSize: Int
    private let state = Mutex<(next: Int, results: [Int: Result<ContentDigest, any Error>])>((0, [:]))

    /// - Parameter missing: indices of the files to hash, in order.
    init(missing: [Int], chunkSize: Int) {
        self.missing = missing
        self.chunkSize = chunkSize
    }

    /// The indices of the next files to hash, or nil when none are left.
    func nextChunk() -> ArraySlice<Int>? {
        state.withLock { state in
            guard state.next < missing.count else { return nil }
            let end = min(missing.count, state.next + chunkSize)
            defer { state.next = end }
            return missing[state.next..<end]
        }
    }

    func store(_ results: [(Int, Result<ContentDigest, any Error>)]) {
        state.withLock { state in
            for (index, result) in results { state.results[index] = result }
        }
    }

    /// Every result stored (read once the hashing threads are done).
    var results: [Int: Result<ContentDigest, any Error>] {
        state.withLock { $0.results }
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
    /// A directory could not be listed, or holds a name that is not UTF-8.
    case listing(DirectoryListing.Failure)

    public var description: String {
        switch self {
        case .listing(let failure): "\(failure)"
        case .unreadable(let path, let code): "cannot read \(path): \(String(cString: strerror(code)))"
        case .special(let path): "\(path) is not a regular file, directory or symlink"
        }
    }
}
