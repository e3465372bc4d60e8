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
/// ctime_ns inode device path`) in path byte order, written to a temporary
/// file and renamed into place; its own mtime is its write time.
///
/// In memory it is two ``StampRecords`` tables, the loaded index (searched)
/// and what this run hashed (merged in on save): flat arrays with every
/// path in one byte buffer, about 100 bytes a file, where a dictionary of
/// strings took about 330 (issue 19: 100,000 inputs under 100 MiB).
public final class InputStatIndex: Sendable {
    /// Where the index lives.
    public let path: String
    /// The second the loaded index was written; stamps at or after it are racy.
    private let writtenAt: Int64
    private let state: Mutex<State>

    private struct State {
        /// The index as loaded, in path byte order.
        var loaded: StampRecords
        /// Which loaded records this run looked up or recorded.
        var seen: [Bool]
        /// Records made by this run, in the order hashed, in chunks of a
        /// fixed size: one array grown by doubling would hold its old and
        /// new storage at once, in the middle of a build.
        var added: [StampRecords] = []
        var addedCount = 0
    }

    /// Records per chunk of ``State/added``.
    static let chunkRecords = 8192

    static let header = "kiln-input-index 1"
    /// Entries not seen by a run are kept while the index stays below this.
    static let keepLimit = 500_000

    /// Loads the index at `path`; a missing or unreadable one is empty.
    public init(path: String) {
        self.path = path
        var info = stat()
        guard stat(path, &info) == 0, let data = FileManager.default.contents(atPath: path) else {
            writtenAt = Int64.min
            state = Mutex(State(loaded: StampRecords(), seen: []))
            return
        }
        writtenAt = Int64(info.st_mtim.tv_sec)
        var loaded = StampRecords()
        data.withUnsafeBytes { bytes in
            let header = Array((Self.header + "\n").utf8)
            guard bytes.count >= header.count, bytes.prefix(header.count).elementsEqual(header) else { return }
            // One record a line: sized at once, never regrown.
            let lines = bytes.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
            loaded.reserve(records: lines, pathBytes: bytes.count - 100 * lines)
            var start = header.count
            while start < bytes.count {
                var end = start
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                Self.parse(UnsafeRawBufferPointer(rebasing: bytes[start..<end]), into: &loaded)
                start = end + 1
            }
        }
        // Indexes are written in path byte order; one that is not (edited,
        // or from an older kiln) is put in order once.
        loaded.sortByPath()
        state = Mutex(State(loaded: loaded, seen: Array(repeating: false, count: loaded.count)))
    }

    /// The digest recorded for `path`, if its stamp is unchanged and it is
    /// not racy.
    public func digest(for path: String, stamp: FileStamp) -> ContentDigest? {
        state.withLock { state in
            guard let index = state.loaded.index(of: path) else { return nil }
            state.seen[index] = true
            let record = state.loaded[index]
            guard record.stamp == stamp, stamp.modified < writtenAt, stamp.changed < writtenAt else { return nil }
            return record.digest
        }
    }

    /// Records the digest just computed for `path` with the stamp taken
    /// before it was read.
    public func record(_ digest: ContentDigest, for path: String, stamp: FileStamp) {
        guard !path.utf8.contains(0x0A) else { return }
        state.withLock { state in
            if let index = state.loaded.index(of: path) {
                state.seen[index] = true
                let old = state.loaded[index]
                if old.stamp == stamp, old.digest == digest, stamp.modified < writtenAt, stamp.changed < writtenAt { return }
            }
            if state.added.last.map({ $0.count == Self.chunkRecords }) ?? true {
                var chunk = StampRecords()
                chunk.reserve(records: Self.chunkRecords, pathBytes: Self.chunkRecords * (path.utf8.count + 16))
                state.added.append(chunk)
            }
            state.added[state.added.count - 1].append(path: path, stamp: stamp, digest: digest)
            state.addedCount += 1
        }
    }

    /// Writes the index if anything was hashed (atomically: a temporary
    /// file renamed over the old index). A path recorded by this run
    /// replaces its loaded record; loaded records this run did not see are
    /// dropped only when the index has grown past ``keepLimit``.
    public func save() throws {
        let text: [UInt8]? = state.withLock { state in
            guard state.addedCount > 0 else { return nil }
            var added = StampRecords(joining: state.added)
            state.added = []
            state.addedCount = 0
            added.sortByPath(keepingLast: true)
            let pruning = state.loaded.count + added.count > Self.keepLimit
            var text = Array((Self.header + "\n").utf8)
            text.reserveCapacity(text.count + (state.loaded.count + added.count) * 190)
            var old = 0
            var new = 0
            while old < state.loaded.count || new < added.count {
                let order = old == state.loaded.count ? 1 : new == added.count ? -1 : state.loaded.comparePath(old, with: added, new)
                if order < 0 {
                    if !pruning || state.seen[old] { state.loaded.appendLine(old, to: &text) }
                    old += 1
                } else {
                    added.appendLine(new, to: &text)
                    new += 1
                    if order == 0 { old += 1 }
                }
            }
            return text
        }
        guard let text else { return }
        try AtomicFile.write(text, to: path)
    }

    /// Parses one line (64 hex digits, seven decimal numbers, the path; each
    /// separated by one space) into `records`. Anything else is skipped.
    private static func parse(_ line: UnsafeRawBufferPointer, into records: inout StampRecords) {
        guard line.count > 65, line[64] == 0x20, let digest = ContentDigest(hex: line[..<64]) else { return }
        var position = 65
        var numbers: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0)
        for field in 0..<7 {
            var value: UInt64 = 0
            let start = position
            while position < line.count, line[position] != 0x20 {
                let digit = line[position] &- 0x30
                guard digit < 10, value <= (UInt64.max - 9) / 10 else { return }
                value = value * 10 + UInt64(digit)
                position += 1
            }
            guard position > start, position < line.count else { return }
            switch field {
            case 0: numbers.0 = value
            case 1: numbers.1 = value
            case 2: numbers.2 = value
            case 3: numbers.3 = value
            case 4: numbers.4 = value
            case 5: numbers.5 = value
            default: numbers.6 = value
            }
            position += 1
        }
        let signed = UInt64(Int64.max)
        guard position < line.count, numbers.0 <= signed, numbers.1 <= signed, numbers.2 <= signed, numbers.3 <= signed, numbers.4 <= signed
        else { return }
        // Not checked for UTF-8: kiln writes the paths from strings, and a
        // damaged one is never matched by a lookup, which takes a string.
        let path = UnsafeRawBufferPointer(rebasing: line[position...])
        let stamp = FileStamp(
            size: Int64(numbers.0), modified: Int64(numbers.1), modifiedNanoseconds: Int64(numbers.2), changed: Int64(numbers.3),
            changedNanoseconds: Int64(numbers.4), inode: numbers.5, device: numbers.6)
        records.append(path: path, stamp: stamp, digest: digest)
    }
}

/// Stat index records in flat storage: each record's stamp and digest in
/// one array, its path as a range of one shared byte buffer (no string,
/// and so no allocation, per file).
struct StampRecords: Sendable {
    struct Record: Sendable {
        var pathStart: Int
        var pathCount: Int
        var stamp: FileStamp
        var digest: ContentDigest
    }

    private var records: [Record] = []
    private var paths: [UInt8] = []

    init() {}

    /// The records of `chunks` in order, in one table sized at once.
    init(joining chunks: [StampRecords]) {
        reserve(records: chunks.reduce(0) { $0 + $1.count }, pathBytes: chunks.reduce(0) { $0 + $1.paths.count })
        for chunk in chunks {
            let offset = paths.count
            records.append(contentsOf: chunk.records.lazy.map { record in
                var record = record
                record.pathStart += offset
                return record
            })
            paths.append(contentsOf: chunk.paths)
        }
    }

    var count: Int { records.count }

    subscript(index: Int) -> Record { records[index] }

    mutating func reserve(records count: Int, pathBytes: Int) {
        records.reserveCapacity(records.count + count)
        paths.reserveCapacity(paths.count + max(0, pathBytes))
    }

    mutating func append(path: String, stamp: FileStamp, digest: ContentDigest) {
        var path = path
        path.withUTF8 { append(path: UnsafeRawBufferPointer($0), stamp: stamp, digest: digest) }
    }

    mutating func append(path: UnsafeRawBufferPointer, stamp: FileStamp, digest: ContentDigest) {
        records.append(Record(pathStart: paths.count, pathCount: path.count, stamp: stamp, digest: digest))
        paths.append(contentsOf: path)
    }

    /// The record of `path`, by binary search (the records in path byte order).
    func index(of path: String) -> Int? {
        var path = path
        return path.withUTF8 { key in
            paths.withUnsafeBytes { buffer in
                var low = 0
                var high = records.count
                while low < high {
                    let middle = (low + high) / 2
                    let order = Self.compare(Self.bytes(of: records[middle], in: buffer), UnsafeRawBufferPointer(key))
                    if order == 0 { return middle }
                    if order < 0 { low = middle + 1 } else { high = middle }
                }
                return nil
            }
        }
    }

    /// Puts the records in path byte order; with `keepingLast`, of records
    /// with one path only the last appended stays (a file hashed twice).
    mutating func sortByPath(keepingLast: Bool = false) {
        paths.withUnsafeBytes { buffer in
            // Strictly ascending already (an index as kiln writes it): done.
            if records.indices.dropFirst().allSatisfy({ Self.compare(Self.bytes(of: records[$0 - 1], in: buffer), Self.bytes(of: records[$0], in: buffer)) < 0 }) {
                return
            }
            // Stable: the index in `records` breaks ties, so "last" is kept.
            let order = records.indices.sorted { left, right in
                let compared = Self.compare(Self.bytes(of: records[left], in: buffer), Self.bytes(of: records[right], in: buffer))
                return compared != 0 ? compared < 0 : left < right
            }
            var sorted: [Record] = []
            sorted.reserveCapacity(order.count)
            for index in order {
                if keepingLast, let last = sorted.last,
                   Self.compare(Self.bytes(of: last, in: buffer), Self.bytes(of: records[index], in: buffer)) == 0 {
                    sorted[sorted.count - 1] = records[index]
                } else {
                    sorted.append(records[index])
                }
            }
            records = sorted
        }
    }

    /// Compares the path of record `index` with that of `other`'s record `otherIndex`.
    func comparePath(_ index: Int, with other: StampRecords, _ otherIndex: Int) -> Int {
        paths.withUnsafeBytes { mine in
            other.paths.withUnsafeBytes { theirs in
                Self.compare(Self.bytes(of: records[index], in: mine), Self.bytes(of: other.records[otherIndex], in: theirs))
            }
        }
    }

    /// Appends record `index` as a line of the index file.
    func appendLine(_ index: Int, to text: inout [UInt8]) {
        let record = records[index]
        let s = record.stamp
        text.append(contentsOf: "\(record.digest.hex) \(s.size) \(s.modified) \(s.modifiedNanoseconds) \(s.changed) \(s.changedNanoseconds) \(s.inode) \(s.device) ".utf8)
        text.append(contentsOf: paths[record.pathStart..<record.pathStart + record.pathCount])
        text.append(0x0A)
    }

    private static func bytes(of record: Record, in buffer: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[record.pathStart..<record.pathStart + record.pathCount])
    }

    /// Byte order, as `memcmp` then length.
    private static func compare(_ left: UnsafeRawBufferPointer, _ right: UnsafeRawBufferPointer) -> Int {
        let common = min(left.count, right.count)
        if common > 0 {
            let order = memcmp(left.baseAddress!, right.baseAddress!, common)
            if order != 0 { return Int(order) }
        }
        return left.count - right.count
    }
}
