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
    /// Files the packages strategy downloaded: `.deb`s and repository indexes.
    public var packageFiles: Int
    /// Their bytes.
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

/// What `kiln cache prune` removed and kept of one kind of cache content.
public struct PruneFigures: Codable, Hashable, Sendable {
    /// Files removed (layer blobs, `.deb`s and package indexes, registry blobs).
    public var removedFiles = 0
    /// Their bytes.
    public var removedBytes: Int64 = 0
    /// Files left.
    public var keptFiles = 0
    /// Their bytes.
    public var keptBytes: Int64 = 0

    public init() {}

    enum CodingKeys: String, CodingKey {
        case removedFiles = "removed_files"
        case removedBytes = "removed_bytes"
        case keptFiles = "kept_files"
        case keptBytes = "kept_bytes"
    }
}

/// What `kiln cache prune` removed and kept: every kind the cache holds
/// counts in the size limit and in the totals (SPEC §5, issue 20).
public struct PruneResult: Codable, Hashable, Sendable {
    /// Layer entries removed (least recently used, unreadable, or blob missing).
    public var removedEntries = 0
    /// Layer entries left.
    public var keptEntries = 0
    /// Layer blobs: removed once no remaining entry names them.
    public var layers = PruneFigures()
    /// Downloaded `.deb`s and package indexes (`debian/`).
    public var packages = PruneFigures()
    /// Registry bases' blobs (`registry/`).
    public var registry = PruneFigures()

    public init() {}

    /// Bytes removed, of every kind.
    public var removedBytes: Int64 { layers.removedBytes + packages.removedBytes + registry.removedBytes }
    /// Bytes left, of every kind: what `--max-size` bounds.
    public var keptBytes: Int64 { layers.keptBytes + packages.keptBytes + registry.keptBytes }

    enum CodingKeys: String, CodingKey {
        case removedEntries = "removed_entries"
        case keptEntries = "kept_entries"
        case removedBytes = "removed_bytes"
        case keptBytes = "kept_bytes"
        case layers, packages, registry
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(removedEntries, forKey: .removedEntries)
        try container.encode(keptEntries, forKey: .keptEntries)
        try container.encode(removedBytes, forKey: .removedBytes)
        try container.encode(keptBytes, forKey: .keptBytes)
        try container.encode(layers, forKey: .layers)
        try container.encode(packages, forKey: .packages)
        try container.encode(registry, forKey: .registry)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        removedEntries = try container.decode(Int.self, forKey: .removedEntries)
        keptEntries = try container.decode(Int.self, forKey: .keptEntries)
        layers = try container.decode(PruneFigures.self, forKey: .layers)
        packages = try container.decode(PruneFigures.self, forKey: .packages)
        registry = try container.decode(PruneFigures.self, forKey: .registry)
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
        let packages = CacheFiles.all(below: packagesDirectory).filter { !CacheFiles.isPartial($0.path) }
        let registry = files(in: directory + "/registry/blobs/sha256")
        let uses = entries.map(\.lastUse)
        return CacheSummary(
            directory: directory, entries: entries.count, blobs: blobs.count, blobBytes: blobs.values.reduce(0, +),
            oldestUse: uses.min().map { Timestamp(secondsSinceEpoch: $0).rfc3339 }, newestUse: uses.max().map { Timestamp(secondsSinceEpoch: $0).rfc3339 },
            indexedInputs: indexedInputs(), packageFiles: packages.count, packageBytes: packages.reduce(0) { $0 + $1.size },
            registryBlobs: registry.count, registryBytes: registry.values.reduce(0, +))
    }

    /// Removes what was used least recently first — layer entries,
    /// downloaded packages and indexes, registry blobs alike — until what
    /// is left takes at most `maxSize` bytes (a layer entry's bytes are
    /// its blob's, freed when no remaining entry names it); then every
    /// blob no entry names. Without `maxSize` the whole cache is emptied
    /// (the stat index too). Unreadable entries and leftovers of
    /// interrupted writes always go.
    ///
    /// Open the cache with ``Access/exclusive`` first: every build (and
    /// `kiln lock`, `kiln diff`) holds it shared while it runs, so nothing
    /// a running build uses is removed.
    public func prune(maxSize: Int64?) -> PruneResult {
        for (name, _) in files(in: temporaryDirectory) { unlink(temporaryDirectory + "/" + name) }
        for (name, _) in files(in: directory + "/registry/tmp") { unlink(directory + "/registry/tmp/" + name) }
        for (name, _) in files(in: entriesDirectory) where name.hasPrefix(".tmp-") { unlink(entriesDirectory + "/" + name) }
        for file in CacheFiles.all(below: packagesDirectory) where CacheFiles.isPartial(file.path) { unlink(file.path) }
        var entries = entryFiles()
        let blobs = files(in: blobsDirectory)
        var result = PruneResult()
        for entry in entries where entry.blob == nil || blobs[entry.blob!.hex] == nil {
            unlink(entry.path)
            result.removedEntries += 1
        }
        entries.removeAll { $0.blob == nil || blobs[$0.blob!.hex] == nil }

        var references: [String: Int] = [:]
        for entry in entries { references[entry.blob!.hex, default: 0] += 1 }
        result.layers.keptBytes = references.keys.reduce(Int64(0)) { $0 + blobs[$1]! }
        let packages = CacheFiles.all(below: packagesDirectory)
        let registry = CacheFiles.all(below: registryBlobsDirectory)
        result.packages.keptFiles = packages.count
        result.packages.keptBytes = packages.reduce(0) { $0 + $1.size }
        result.registry.keptFiles = registry.count
        result.registry.keptBytes = registry.reduce(0) { $0 + $1.size }

        // One least-recently-used order over every kind.
        enum Unit { case entry(EntryFile), package(CacheFiles.File), registry(CacheFiles.File) }
        let units: [(lastUse: Int64, path: String, unit: Unit)] = entries.map { ($0.lastUse, $0.path, .entry($0)) }
            + packages.map { ($0.lastUse, $0.path, .package($0)) } + registry.map { ($0.lastUse, $0.path, .registry($0)) }
        let limit = maxSize ?? -1
        for (_, path, unit) in units.sorted(by: { ($0.lastUse, $0.path) < ($1.lastUse, $1.path) }) where result.keptBytes > limit {
            unlink(path)
            switch unit {
            case .entry(let entry):
                result.removedEntries += 1
                let hex = entry.blob!.hex
                references[hex]! -= 1
                if references[hex] == 0 {
                    references[hex] = nil
                    result.layers.keptBytes -= blobs[hex]!
                }
            case .package(let file):
                result.packages.removedFiles += 1
                result.packages.removedBytes += file.size
                result.packages.keptFiles -= 1
                result.packages.keptBytes -= file.size
            case .registry(let file):
                result.registry.removedFiles += 1
                result.registry.removedBytes += file.size
                result.registry.keptFiles -= 1
                result.registry.keptBytes -= file.size
            }
        }
        for (hex, size) in blobs where references[hex] == nil {
            unlink(blobsDirectory + "/" + hex)
            result.layers.removedFiles += 1
            result.layers.removedBytes += size
        }
        // The program check's memos (ImageWarnings): a few bytes each, all
        // removed (the next build of an image checks it again), counted
        // with the layers they are about.
        for file in CacheFiles.all(below: directory + "/checks") {
            unlink(file.path)
            result.layers.removedFiles += 1
            result.layers.removedBytes += file.size
        }
        result.layers.keptFiles = references.count
        result.keptEntries = entryFiles().count
        if maxSize == nil {
            unlink(statIndexPath)
            TreeRemoval.remove(packagesDirectory)
            TreeRemoval.remove(directory + "/registry")
        }
        return result
    }

    /// Holds `directory` shared for as long as the result lives, as every
    /// build does, so `kiln cache prune` waits instead of removing what is
    /// in use (downloads go there with or without the layer cache); nil
    /// when the directory cannot be locked (a read-only cache).
    public static func holdShared(_ directory: String) -> LayerCache? {
        try? LayerCache(directory: directory, access: .shared)
    }

    /// Downloaded packages and indexes.
    var packagesDirectory: String { directory + "/debian" }
    /// Registry bases' blobs.
    var registryBlobsDirectory: String { directory + "/registry/blobs/sha256" }

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

/// The files of one kind of cache content, with their last use.
enum CacheFiles {
    struct File {
        var path: String
        var size: Int64
        /// Seconds since the epoch: the later of mtime (set when the file
        /// is written, and again when a build reuses it) and atime.
        var lastUse: Int64
    }

    /// Every regular file below `directory`, at any depth.
    static func all(below directory: String) -> [File] {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { return [] }
        var result: [File] = []
        while let relative = walker.nextObject() as? String {
            let path = directory + "/" + relative
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            result.append(File(path: path, size: Int64(info.st_size), lastUse: max(Int64(info.st_mtim.tv_sec), Int64(info.st_atim.tv_sec))))
        }
        return result
    }

    /// A download being written (``Fetcher`` names them `<hash>.partial-…`).
    static func isPartial(_ path: String) -> Bool { path.contains(".partial-") }
}
