public import Archive
public import KilnCore
public import Strategies

/// What the cache records about a layer blob: everything `kiln build`
/// reports and writes for the layer, so a hit needs nothing but the blob.
///
/// Stored as canonical JSON at `layers/entries/<key hex>.json`; the entry
/// file's mtime is the layer's last use.
public struct LayerCacheEntry: Codable, Hashable, Sendable {
    /// The version of this record's shape, part of every cache key
    /// (``LayerCacheKey``): entries of another shape are filed under keys
    /// that never come up, so they are never read (and are pruned as any
    /// unused entry). 2 added ``provenance``; 3 added ``elfFiles``.
    public static let version = 3

    /// The cache key the entry is filed under (checked on read).
    public var key: ContentDigest
    /// ``LayerFormat/version`` when the blob was written.
    public var format: Int
    /// `gzip`, `zstd` or `none`.
    public var compression: String
    /// The layer's name when it was built (a renamed layer with the same
    /// key reuses the entry).
    public var layer: String
    /// The layer's strategy: `files`, `packages`, `build`, `derivation`.
    public var strategy: String
    /// The blob's digest (the manifest's layer digest).
    public var digest: ContentDigest
    /// The tar stream's digest (the config's diff_id).
    public var diffID: ContentDigest
    /// Bytes of the blob.
    public var size: Int64
    /// Bytes of the tar stream.
    public var uncompressedSize: Int64
    /// Tar entries.
    public var entries: Int
    /// The layer's notes when it was built, shown again on reuse.
    public var notes: [String]
    /// Where each path of the layer came from, reported again on reuse.
    public var provenance: Provenance
    /// The layer's ELF executables and shared objects, so a hit (local or
    /// from the shared cache) is checked against the platform as a fresh
    /// build is.
    public var elfFiles: ELFFiles

    enum CodingKeys: String, CodingKey {
        case key, format, compression, layer, strategy, digest, size, entries, notes, provenance
        case elfFiles = "elf"
        case diffID = "diff_id"
        case uncompressedSize = "uncompressed_size"
    }

    /// An entry with every field given.
    public init(key: ContentDigest, format: Int, compression: String, layer: String, strategy: String, digest: ContentDigest, diffID: ContentDigest,
                size: Int64, uncompressedSize: Int64, entries: Int, notes: [String], provenance: Provenance, elfFiles: ELFFiles = ELFFiles()) {
        self.key = key
        self.format = format
        self.compression = compression
        self.layer = layer
        self.strategy = strategy
        self.digest = digest
        self.diffID = diffID
        self.size = size
        self.uncompressedSize = uncompressedSize
        self.entries = entries
        self.notes = notes
        self.provenance = provenance
        self.elfFiles = elfFiles
    }
}
