import Foundation
import Archive
import KilnCore
import Plan
import Strategies
import Glibc

/// What `kiln cache info` reports.
public struct CacheSummary: Codable, Hashable, Sendable {
    /// The cache directory.
    public var directory: String
    /// Layer entries (cache keys).
    public var entries: Int
    /// Layer blobs (a blob shared by several keys counts once).
    public var blobs: Int
    /// Bytes of the layer blobs.
    public var blobBytes: Int64
    /// The least recent use of an entry (RFC 3339), if any.
    public var oldestUse: String?
    /// The most recent use of an entry (RFC 3339), if any.
    public var newestUse: String?
    /// Files in the stat index of host inputs.
    public var indexedInputs: Int
    /// Downloaded `.deb` files kept by the packages strategy.
    public var packageFiles: Int
    /// Bytes of the downloaded `.deb` files.
    public var packageBytes: Int64
    /// Blobs of registry bases (manifests, configs, layers as served).
    public var registryBlobs: Int
    /// Bytes of the registry bases' blobs.
    public var registryBytes: Int64

    enum CodingKeys: String, CodingKey {
        case directory, entries, blobs
        case blobBytes = "blob_bytes"
        case oldestUse = "oldest_use"
        case newestUse = "newest_use"
        case indexedInputs = "indexed_inputs"
        case packageFiles = "package_files"
        case packageBytes = "package_bytes"
        case registryBlobs = "registry_blobs"
        case registryBytes = "registry_bytes"
    }
}

/// What `kiln cache prune` removed and kept.
public struct PruneResult: Codable, Hashable, Sendable {
    /// Entries removed (least recently used, unreadable, or blob missing).
    public var removedEntries: Int
    /// Blobs removed because no remaining entry names them.
    public var removedBlobs: Int
    /// Bytes of the removed blobs.
    public var removedBytes: Int64
    /// Entries left.
    public var keptEntries: Int
    /// Bytes of the blobs the remaining entries name.
    public var keptBytes: Int64

    /// A result with every count given.
    public init(removedEntries: Int, removedBlobs: Int, removedBytes: Int64, keptEntries: Int, keptBytes: Int64) {
        self.removedEntries = removedEntries
        self.removedBlobs = removedBlobs
        self.removedBytes = removedBytes
        self.keptEntries = keptEntries
        self.keptBytes = keptBytes
    }

    enum CodingKeys: String, CodingKey {
        case removedEntries = "removed_entries"
        case removedBlobs = "removed_blobs"
        case removedBytes = "removed_bytes"
        case keptEntries = "kept_entries"
        case keptBytes = "kept_bytes"
    }
}

extension LayerCache {
    /// One entry file as maintenance sees it.
    private struct EntryFile {
        var path: String
        var lastUse: Int64
        /// The blob it names; nil for an entry that does not parse.
        var blob: ContentDigest?
    }

    /// Counts what the cache holds.
    public func summary() -> CacheSummary {
        let entries = entryFiles()
        let blobs = files(in: blobsDirectory)
        let packages = files(in: directory + "/debian/sha256")
        let registry = files(in: directory + "/registry/blobs/sha256")
        let uses = entries.map(\.lastUse)
        return CacheSummary(
            directory: directory, entries: entries.count, blobs: blobs.count, blobBytes: blobs.values.reduce(0, +),
            oldestUse: uses.min().map { Timestamp(secondsSinceEpoch: $0).rfc3339 }, newestUse: uses.max().map { Timestamp(secondsSinceEpoch: $0).rfc3339 },
            indexedInputs: indexedInputs(), packageFiles: packages.count, packageBytes: packages.values.reduce(0, +),
            registryBlobs: registry.count, registryBytes: registry.values.reduce(0, +))
    }

    /// Removes layer entries, least recently used first, until the blobs
    /// the remaining entries name take at most `maxSize` bytes; then every
    /// blob no entry names. Without `maxSize` the whole cache is emptied
    /// (layers, the stat index, downloaded packages and registry bases'
    /// blobs). Unreadable entries and leftovers of interrupted writes always
    /// go.
    ///
    /// Open the cache with ``Access/exclusive`` first, so no build is using
    /// what is removed.
    public func prune(maxSize: Int64?) -> PruneResult {
        for (name, _) in files(in: temporaryDirectory) { unlink(temporaryDirectory + "/" + name) }
        for (name, _) in files(in: directory + "/registry/tmp") { unlink(directory + "/registry/tmp/" + name) }
        for (name, _) in files(in: entriesDirectory) where name.hasPrefix(".tmp-") { unlink(entriesDirectory + "/" + name) }
        var entries = entryFiles().sorted { ($0.lastUse, $0.path) < ($1.lastUse, $1.path) }
        let blobs = files(in: blobsDirectory)
        var removedEntries = 0
        for entry in entries where entry.blob == nil || blobs[entry.blob!.hex] == nil {
            unlink(entry.path)
            removedEntries += 1
        }
        entries.removeAll { $0.blob == nil || blobs[$0.blob!.hex] == nil }

        var references: [String: Int] = [:]
        for entry in entries { references[entry.blob!.hex, default: 0] += 1 }
        var kept = references.keys.reduce(Int64(0)) { $0 + blobs[$1]! }
        let limit = maxSize ?? -1
        for entry in entries where kept > limit {
            unlink(entry.path)
            removedEntries += 1
            let hex = entry.blob!.hex
            references[hex]! -= 1
            if references[hex] == 0 {
                references[hex] = nil
                kept -= blobs[hex]!
            }
        }
        var result = PruneResult(removedEntries: removedEntries, removedBlobs: 0, removedBytes: 0, keptEntries: 0, keptBytes: kept)
        for (hex, size) in blobs where references[hex] == nil {
            unlink(blobsDirectory + "/" + hex)
            result.removedBlobs += 1
            result.removedBytes += size
        }
        result.keptEntries = entryFiles().count
        if maxSize == nil {
            unlink(statIndexPath)
            TreeRemoval.remove(directory + "/debian")
            TreeRemoval.remove(directory + "/registry")
        }
        return result
    }

    private func entryFiles() -> [EntryFile] {
        files(in: entriesDirectory).keys.filter(LayerCache.isEntryFileName).map { name in
            let path = entriesDirectory + "/" + name
            var info = stat()
            let lastUse = stat(path, &info) == 0 ? Int64(info.st_mtim.tv_sec) : 0
            let entry = LayerCache.readEntry(at: path)
            let named = entry.flatMap { $0.key.hex + ".json" == name ? $0.digest : nil }
            return EntryFile(path: path, lastUse: lastUse, blob: named)
        }
    }

    /// Regular files directly in `directory`, by name, with their sizes.
    private func files(in directory: String) -> [String: Int64] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
        var result: [String: Int64] = [:]
        for name in names {
            var info = stat()
            if lstat(directory + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG { result[name] = Int64(info.st_size) }
        }
        return result
    }

    private func indexedInputs() -> Int {
        guard let data = FileManager.default.contents(atPath: statIndexPath) else { return 0 }
        return max(0, data.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } - 1)
    }
}

/// Sizes as `--max-size` takes them.
public enum ByteSize {
    /// Parses `1048576`, `512K`, `500M`, `2G`, `1.5GiB`, `1T` (binary
    /// multiples; `B`, `iB` and case are optional).
    /// - Throws: ``CacheError/invalidSize(_:)``.
    public static func parse(_ text: String) throws -> Int64 {
        var number = Substring(text.trimmingCharacters(in: .whitespaces))
        var unit = ""
        while let last = number.last, last.isLetter {
            unit = String(last) + unit
            number.removeLast()
        }
        number = Substring(number.trimmingCharacters(in: .whitespaces))
        let exponents = ["": 0, "b": 0, "k": 1, "kb": 1, "kib": 1, "m": 2, "mb": 2, "mib": 2, "g": 3, "gb": 3, "gib": 3, "t": 4, "tb": 4, "tib": 4]
        guard let exponent = exponents[unit.lowercased()], !number.isEmpty, number.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let value = Double(number), value >= 0 else {
            throw CacheError.invalidSize(text)
        }
        let bytes = value * Double(Int64(1) << (10 * exponent))
        guard bytes < 9.2e18 else { throw CacheError.invalidSize(text) }
        return Int64(bytes.rounded(.down))
    }
}
