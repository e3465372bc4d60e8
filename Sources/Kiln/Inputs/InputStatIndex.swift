import Foundation
import Archive
public import KilnCore
import Strategies
import Glibc
import Synchronization

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
public final class InputStatIndex: Sendable {
    /// Where the index lives.
    public let path: String
    /// The second the loaded index was written; stamps at or after it are racy.
    private let writtenAt: Int64
    private let state: Mutex<Records>

    /// What hashing threads look up and record at once.
    private struct Records {
        var byPath: [String: (stamp: FileStamp, digest: ContentDigest)] = [:]
        var changed = false
        var seen = Set<String>()
    }

    static let header = "kiln-input-index 1"
    /// Entries not seen by a run are kept while the index stays below this.
    static let keepLimit = 500_000

    /// Loads the index at `path`; a missing or unreadable one is empty.
    public init(path: String) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else {
            writtenAt = Int64.min
            state = Mutex(Records())
            return
        }
        writtenAt = Int64(info.st_mtim.tv_sec)
        var records: [String: (stamp: FileStamp, digest: ContentDigest)] = [:]
        // One record a line: sized at once, never regrown (which holds the
        // old and new tables together).
        records.reserveCapacity(data.withUnsafeBytes { bytes in bytes.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } })
        data.withUnsafeBytes { bytes in
            let header = Array((Self.header + "\n").utf8)
            guard bytes.count >= header.count, bytes.prefix(header.count).elementsEqual(header) else { return }
            var start = header.count
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                if let (path, stamp, digest) = Self.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<end])) {
                    records[path] = (stamp, digest)
                }
                start = end + 1
            }
        }
        state = Mutex(Records(byPath: records))
    }

    /// The digest recorded for `path`, if its stamp is unchanged and it is
    /// not racy.
    public func digest(for path: String, stamp: FileStamp) -> ContentDigest? {
        state.withLock { state in
            state.seen.insert(path)
            guard let record = state.byPath[path], record.stamp == stamp else { return nil }
            guard stamp.modified < writtenAt, stamp.changed < writtenAt else { return nil }
            return record.digest
        }
    }

    /// Makes room for `count` more records at once (before a batch of
    /// files is hashed), so the table is not regrown on the way.
    func reserve(_ count: Int) {
        state.withLock { state in
            state.byPath.reserveCapacity(state.byPath.count + count)
            state.seen.reserveCapacity(state.seen.count + count)
        }
    }

    /// Records the digest just computed for `path` with the stamp taken
    /// before it was read.
    public func record(_ digest: ContentDigest, for path: String, stamp: FileStamp) {
        guard !path.contains("\n") else { return }
        state.withLock { state in
            state.seen.insert(path)
            if let old = state.byPath[path], old.stamp == stamp, old.digest == digest, stamp.modified < writtenAt, stamp.changed < writtenAt {
                return
            }
            state.byPath[path] = (stamp, digest)
            state.changed = true
        }
    }

    /// Writes the index if anything was hashed (atomically: a temporary
    /// file renamed over the old index).
    public func save() throws {
        let text: String? = state.withLock { state in
            guard state.changed else { return nil }
            if state.byPath.count > Self.keepLimit {
                let seen = state.seen
                state.byPath = state.byPath.filter { seen.contains($0.key) }
            }
            var text = Self.header + "\n"
            for (path, record) in state.byPath.sorted(by: { $0.key < $1.key }) {
                let s = record.stamp
                text += "\(record.digest.hex) \(s.size) \(s.modified) \(s.modifiedNanoseconds) \(s.changed) \(s.changedNanoseconds) \(s.inode) \(s.device) \(path)\n"
            }
            state.changed = false
            return text
        }
        guard let text else { return }
        try AtomicFile.write(Array(text.utf8), to: path)
    }

    /// One line: 64 hex digits, seven decimal numbers, the path; each
    /// separated by one space. Anything else is skipped.
    private static func parse(_ line: UnsafeRawBufferPointer) -> (String, FileStamp, ContentDigest)? {
        guard line.count > 65, line[64] == 0x20,
              let digest = try? ContentDigest(parsing: "sha256:" + String(decoding: UnsafeRawBufferPointer(rebasing: line[..<64]), as: UTF8.self))
        else { return nil }
        var position = 65
        var numbers: [UInt64] = []
        numbers.reserveCapacity(7)
        while numbers.count < 7 {
            var value: UInt64 = 0
            let start = position
            while position < line.count, line[position] != 0x20 {
                let digit = line[position] &- 0x30
                guard digit < 10, value <= (UInt64.max - 9) / 10 else { return nil }
                value = value * 10 + UInt64(digit)
                position += 1
            }
            guard position > start, position < line.count else { return nil }
            numbers.append(value)
            position += 1
        }
        guard position < line.count, numbers[0...4].allSatisfy({ $0 <= UInt64(Int64.max) }) else { return nil }
        let path = String(decoding: UnsafeRawBufferPointer(rebasing: line[position...]), as: UTF8.self)
        let stamp = FileStamp(
            size: Int64(numbers[0]), modified: Int64(numbers[1]), modifiedNanoseconds: Int64(numbers[2]), changed: Int64(numbers[3]),
            changedNanoseconds: Int64(numbers[4]), inode: numbers[5], device: numbers[6])
        return (path, stamp, digest)
    }
}
