/// How layer tars are compressed into blobs.
public enum Compression: String, Hashable, Sendable, CaseIterable {
    /// zlib deflate in a gzip member, level 6 (`tar+gzip`).
    case gzip
    /// zstandard (`tar+zstd`).
    case zstd
    /// Uncompressed tar; the blob digest equals the diff_id.
    case none
}
