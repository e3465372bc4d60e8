import KilnCore

/// The compressed formats kiln reads: layer blobs, Debian data archives.
public enum DecompressionFormat: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// RFC 1952 gzip, one or more members.
    case gzip
    /// Zstandard, one or more frames (skippable frames ignored).
    case zstd
    /// xz, one or more streams.
    case xz
    /// Stored as is.
    case none

    /// The format whose magic number starts `prefix`, or ``none`` when none
    /// matches. Six bytes are enough to tell them apart.
    public static func detect<Bytes: Collection>(leadingBytes prefix: Bytes) -> DecompressionFormat
    where Bytes.Element == UInt8 {
        let bytes = Array(prefix.prefix(6))
        if bytes.starts(with: [0x1f, 0x8b]) { return .gzip }
        if bytes.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { return .zstd }
        // Skippable zstd frames: 0x184D2A50 to 0x184D2A5F, little-endian.
        if bytes.count >= 4, bytes[0] & 0xf0 == 0x50, bytes[1] == 0x2a, bytes[2] == 0x4d, bytes[3] == 0x18 {
            return .zstd
        }
        if bytes.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return .xz }
        return .none
    }

    /// The name used in messages and plans: `gzip`, `zstd`, `xz`, `none`.
    public var description: String { rawValue }
}
