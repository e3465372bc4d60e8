import Crypto
public import Layers

/// SHA-256 of bytes in memory, as a ``Digest``.
public enum BlobDigest {
    /// The digest of exactly `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> Layers.Digest {
        Layers.Digest(sha256Bytes: SHA256.hash(data: bytes))
    }
}
