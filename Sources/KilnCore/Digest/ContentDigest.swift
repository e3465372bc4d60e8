/// A content digest, `sha256:<64 lowercase hex>`.
///
/// Only SHA-256 is produced; parsing accepts only what kiln can verify, so
/// an invalid digest cannot exist.
public struct ContentDigest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The 64 lowercase hex characters.
    public let hex: String

    /// Parses `sha256:<hex>`.
    /// - Throws: ``DigestError`` when the algorithm is not sha256 or the hex
    ///   is not 64 lowercase hex characters.
    public init(parsing string: String) throws(DigestError) {
        guard string.hasPrefix("sha256:") else { throw DigestError(string) }
        let hex = string.dropFirst("sha256:".count)
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
            throw DigestError(string)
        }
        self.hex = String(hex)
    }

    /// Builds a digest from the 32 raw bytes of a SHA-256 hash.
    ///
    /// Inlinable so that callers in other modules get a version specialized
    /// for their byte sequence (a `SHA256Digest`): unspecialized, the generic
    /// iteration cost a fifth of hashing 100,000 small input files.
    @inlinable
    public init<Bytes: Sequence>(sha256Bytes bytes: Bytes) where Bytes.Element == UInt8 {
        var count = 0
        let hex = String(unsafeUninitializedCapacity: 64) { out in
            for byte in bytes {
                if count < 32 {
                    out[2 * count] = Hex.digit(byte >> 4)
                    out[2 * count + 1] = Hex.digit(byte & 0x0f)
                }
                count += 1
            }
            return 2 * min(count, 32)
        }
        precondition(count == 32, "a SHA-256 hash is 32 bytes")
        self.hex = hex
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + hex }

    /// `sha256/<hex>`, the path below `blobs/` in an OCI layout.
    public var blobPath: String { "sha256/" + hex }

    public static func < (lhs: ContentDigest, rhs: ContentDigest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let string = try decoder.singleValueContainer().decode(String.self)
        self = try ContentDigest(parsing: string)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A string that is not a valid `sha256:` digest.
public struct DigestError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text that was given as a digest.
    public var string: String
    /// The error for `string`.
    public init(_ string: String) { self.string = string }
    public var description: String { "invalid digest \"\(string)\" (expected sha256: and 64 lowercase hex digits)" }
}
