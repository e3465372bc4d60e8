import KilnCore

/// A tar archive ``TarReader`` cannot read, with the byte offset (in the
/// uncompressed stream) where the problem is.
public enum TarReadError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The stream ends inside a header, an extended header or a member's content.
    case truncated(offset: Int64, inside: String)
    /// The stream ends at a header boundary without the two zero blocks that
    /// close an archive.
    case missingEndMarker(offset: Int64)
    /// A header whose checksum does not match its bytes.
    case badChecksum(offset: Int64, stored: String, computed: Int64)
    /// A numeric header field that is neither octal nor base-256.
    case badNumber(offset: Int64, field: String, text: String)
    /// A value that kiln cannot represent (a negative size, a uid above 2³²−1).
    case outOfRange(offset: Int64, field: String, value: String)
    /// A PAX extended header that does not follow `"<length> <key>=<value>\n"`.
    case badPaxRecord(offset: Int64, detail: String)
    /// An extended header (PAX, GNU long name) larger than kiln accepts.
    case extendedHeaderTooLarge(offset: Int64, size: Int64, limit: Int64)
    /// A member content larger than the caller's limit.
    case contentTooLarge(path: String, size: Int64, limit: Int64)
    /// A typeflag kiln does not handle (GNU multi-volume, sparse, …).
    case unsupportedType(offset: Int64, path: String, typeflag: UInt8)
    /// A sparse file stored with PAX `GNU.sparse.*` records.
    case sparseFile(offset: Int64, path: String)
    /// A name that is not UTF-8.
    case invalidUTF8(offset: Int64, field: String)
    /// Extended headers with no member after them.
    case orphanExtendedHeader(offset: Int64)
    /// A zero block followed by something other than a second zero block.
    case dataAfterZeroBlock(offset: Int64)
    /// A path with a `..` component.
    case unsafePath(offset: Int64, path: String)

    public var description: String {
        switch self {
        case .truncated(let offset, let inside):
            "tar archive is truncated: it ends at byte \(offset), inside \(inside)"
        case .missingEndMarker(let offset):
            "tar archive ends at byte \(offset) without its end-of-archive blocks (truncated?)"
        case .badChecksum(let offset, let stored, let computed):
            "tar header at byte \(offset) is corrupt: checksum field \"\(stored)\" does not match the computed \(String(computed, radix: 8))"
        case .badNumber(let offset, let field, let text):
            "tar header at byte \(offset) is corrupt: \(field) field \"\(text)\" is not a number"
        case .outOfRange(let offset, let field, let value):
            "tar header at byte \(offset): \(field) \(value) is out of range"
        case .badPaxRecord(let offset, let detail):
            "PAX extended header at byte \(offset) is malformed: \(detail)"
        case .extendedHeaderTooLarge(let offset, let size, let limit):
            "extended header at byte \(offset) holds \(size) bytes, more than the \(limit) kiln accepts"
        case .contentTooLarge(let path, let size, let limit):
            "tar member \(path) holds \(size) bytes, more than the \(limit) expected"
        case .unsupportedType(let offset, let path, let typeflag):
            "tar member \(path) at byte \(offset) has type '\(TarReadError.printable(typeflag))', which kiln does not support"
        case .sparseFile(let offset, let path):
            "tar member \(path) at byte \(offset) is a sparse file, which kiln does not support"
        case .invalidUTF8(let offset, let field):
            "tar header at byte \(offset): \(field) is not valid UTF-8"
        case .orphanExtendedHeader(let offset):
            "tar archive has an extended header at byte \(offset) with no member after it"
        case .dataAfterZeroBlock(let offset):
            "tar archive has a zero block at byte \(offset) followed by more headers"
        case .unsafePath(let offset, let path):
            "tar member at byte \(offset) has path \"\(path)\", which leads outside the archive root"
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x21...0x7e).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
