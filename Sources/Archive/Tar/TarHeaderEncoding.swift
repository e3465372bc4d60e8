import KilnCore

/// The ustar header layout and the encoders the writer needs: octal fields
/// written digit by digit, the prefix/name split, PAX records.
///
/// Offsets and widths are POSIX.1-2001 `ustar`.
enum TarHeaderEncoding {
    static let blockSize = 512

    static let nameField = (offset: 0, width: 100)
    static let modeField = (offset: 100, width: 8)
    static let uidField = (offset: 108, width: 8)
    static let gidField = (offset: 116, width: 8)
    static let sizeField = (offset: 124, width: 12)
    static let mtimeField = (offset: 136, width: 12)
    static let checksumField = (offset: 148, width: 8)
    static let typeflagOffset = 156
    static let linknameField = (offset: 157, width: 100)
    static let magicOffset = 257
    static let prefixField = (offset: 345, width: 155)

    /// The largest value a 7-digit octal field (mode, uid, gid) holds.
    static let maxSmallNumber: UInt64 = 0o7777777
    /// The largest value an 11-digit octal field (size, mtime) holds: 8 GiB − 1.
    static let maxLargeNumber: UInt64 = 0o77777777777

    enum Typeflag: UInt8 {
        case regular = 0x30 // '0'
        case hardlink = 0x31 // '1'
        case symlink = 0x32 // '2'
        case directory = 0x35 // '5'
        case paxExtended = 0x78 // 'x'
    }

    /// Everything one ustar header records; byte fields must already fit.
    struct Fields {
        var name: ArraySlice<UInt8>
        var prefix: ArraySlice<UInt8> = []
        var mode: UInt32
        var uid: UInt64
        var gid: UInt64
        var size: UInt64
        var mtime: UInt64
        var typeflag: Typeflag
        var linkname: ArraySlice<UInt8> = []
    }

    /// Writes a complete header, checksum included, into `block` (512 bytes).
    /// Unused bytes are NUL: uname and gname stay empty so readers use the
    /// numeric ids, and devmajor/devminor (meaningless without device
    /// entries) stay empty as Python's tarfile leaves them.
    static func encode(_ fields: Fields, into block: UnsafeMutableRawBufferPointer) {
        precondition(block.count == blockSize)
        block.initializeMemory(as: UInt8.self, repeating: 0)
        putBytes(fields.name, into: block, field: nameField)
        putOctal(UInt64(fields.mode), into: block, field: modeField)
        putOctal(fields.uid, into: block, field: uidField)
        putOctal(fields.gid, into: block, field: gidField)
        putOctal(fields.size, into: block, field: sizeField)
        putOctal(fields.mtime, into: block, field: mtimeField)
        block[typeflagOffset] = fields.typeflag.rawValue
        putBytes(fields.linkname, into: block, field: linknameField)
        // "ustar\0" then version "00": the POSIX magic.
        for (index, byte) in [0x75, 0x73, 0x74, 0x61, 0x72, 0x00, 0x30, 0x30].enumerated() {
            block[magicOffset + index] = UInt8(byte)
        }
        putBytes(fields.prefix, into: block, field: prefixField)

        // The checksum is taken with its own field read as eight spaces, and
        // stored as six octal digits, NUL, space (the historical layout
        // every reader accepts).
        var sum: UInt64 = 0
        for byte in block { sum += UInt64(byte) }
        sum += 8 * 0x20
        putOctal(sum, into: block, field: (checksumField.offset, 7))
        block[checksumField.offset + 7] = 0x20
    }

    /// `width - 1` zero-padded octal digits and a NUL terminator.
    static func putOctal(_ value: UInt64, into block: UnsafeMutableRawBufferPointer, field: (offset: Int, width: Int)) {
        var remaining = value
        var index = field.offset + field.width - 2
        while index >= field.offset {
            block[index] = 0x30 + UInt8(truncatingIfNeeded: remaining & 7)
            remaining >>= 3
            index -= 1
        }
        precondition(remaining == 0, "tar: \(value) does not fit a \(field.width)-byte octal field")
        block[field.offset + field.width - 1] = 0
    }

    /// Copies `bytes` (at most the field's width; a full field has no NUL).
    static func putBytes(_ bytes: ArraySlice<UInt8>, into block: UnsafeMutableRawBufferPointer, field: (offset: Int, width: Int)) {
        precondition(bytes.count <= field.width)
        var index = field.offset
        for byte in bytes {
            block[index] = byte
            index += 1
        }
    }

    /// Splits a path that is too long for `name` into `prefix` / `name` at a
    /// slash, as ustar allows.
    ///
    /// Like GNU tar, the leftmost slash that leaves at most 100 bytes for
    /// the name is chosen, so the prefix is as short as possible.
    /// - Returns: nil when no slash gives a prefix ≤ 155 bytes and a
    ///   non-empty name ≤ 100 bytes (the path then needs a PAX `path`).
    static func split(_ path: [UInt8]) -> (prefix: ArraySlice<UInt8>, name: ArraySlice<UInt8>)? {
        if path.count <= nameField.width { return ([], path[...]) }
        let earliest = path.count - nameField.width - 1
        var slash = earliest
        while slash < path.count - 1 {
            if path[slash] == 0x2F {
                guard slash <= prefixField.width else { return nil }
                return (path[..<slash], path[(slash + 1)...])
            }
            slash += 1
        }
        return nil
    }

    /// One PAX record, `"<length> <key>=<value>\n"`, where the length counts
    /// the whole record including its own digits.
    static func paxRecord(key: String, value: [UInt8]) -> [UInt8] {
        let base = key.utf8.count + value.count + 3 // space, '=', newline
        var length = base + decimalDigitCount(base)
        if decimalDigitCount(length) != decimalDigitCount(base) { length = base + decimalDigitCount(length) }
        var record: [UInt8] = []
        record.reserveCapacity(length)
        appendDecimal(UInt64(length), to: &record)
        record.append(0x20)
        record.append(contentsOf: key.utf8)
        record.append(0x3D)
        record.append(contentsOf: value)
        record.append(0x0A)
        assert(record.count == length)
        return record
    }

    /// The decimal digits of `value`, for PAX numbers.
    static func decimal(_ value: UInt64) -> [UInt8] {
        var digits: [UInt8] = []
        appendDecimal(value, to: &digits)
        return digits
    }

    private static func appendDecimal(_ value: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        var remaining = value
        repeat {
            bytes.append(0x30 + UInt8(remaining % 10))
            remaining /= 10
        } while remaining > 0
        bytes[start...].reverse()
    }

    private static func decimalDigitCount(_ value: Int) -> Int {
        var count = 1
        var remaining = value / 10
        while remaining > 0 {
            count += 1
            remaining /= 10
        }
        return count
    }
}
