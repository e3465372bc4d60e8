import Crypto
import Archive
public import KilnCore

/// SHA-256 of bytes in memory, as a ``ContentDigest``.
public enum BlobDigest {
    /// The digest of exactly `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> ContentDigest {
        ContentDigest(sha256Bytes: SHA256.hash(data: bytes))
    }
}
