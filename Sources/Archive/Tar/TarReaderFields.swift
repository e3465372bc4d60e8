import KilnCore

/// Decoding of the fields inside a 512-byte tar header and of PAX records.
enum TarFields {
    static let blockSize = 512

    // Offsets and lengths of the ustar header fields.
    static let name = 0..<100
    static let mode = 100..<108
    static let uid = 108..<116
    static let gid = 116..<124
    static let size = 124..<136
    static let mtime = 136..<148
    static let checksum = 148..<156
    static let typeflag = 156
    static let linkname = 157..<257
    static let magic = 257..<263
    static let version = 263..<265
    static let uname = 265..<297
    static let gname = 297..<329
    static let devmajor = 329..<337
    static let devminor = 337..<345
    static let prefix = 345..<500

    /// A numeric field: octal ASCII (leading spaces or NULs, ended by a space
    /// or NUL), or GNU base-256 when the first byte's high bit is set.
    /// - Returns: nil when the field is neither.
    static func number(_ field: ArraySlice<UInt8>) -> Int64? {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 { return base256(field) }
        var value: Int64 = 0
        var index = field.startIndex
        while index < field.endIndex, field[index] == 0x20 || field[index] == 0 { index += 1 }
        while index < field.endIndex {
            let byte = field[index]
            if byte == 0x20 || byte == 0 { break }
            guard (0x30...0x37).contains(byte), value <= (Int64.max >> 3) else { return nil }
            value = value << 3 | Int64(byte - 0x30)
            index += 1
        }
        // Only terminators may follow the digits.
        while index < field.endIndex {
            guard field[index] == 0x20 || field[index] == 0 else { return nil }
            index += 1
        }
        return value
    }

    /// Big-endian two's complement with the marker bit cleared; 0xff-led
    /// fields are negative.
    private static func base256(_ field: ArraySlice<UInt8>) -> Int64? {
        let negative = field.first! & 0x40 != 0
        let invert: UInt8 = negative ? 0xff : 0
        var magnitude: UInt64 = 0
        for (position, raw) in field.enumerated() {
            var byte = raw ^ invert
            if position == 0 { byte &= 0x7f }
            guard magnitude >> 55 == 0 else { return nil }
            magnitude = magnitude << 8 | UInt64(byte)
        }
        guard magnitude >> 63 == 0 else { return nil }
        return negative ? ~Int64(magnitude) : Int64(magnitude)
    }

    /// The bytes of a NUL-terminated text field.
    static func text(_ field: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let end = field.firstIndex(of: 0) else { return field }
        return field[..<end]
    }

    /// The field as printable text, for messages.
    static func display(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: text(field), as: UTF8.self)
    }

    /// Header checksum: the byte sum with the checksum field read as spaces.
    /// Returns the unsigned sum and the signed one some old writers used.
    static func checksums(_ header: [UInt8]) -> (unsigned: Int64, signed: Int64) {
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (index, byte) in header.enumerated() {
            let value = checksum.contains(index) ? 0x20 : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        return (unsigned, signed)
    }

    /// Parses `"<length> <key>=<value>\n"` records.
    /// - Parameter offset: where the extended header starts, for messages.
    static func paxRecords(_ data: [UInt8], offset: Int64) throws(TarReadError) -> [(key: String, value: String)] {
        var records: [(key: String, value: String)] = []
        var index = 0
        while index < data.count {
            // Some writers pad the block with NULs after the last record.
            if data[index] == 0 { break }
            var length = 0
            var cursor = index
            while cursor < data.count, (0x30...0x39).contains(data[cursor]) {
                length = length * 10 + Int(data[cursor] - 0x30)
                guard length <= data.count else { throw .badPaxRecord(offset: offset, detail: "record length exceeds the header") }
                cursor += 1
            }
            guard cursor > index, cursor < data.count, data[cursor] == 0x20 else {
                throw .badPaxRecord(offset: offset, detail: "record at byte \(index) does not start with a decimal length and a space")
            }
            let end = index + length
            guard end <= data.count, end > cursor + 1, data[end - 1] == 0x0a else {
                throw .badPaxRecord(offset: offset, detail: "record at byte \(index) does not end with a newline where its length says")
            }
            let body = data[(cursor + 1)..<(end - 1)]
            guard let equals = body.firstIndex(of: 0x3d), equals > body.startIndex else {
                throw .badPaxRecord(offset: offset, detail: "record at byte \(index) has no key=value")
            }
            guard let key = String(validating: body[..<equals], as: UTF8.self) else {
                throw .badPaxRecord(offset: offset, detail: "record at byte \(index) has a key that is not UTF-8")
            }
            // Values are UTF-8 except under hdrcharset=BINARY or in xattrs;
            // kiln only interprets UTF-8 ones, the others are kept as decoded.
            let value = String(decoding: body[(equals + 1)...], as: UTF8.self)
            records.append((key, value))
            index = end
        }
        return records
    }

    /// A decimal PAX value (`size`, `uid`, `gid`).
    static func decimal(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int64(text)
    }

    /// A PAX time, `seconds[.fraction]`, possibly negative; the fraction is
    /// dropped toward the past.
    static func time(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let negative = parts[0].hasPrefix("-")
        let digits = negative ? parts[0].dropFirst() : parts[0]
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let whole = Int64(digits) else {
            return nil
        }
        var fractional = false
        if parts.count == 2 {
            guard parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            fractional = parts[1].utf8.contains { $0 != 0x30 }
        }
        return negative ? -whole - (fractional ? 1 : 0) : whole
    }
}
