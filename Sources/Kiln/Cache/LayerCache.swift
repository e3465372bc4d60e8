import Crypto
import Foundation
import Archive
public import KilnCore
import OCI
import Strategies
import Glibc

/// The layer cache on disk: `$XDG_CACHE_HOME/kiln` (or `--cache-dir`).
///
/// ```
/// lock                       flock: builds share it, prune takes it alone
/// inputs.index               the stat index of host inputs (InputStatIndex)
/// layers/entries/<key>.json  one LayerCacheEntry per cache key; mtime = last use
/// layers/blobs/sha256/<hex>  layer blobs by digest
/// layers/tmp/                files being written, renamed into place
/// debian/sha256/<hex>        downloaded .debs (the packages strategy's)
/// ```
///
/// Every file appears by `rename`, whole, so two kiln processes may build
/// with one cache at once: both may write the same blob or entry, and
/// either complete version wins. Blobs are stored before the entry naming
/// them. Readers check what they read (an entry must parse and name its
/// key; a blob must have the entry's size, and its digest is verified as
/// it is linked into a layout), so a torn or tampered file is dropped,
/// never used.
public final class LayerCache: Sendable {
    /// The cache's root directory.
    public let directory: String
    private let lockDescriptor: Int32

    /// How a process holds the cache: builds share it; `kiln cache prune`
    /// deletes, so it waits until no build holds it.
    public enum Access: Sendable {
        /// Reading and storing layers: any number of processes at once.
        case shared
        /// Removing entries and blobs: no other holder at the same time.
        case exclusive
    }

    /// Opens the cache at `directory`, creating it, and takes its lock
    /// (waiting for an exclusive holder, or for every holder when asking
    /// for `exclusive`). The lock is held until the object is released.
    /// - Throws: ``CacheError/io(operation:path:errno:)``.
    public init(directory: String, access: Access) throws {
        let directory = Self.absolute(directory)
        for path in [directory, directory + "/layers", directory + "/layers/entries", directory + "/layers/blobs",
                     directory + "/layers/blobs/sha256", directory + "/layers/tmp"] {
            try Self.makeDirectories(path)
        }
        let lockPath = directory + "/lock"
        var descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if descriptor < 0 && (errno == EACCES || errno == EROFS) && access == .shared {
            // A read-only cache (a shared CI cache, say) still serves layers.
            descriptor = open(lockPath, O_RDONLY | O_CLOEXEC)
        }
        guard descriptor >= 0 else { throw CacheError.io(operation: "open", path: lockPath, errno: errno) }
        while flock(descriptor, access == .shared ? LOCK_SH : LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(descriptor)
            throw CacheError.io(operation: "lock", path: lockPath, errno: code)
        }
        self.directory = directory
        lockDescriptor = descriptor
    }

    deinit {
        close(lockDescriptor)
    }

    /// The stat index of host inputs.
    public var statIndexPath: String { directory + "/inputs.index" }
    var entriesDirectory: String { directory + "/layers/entries" }
    var blobsDirectory: String { directory + "/layers/blobs/sha256" }
    var temporaryDirectory: String { directory + "/layers/tmp" }

    func entryPath(_ key: ContentDigest) -> String { entriesDirectory + "/" + key.hex + ".json" }

    /// Whether a name in the entries directory is an entry (not a
    /// temporary file being written).
    static func isEntryFileName(_ name: String) -> Bool { name.hasSuffix(".json") && !name.hasPrefix(".") }

    /// Whether the cache holds no entry at all (a new cache directory), so
    /// that no key can hit.
    var holdsNoEntries: Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: entriesDirectory)) ?? []
        return !names.contains(where: LayerCache.isEntryFileName)
    }

    /// Where the blob with `digest` is kept.
    public func blobPath(_ digest: ContentDigest) -> String { blobsDirectory + "/" + digest.hex }

    /// What a lookup found.
    public enum Lookup: Sendable {
        /// No entry for the key.
        case miss
        /// An entry whose blob is present with the recorded size (its
        /// digest is checked when it is linked into a layout).
        case hit(LayerCacheEntry)
        /// An entry that cannot be used, and why; drop it.
        case corrupt(String)
    }

    /// Reads the entry for `key` and checks what can be checked without
    /// reading the blob: it parses, names `key`, the current layer format
    /// and `compression`, and its blob exists with the recorded size.
    public func lookup(_ key: ContentDigest, compression: String) -> Lookup {
        let path = entryPath(key)
        guard let data = FileManager.default.contents(atPath: path) else {
            return Self.exists(path) ? .corrupt("entry \(path) is unreadable") : .miss
        }
        guard let stored = try? JSONDecoder().decode(StoredEntry.self, from: data) else {
            return .corrupt("entry \(path) is not a valid cache entry")
        }
        guard let entry = stored.verified else {
            return .corrupt("entry \(path) does not match its checksum")
        }
        guard entry.key == key, entry.format == LayerFormat.version, entry.compression == compression else {
            return .corrupt("entry \(path) describes another layer")
        }
        var info = stat()
        let blob = blobPath(entry.digest)
        guard stat(blob, &info) == 0 else { return .corrupt("blob \(entry.digest) is missing") }
        guard Int64(info.st_size) == entry.size else {
            return .corrupt("blob \(entry.digest) is \(info.st_size) bytes, expected \(entry.size)")
        }
        return .hit(entry)
    }

    /// Records a use of the entry for `key` (its mtime, which LRU pruning
    /// reads). Best effort: a failure only makes the entry look older.
    public func markUsed(_ key: ContentDigest) {
        _ = utimensat(AT_FDCWD, entryPath(key), nil, 0)
    }

    /// Removes the entry for `key`, and its blob when `blob` is given (a
    /// blob found corrupt).
    public func drop(_ key: ContentDigest, blob: ContentDigest?) {
        unlink(entryPath(key))
        if let blob { unlink(blobPath(blob)) }
    }

    /// Stores a layer: its blob (cloned from `blobFile` where the file
    /// system can, else copied — never hard-linked, so the output it was
    /// built into and the cache never share storage), then its entry.
    /// - Throws: ``CacheError/io(operation:path:errno:)``; nothing partial
    ///   is left under a final name.
    public func store(_ entry: LayerCacheEntry, blobFile: String) throws {
        // Always replaced, even when a blob of that digest is there: the one
        // just written is known good, the old one might not be.
        let temporary = temporaryDirectory + "/blob-\(getpid())-" + AtomicFile.randomSuffix()
        do { _ = try FileHashing.independentCopy(from: blobFile, to: temporary) } catch { throw CacheError(error) }
        do { try AtomicFile.rename(temporary, to: blobPath(entry.digest)) } catch { throw CacheError(error) }
        let bytes: [UInt8]
        do {
            bytes = try CanonicalJSONEncoder().encode(StoredEntry(entry))
        } catch {
            throw CacheError.io(operation: "encode the entry for", path: entryPath(entry.key), errno: EINVAL)
        }
        do { try AtomicFile.write(bytes, to: entryPath(entry.key)) } catch { throw CacheError(error) }
    }

    /// `mkdir -p` for one path whose parent may be missing.
    static func makeDirectories(_ path: String) throws {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw CacheError.io(operation: "create directory", path: path, errno: errno) }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CacheError.io(operation: "create directory", path: path, errno: EACCES)
        }
    }

    static func absolute(_ path: String) -> String {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed.hasPrefix("/") ? trimmed : FileManager.default.currentDirectoryPath + "/" + trimmed
    }

    /// An entry file: the entry and the SHA-256 of its canonical JSON, so
    /// an entry whose text was changed and still parses (a digit of its
    /// diff_id, say) is caught, not used.
    struct StoredEntry: Codable {
        var entry: LayerCacheEntry
        var checksum: ContentDigest

        init(_ entry: LayerCacheEntry) throws {
            self.entry = entry
            checksum = try Self.checksum(of: entry)
        }

        /// The entry, if its checksum holds.
        var verified: LayerCacheEntry? {
            (try? Self.checksum(of: entry)) == checksum ? entry : nil
        }

        private static func checksum(of entry: LayerCacheEntry) throws -> ContentDigest {
            ContentDigest(sha256Bytes: SHA256.hash(data: try CanonicalJSONEncoder().encode(entry)))
        }
    }

    /// The verified entry in the file at `path`, if any.
    static func readEntry(at path: String) -> LayerCacheEntry? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(StoredEntry.self, from: $0) }?.verified
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }
}
