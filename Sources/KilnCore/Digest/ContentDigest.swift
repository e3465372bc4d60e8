/// A content digest, `sha256:<64 lowercase hex>`.
///
/// Only SHA-256 is produced; parsing accepts only what kiln can verify, so
/// an invalid digest cannot exist.
///
/// Held as the hash's 32 bytes, inline: a build of 100,000 input files
/// keeps a digest per file in its stat index and its directory records, and
/// a 64-character string would be one more heap allocation of 80 bytes for
/// each (issue 19's memory bound). The hex text is made when asked for.
public struct ContentDigest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
    /// The hash's bytes as four big-endian words: comparing the words in
    /// order compares the bytes, and so the hex text, in order.
    @usableFromInline
    let words: (UInt64, UInt64, UInt64, UInt64)

    @usableFromInline
    init(words: (UInt64, UInt64, UInt64, UInt64)) {
        self.words = words
    }

    /// Parses `sha256:<hex>`.
    /// - Throws: ``DigestError`` when the algorithm is not sha256 or the hex
    ///   is not 64 lowercase hex characters.
    public init(parsing string: String) throws(DigestError) {
        guard string.hasPrefix("sha256:") else { throw DigestError(string) }
        guard let digest = ContentDigest(hex: string.utf8.dropFirst("sha256:".utf8.count)) else { throw DigestError(string) }
        self = digest
    }

    /// The digest whose text is `hex` (64 lowercase hex digits, as UTF-8,
    /// without `sha256:`), or nil.
    @inlinable
    public init?<Text: Collection>(hex: Text) where Text.Element == UInt8 {
        guard hex.count == 64 else { return nil }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var index = 0
        for character in hex {
            let value: UInt64
            switch character {
            case 0x30...0x39: value = UInt64(character - 0x30)
            case 0x61...0x66: value = UInt64(character - 0x61 + 10)
            default: return nil
            }
            switch index / 16 {
            case 0: words.0 = words.0 << 4 | value
            case 1: words.1 = words.1 << 4 | value
            case 2: words.2 = words.2 << 4 | value
            default: words.3 = words.3 << 4 | value
            }
            index += 1
        }
        self.init(words: words)
    }

    /// Builds a digest from the 32 raw bytes of a SHA-256 hash.
    ///
    /// Inlinable so that callers in other modules get a version specialized
    /// for their byte sequence (a `SHA256Digest`): unspecialized, the generic
    /// iteration cost a fifth of hashing 100,000 small input files.
    @inlinable
    public init<Bytes: Sequence>(sha256Bytes bytes: Bytes) where Bytes.Element == UInt8 {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var count = 0
        for byte in bytes {
            switch count / 8 {
            case 0: words.0 = words.0 << 8 | UInt64(byte)
            case 1: words.1 = words.1 << 8 | UInt64(byte)
            case 2: words.2 = words.2 << 8 | UInt64(byte)
            case 3: words.3 = words.3 << 8 | UInt64(byte)
            default: break
            }
            count += 1
        }
        precondition(count == 32, "a SHA-256 hash is 32 bytes")
        self.init(words: words)
    }

    /// The 64 lowercase hex characters.
    public var hex: String {
        String(unsafeUninitializedCapacity: 64) { out in
            func put(_ word: UInt64, at start: Int) {
                for nibble in 0..<16 {
                    out[start + nibble] = Hex.digit(UInt8(truncatingIfNeeded: word >> UInt64(60 - 4 * nibble)) & 0x0f)
                }
            }
            put(words.0, at: 0)
            put(words.1, at: 16)
            put(words.2, at: 32)
            put(words.3, at: 48)
            return 64
        }
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + hex }

    /// `sha256/<hex>`, the path below `blobs/` in an OCI layout.
    public var blobPath: String { "sha256/" + hex }

    public static func == (lhs: ContentDigest, rhs: ContentDigest) -> Bool {
        lhs.words == rhs.words
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
        hasher.combine(words.1)
        hasher.combine(words.2)
        hasher.combine(words.3)
    }

    public static func < (lhs: ContentDigest, rhs: ContentDigest) -> Bool { lhs.words < rhs.words }

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
