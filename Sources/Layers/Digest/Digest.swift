/// A content digest, `sha256:<64 lowercase hex>`.
///
/// Only SHA-256 is produced; parsing accepts only what kiln can verify, so
/// an invalid digest cannot exist.
public struct Digest: Hashable, Sendable, Comparable, CustomStringConvertible, Codable {
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
    public init<Bytes: Sequence>(sha256Bytes bytes: Bytes) where Bytes.Element == UInt8 {
        let table = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(table[Int(byte >> 4)])
            out.append(table[Int(byte & 0x0f)])
        }
        precondition(out.count == 64, "a SHA-256 hash is 32 bytes")
        self.hex = String(decoding: out, as: UTF8.self)
    }

    /// `sha256:<hex>`.
    public var description: String { "sha256:" + hex }

    /// `sha256/<hex>`, the path below `blobs/` in an OCI layout.
    public var blobPath: String { "sha256/" + hex }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.hex < rhs.hex }

    public init(from decoder: any Decoder) throws {
        let string = try decoder.singleValueContainer().decode(String.self)
        self = try Digest(parsing: string)
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
