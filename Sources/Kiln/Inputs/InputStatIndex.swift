import Foundation
public import Layers
#if canImport(Glibc)
import Glibc
#endif

/// What `lstat` says about a file, as far as the stat index compares it.
public struct FileStamp: Hashable, Sendable {
    /// `st_size`.
    public var size: Int64
    /// `st_mtim`, seconds and nanoseconds.
    public var modified: Int64
    public var modifiedNanoseconds: Int64
    /// `st_ctim`, seconds and nanoseconds.
    public var changed: Int64
    public var changedNanoseconds: Int64
    /// `st_ino` and `st_dev`.
    public var inode: UInt64
    public var device: UInt64

    /// The stamp of a `stat` result.
    init(_ info: stat) {
        size = Int64(info.st_size)
        modified = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec)
        changedNanoseconds = Int64(info.st_ctim.tv_nsec)
        inode = UInt64(info.st_ino)
        device = UInt64(info.st_dev)
    }

    /// A stamp from its fields.
    public init(size: Int64, modified: Int64, modifiedNanoseconds: Int64, changed: Int64, changedNanoseconds: Int64, inode: UInt64, device: UInt64) {
        self.size = size
        self.modified = modified
        self.modifiedNanoseconds = modifiedNanoseconds
        self.changed = changed
        self.changedNanoseconds = changedNanoseconds
        self.inode = inode
        self.device = device
    }
}

/// A stat index, like git's: a file's content digest is reused while its
/// size, mtime, ctime, inode and device are unchanged, so an unchanged
/// checkout is not hashed again.
///
/// It is never trusted when in doubt. A file whose mtime or ctime is at or
/// after the second the index was written ("racy": it may have changed
/// again within that second without its stamp changing) is hashed again,
/// and so is every file when the index is missing or unreadable. The index
/// is only a speed-up: losing it costs a re-hash, never a wrong digest.
///
/// Stored as text, one line per file (`digest size mtime mtime_ns ctime
/// ctime_ns inode device path`), written to a temporary file and renamed
/// into place; its own mtime is its write time.
public final class InputStatIndex: @unchecked Sendable {
    /// Where the index lives.
    public let path: String
    private let lock = NSLock()
    private var records: [String: (stamp: FileStamp, digest: Layers.Digest)] = [:]
    /// The second the loaded index was written; stamps at or after it are racy.
    private let writtenAt: Int64
    private var changed = false
    private var seen = Set<String>()

    static let header = "kiln-input-index 1"
    /// Entries not seen by a run are kept while the index stays below this.
    static let keepLimit = 500_000

    /// Loads the index at `path`; a missing or unreadable one is empty.
    public init(path: String) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0, let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            writtenAt = Int64.min
            return
        }
        writtenAt = Int64(info.st_mtim.tv_sec)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)[...]
        guard lines.first == Substring(Self.header) else { return }
        lines = lines.dropFirst()
        for line in lines {
            if let (path, stamp, digest) = Self.parse(line) { records[path] = (stamp, digest) }
        }
    }

    /// The digest recorded for `path`, if its stamp is unchanged and it is
    /// not racy.
    public func digest(for path: String, stamp: FileStamp) -> Layers.Digest? {
        lock.withLock {
            seen.insert(path)
            guard let record = records[path], record.stamp == stamp else { return nil }
            guard stamp.modified < writtenAt, stamp.changed < writtenAt else { return nil }
            return record.digest
        }
    }

    /// Records the digest just computed for `path` with the stamp taken
    /// before it was read.
    public func record(_ digest: Layers.Digest, for path: String, stamp: FileStamp) {
        guard !path.contains("\n") else { return }
        lock.withLock {
            seen.insert(path)
            if let old = records[path], old.stamp == stamp, old.digest == digest, stamp.modified < writtenAt, stamp.changed < writtenAt {
                return
            }
            records[path] = (stamp, digest)
            changed = true
        }
    }

    /// Writes the index if anything was hashed (atomically: a temporary
    /// file renamed over the old index).
    public func save() throws {
        let text: String? = lock.withLock {
            guard changed else { return nil }
            if records.count > Self.keepLimit { records = records.filter { seen.contains($0.key) } }
            var text = Self.header + "\n"
            for (path, record) in records.sorted(by: { $0.key < $1.key }) {
                let s = record.stamp
                text += "\(record.digest.hex) \(s.size) \(s.modified) \(s.modifiedNanoseconds) \(s.changed) \(s.changedNanoseconds) \(s.inode) \(s.device) \(path)\n"
            }
            changed = false
            return text
        }
        guard let text else { return }
        try AtomicFile.write(Array(text.utf8), to: path)
    }

    private static func parse(_ line: Substring) -> (String, FileStamp, Layers.Digest)? {
        var fields = line.split(separator: " ", maxSplits: 8, omittingEmptySubsequences: false)
        guard fields.count == 9, let digest = try? Layers.Digest(parsing: "sha256:" + fields[0]) else { return nil }
        let path = String(fields.removeLast())
        let numbers = fields[1...5].map { Int64($0) }
        guard numbers.allSatisfy({ $0 != nil }), let inode = UInt64(fields[6]), let device = UInt64(fields[7]) else { return nil }
        let stamp = FileStamp(
            size: numbers[0]!, modified: numbers[1]!, modifiedNanoseconds: numbers[2]!, changed: numbers[3]!,
            changedNanoseconds: numbers[4]!, inode: inode, device: device)
        return (path, stamp, digest)
    }
}
