/// Lowercase hexadecimal, digit by digit from a table: the hot paths
/// (digests of every input file, JSON escapes) avoid Foundation formatting.
public enum Hex {
    /// The ASCII lowercase hex digit of a value below 16.
    @inlinable
    public static func digit(_ value: UInt8) -> UInt8 {
        value < 10 ? 0x30 + value : 0x61 - 10 + value
    }

    /// Two lowercase hex digits per byte.
    @inlinable
    public static func string<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digit(byte >> 4))
            out.append(digit(byte & 0x0f))
        }
        return String(decoding: out, as: UTF8.self)
    }
}
