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

    /// A directory's digest, hashed as it is walked: the walk meets paths
    /// in the records' own order (``DirectoryWalk``), so a record is hashed
    /// as soon as its file's digest is known, and files are hashed a batch
    /// at a time. Memory is one batch and one listing per directory level,
    /// whatever the tree's size (issue 19: 100,000 files kept a record,
    /// a stamp and a digest each until the end).
    private func directoryDigest(_ root: String) throws -> ContentDigest {
        var hasher = SHA256()
        var batch = RecordBatch(root: root)
        // The first path (in record order) of each multiply-linked file met.
        var firstLinked: [FileIdentity: String] = [:]
        var walk = try DirectoryWalk(root: root)
        while let item = try walk.next() {
            switch item.kind {
            case .directory, .symlink:
                batch.records.append(DirectoryRecord(path: item.path, kind: item.kind, content: item.target))
            case .file, .executable:
                if item.links > 1 {
                    let identity = FileIdentity(device: item.stamp.device, inode: item.stamp.inode)
                    if let first = firstLinked[identity] {
                        batch.records.append(DirectoryRecord(path: item.path, kind: .hardlink, content: first))
                        continue
                    }
                    firstLinked[identity] = item.path
                }
                batch.records.append(DirectoryRecord(path: item.path, kind: item.kind, file: batch.stamps.count))
                batch.stamps.append(item.stamp)
                if batch.stamps.count == RecordBatch.files { try flush(&batch, into: &hasher) }
            case .hardlink:
                preconditionFailure("a walk yields no hardlink records")
            }
        }
        try flush(&batch, into: &hasher)
        return ContentDigest(sha256Bytes: hasher.finalize())
    }

    /// Hashes the batch's files, then its records in order, and empties it.
    private func flush(_ batch: inout RecordBatch, into hasher: inout SHA256) throws {
        let digests = try fileDigests(batch)
        var line: [UInt8] = []
        for record in batch.records {
            line.removeAll(keepingCapacity: true)
            line.append(contentsOf: record.path.utf8)
            line.append(0)
            line.append(record.kind.rawValue)
            line.append(0)
            if record.file >= 0 {
                line.append(contentsOf: digests[record.file]!.description.utf8)
            } else if let content = record.content {
                line.append(contentsOf: content.utf8)
            }
            line.append(0x0A)
            hasher.update(data: line)
        }
        batch.records.removeAll(keepingCapacity: true)
        batch.stamps.removeAll(keepingCapacity: true)
    }

    /// Digests of the batch's regular files (in `batch.stamps` order): from
    /// the stat index where it holds them, the others hashed on the pool's
    /// threads and the calling one, one job per chunk of 16 files, so the
    /// layer pipeline's urgent jobs run between chunks instead of after all
    /// of them. The caller may be a pool job: it hashes too, and waits only
    /// for chunks under way (``WorkerPool/concurrentPerform(iterations:_:)``).
    /// The first failure in file order is thrown; otherwise no element is nil.
    private func fileDigests(_ batch: RecordBatch) throws -> [ContentDigest?] {
        let files = batch.files
        var digests = [ContentDigest?](repeating: nil, count: files.count)
        var missing: [Int] = []
        for (index, file) in files.enumerated() {
            if let digest = statIndex?.digest(for: file.host, stamp: file.stamp) {
                digests[index] = digest
            } else {
                missing.append(index)
            }
        }
        let chunkSize = 16
        let chunks = (missing.count + chunkSize - 1) / chunkSize
        guard chunks > 0 else { return digests }
        let pool = self.pool
        let work = ParallelHashes(digests: digests, missing: missing, chunkSize: chunkSize)
        digests = []
        let statIndex = self.statIndex
        pool.concurrentPerform(iterations: chunks) { _ in
            guard let chunk = work.nextChunk() else { return }
            // Sized for the chunk's largest file (at most ``readSize``): a
            // chunk of small files does not map and touch more.
            let largest = chunk.map { files[$0].stamp.size }.max() ?? 0
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(max(largest + 1, 4096), Self.readSize)), alignment: 64)
            defer { buffer.deallocate() }
            var results: [(Int, Result<ContentDigest, any Error>)] = []
            results.reserveCapacity(chunk.count)
            for index in chunk {
                let result = Result { try Self.fileDigest(files[index].host, buffer: buffer) }
                if case .success(let digest) = result { statIndex?.record(digest, for: files[index].host, stamp: files[index].stamp) }
                results.append((index, result))
            }
            work.store(results)
        }
        return try work.finished()
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

    /// The most read from a file at once while hashing: below glibc's
    /// mmap threshold as kiln fixes it (128 KiB), so a read buffer is never
    /// mapped, faulted in and unmapped per file; SHA-256 runs no faster on
    /// larger reads.
    static let readSize: Int64 = 64 * 1024

    /// SHA-256 of a file's bytes, read in chunks of at most ``readSize``.
    static func fileDigest(_ path: String, size: Int64) throws -> ContentDigest {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Int(min(max(size + 1, 4096), readSize)), alignment: 64)
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

/// One entry of a directory input, as its digest record says it.
private struct DirectoryRecord: Sendable {
    /// Below the input's root (short names stay inline in the string).
    var path: String
    var kind: DirectoryWalk.Kind
    /// A symlink's target, or a hardlink group's first member.
    var content: String? = nil
    /// A regular file's index in its batch's stamps; -1 for other kinds.
    var file: Int = -1
}

/// Records waiting for their files' digests, in record order.
private struct RecordBatch {
    /// Files hashed at a time: enough chunks to keep every thread busy, few
    /// enough that a batch's records and stamps take a few hundred KiB.
    static let files = 1024

    let root: String
    var records: [DirectoryRecord] = []
    /// The stamp of each file record, by its `file` index.
    var stamps: [FileStamp] = []

    init(root: String) {
        self.root = root
        records.reserveCapacity(Self.files)
        stamps.reserveCapacity(Self.files)
    }

    /// The files' host paths and stamps, in `file` index order.
    var files: [(host: String, stamp: FileStamp)] {
        records.compactMap { $0.file >= 0 ? (root + "/" + $0.path, stamps[$0.file]) : nil }
    }
}

/// A walk of a directory input in its digest records' order: the byte order
/// of the paths below the root.
///
/// Each directory is listed (names in byte order, each `lstat`ed) when the
/// walk reaches it. A subdirectory's own entry and its contents are two
/// keys of its parent's listing, `name` and `name/`, since paths of
/// siblings can fall between the two (`a`, `a.txt`, `a/x`: `.` sorts
/// before `/`).
private struct DirectoryWalk {
    /// The record kinds, as their letters.
    enum Kind: UInt8, Sendable {
        case directory = 0x64  // d
        case file = 0x66  // f
        case executable = 0x78  // x (a file with the owner-execute bit)
        case symlink = 0x6C  // l
        case hardlink = 0x68  // h
    }

    /// An entry met by the walk.
    struct Item {
        /// Below the root.
        var path: String
        var kind: Kind
        /// A regular file's stamp (its device and inode too).
        var stamp: FileStamp
        /// A regular file's link count.
        var links: Int
        /// A symlink's target.
        var target: String?
    }

    /// One listed directory: its keys in byte order, the next to visit.
    private struct Listing {
        /// An entry (`subtree` false) or a subdirectory's contents (true).
        var keys: [(key: String, item: Item?, subtree: String?)]
        var next = 0
    }

    private let root: String
    private var stack: [Listing] = []

    init(root: String) throws {
        self.root = root
        stack = [try Self.list(root: root, relative: "")]
    }

    /// The next entry in record order, nil at the end.
    mutating func next() throws -> Item? {
        while let top = stack.indices.last {
            guard stack[top].next < stack[top].keys.count else {
                stack.removeLast()
                continue
            }
            let key = stack[top].keys[stack[top].next]
            stack[top].next += 1
            if let subtree = key.subtree {
                stack.append(try Self.list(root: root, relative: subtree))
            } else if let item = key.item {
                return item
            }
        }
        return nil
    }

    private static func list(root: String, relative: String) throws -> Listing {
        let directory = relative.isEmpty ? root : root + "/" + relative
        let names: [String]
        do {
            names = try DirectoryListing.sortedNames(in: directory)
        } catch {
            throw InputDigestError.listing(error)
        }
        var keys: [(key: String, item: Item?, subtree: String?)] = []
        keys.reserveCapacity(names.count)
        var hasSubtrees = false
        for name in names {
            let path = relative.isEmpty ? name : relative + "/" + name
            let host = root + "/" + path
            var info = stat()
            guard lstat(host, &info) == 0 else { throw InputDigestError.unreadable(path: host, errno: errno) }
            let stamp = FileStamp(info)
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                keys.append((name, Item(path: path, kind: .directory, stamp: stamp, links: 0), nil))
                keys.append((name + "/", nil, path))
                hasSubtrees = true
            case S_IFREG:
                let kind: Kind = info.st_mode & S_IXUSR != 0 ? .executable : .file
                keys.append((name, Item(path: path, kind: kind, stamp: stamp, links: Int(info.st_nlink)), nil))
            case S_IFLNK:
                keys.append((name, Item(path: path, kind: .symlink, stamp: stamp, links: 0, target: try InputDigester.linkTarget(host)), nil))
            default:
                throw InputDigestError.special(path: host)
            }
        }
        if hasSubtrees { keys.sort { $0.key.utf8Precedes($1.key) } }
        return Listing(keys: keys)
    }
}

/// Hashing files on several threads: the next chunk of the files to hash
/// and the digests so far, behind one lock.
private final class ParallelHashes: Sendable {
    private let missing: [Int]
    private let chunkSize: Int
    private let state: Mutex<State>

    private struct State {
        var next = 0
        var digests: [ContentDigest?]
        /// The failure of the first file in order that failed.
        var failure: (index: Int, error: any Error)?
    }

    /// - Parameters:
    ///   - digests: one per file, those known already set.
    ///   - missing: indices of the files to hash, in order.
    init(digests: [ContentDigest?], missing: [Int], chunkSize: Int) {
        self.missing = missing
        self.chunkSize = chunkSize
        state = Mutex(State(digests: digests))
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
            for (index, result) in results {
                switch result {
                case .success(let digest): state.digests[index] = digest
                case .failure(let error): if index < state.failure?.index ?? Int.max { state.failure = (index, error) }
                }
            }
        }
    }

    /// Every digest (read once the hashing threads are done), or the first
    /// failure.
    func finished() throws -> [ContentDigest?] {
        try state.withLock { state in
            if let failure = state.failure { throw failure.error }
            return state.digests
        }
    }
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
