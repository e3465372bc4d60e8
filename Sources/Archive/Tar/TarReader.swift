import KilnCore

/// A streaming tar reader: ustar, PAX (`x` and `g`), GNU long names (`L`,
/// `K`) and base-256 numbers, over any ``ByteSource``.
///
/// Only one fixed buffer is held; members are read in order. Call ``next()``
/// for each member's header, then read its content with
/// ``readContent(into:)`` (or ``readContent(limit:)`` for small files), or
/// simply call ``next()`` again to skip it.
///
/// Every header checksum is verified. The archive must close with its
/// end-of-archive zero blocks, so a stream cut at a member boundary is
/// reported rather than taken as complete; after them the rest of the source
/// is read through, so a decompressor underneath verifies its trailer.
///
/// ```swift
/// let reader = TarReader(source: try Decompressor(format: .gzip, source: FileByteSource(path: path)))
/// while let member = try reader.next() {
///     if member.kind == .regular { let bytes = try reader.readContent(limit: 1 << 20) }
/// }
/// ```
public final class TarReader {
    private let source: any ByteSource
    private var buffer: [UInt8]
    private var bufferStart = 0
    private var bufferEnd = 0
    private var sourceEnded = false
    /// Offset in the stream of `buffer[bufferStart]`.
    private var position: Int64 = 0
    private var header = [UInt8](repeating: 0, count: TarFields.blockSize)
    private var globalRecords: [String: String] = [:]
    private var finished = false
    /// The member whose content is being read, and how much is left of it.
    private var current: TarMember?
    private var remainingContent: Int64 = 0
    private var remainingPadding: Int64 = 0

    /// The largest PAX or GNU long-name header accepted; real ones are tiny.
    public static let extendedHeaderLimit: Int64 = 8 << 20

    /// Reads the archive `source` yields (already decompressed).
    public init(source: any ByteSource) {
        self.source = source
        self.buffer = [UInt8](repeating: 0, count: 64 * 1024)
    }

    /// Bytes of the tar stream consumed so far.
    public var offset: Int64 { position }

    /// Moves to the next member, skipping what is left of the current one.
    /// - Returns: the member, or nil after the end-of-archive blocks.
    /// - Throws: ``TarReadError`` for a corrupt or truncated archive; what the
    ///   source throws (I/O, ``DecompressionError``).
    public func next() throws -> TarMember? {
        if finished { return nil }
        try skipRest()
        current = nil
        var localRecords: [String: String] = [:]
        var longName: String?
        var longLink: String?
        var firstOffset: Int64?
        while true {
            let headerOffset = position
            let count = try header.withUnsafeMutableBytes { try takeFully(into: $0) }
            if count == 0 {
                if let firstOffset { throw TarReadError.orphanExtendedHeader(offset: firstOffset) }
                throw TarReadError.missingEndMarker(offset: headerOffset)
            }
            guard count == TarFields.blockSize else {
                throw TarReadError.truncated(offset: position, inside: "the header at byte \(headerOffset)")
            }
            if header.allSatisfy({ $0 == 0 }) {
                if let firstOffset { throw TarReadError.orphanExtendedHeader(offset: firstOffset) }
                try finish(zeroBlockAt: headerOffset)
                return nil
            }
            try verifyChecksum(at: headerOffset)
            if firstOffset == nil { firstOffset = headerOffset }
            let typeflag = header[TarFields.typeflag]
            switch typeflag {
            case UInt8(ascii: "x"):
                for (key, value) in try paxRecords(at: headerOffset) { localRecords[key] = value }
            case UInt8(ascii: "g"):
                for (key, value) in try paxRecords(at: headerOffset) {
                    globalRecords[key] = value.isEmpty ? nil : value
                }
            case UInt8(ascii: "L"):
                longName = try longText(at: headerOffset, field: "GNU long name")
            case UInt8(ascii: "K"):
                longLink = try longText(at: headerOffset, field: "GNU long link name")
            default:
                var records = globalRecords
                for (key, value) in localRecords { records[key] = value.isEmpty ? nil : value }
                let member = try member(
                    typeflag: typeflag, records: records, longName: longName, longLink: longLink,
                    headerOffset: headerOffset, firstOffset: firstOffset!)
                current = member
                remainingContent = member.size
                remainingPadding = TarReader.padding(member.size)
                return member
            }
        }
    }

    /// Reads the current member's content.
    /// - Returns: bytes copied; 0 once the content is exhausted (or before
    ///   the first ``next()``).
    /// - Throws: ``TarReadError/truncated(offset:inside:)`` when the stream ends early.
    public func readContent(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let current, remainingContent > 0, output.count > 0 else { return 0 }
        let wanted = Int(min(Int64(output.count), remainingContent))
        let count = try take(into: UnsafeMutableRawBufferPointer(rebasing: output[..<wanted]))
        guard count > 0 else {
            throw TarReadError.truncated(offset: position, inside: "the content of \(current.path) (header at byte \(current.headerOffset))")
        }
        remainingContent -= Int64(count)
        return count
    }

    /// Reads the rest of the current member's content into memory.
    /// - Throws: ``TarReadError/contentTooLarge(path:size:limit:)`` when the
    ///   member holds more than `limit` bytes; errors of ``readContent(into:)``.
    public func readContent(limit: Int) throws -> [UInt8] {
        guard let current else { return [] }
        guard remainingContent <= Int64(limit) else {
            throw TarReadError.contentTooLarge(path: current.path, size: current.size, limit: Int64(limit))
        }
        var bytes = [UInt8](repeating: 0, count: Int(remainingContent))
        var filled = 0
        while filled < bytes.count {
            filled += try bytes.withUnsafeMutableBytes { try readContent(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
        }
        return bytes
    }

    // MARK: Headers

    private func verifyChecksum(at offset: Int64) throws {
        let field = header[TarFields.checksum]
        let sums = TarFields.checksums(header)
        guard let stored = TarFields.number(field), stored == sums.unsigned || stored == sums.signed else {
            throw TarReadError.badChecksum(offset: offset, stored: TarFields.display(field).trimmingSpaces, computed: sums.unsigned)
        }
    }

    private func member(
        typeflag: UInt8, records: [String: String], longName: String?, longLink: String?,
        headerOffset: Int64, firstOffset: Int64
    ) throws -> TarMember {
        let path = try records["path"] ?? longName ?? headerPath(at: headerOffset)
        if records.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
            throw TarReadError.sparseFile(offset: firstOffset, path: path)
        }
        let linkTarget = try records["linkpath"] ?? longLink ?? utf8(header[TarFields.linkname], field: "link name", at: headerOffset)
        let kind: TarMember.Kind
        switch typeflag {
        case UInt8(ascii: "0"), UInt8(ascii: "7"), 0:
            // Pre-POSIX archives mark directories only by a trailing slash.
            kind = typeflag == 0 && path.hasSuffix("/") ? .directory : .regular
        case UInt8(ascii: "1"): kind = .hardlink(target: linkTarget)
        case UInt8(ascii: "2"): kind = .symlink(target: linkTarget)
        case UInt8(ascii: "3"):
            kind = .characterDevice(major: try id(TarFields.devmajor, "device major", at: headerOffset), minor: try id(TarFields.devminor, "device minor", at: headerOffset))
        case UInt8(ascii: "4"):
            kind = .blockDevice(major: try id(TarFields.devmajor, "device major", at: headerOffset), minor: try id(TarFields.devminor, "device minor", at: headerOffset))
        case UInt8(ascii: "5"): kind = .directory
        case UInt8(ascii: "6"): kind = .fifo
        case UInt8(ascii: "S"): throw TarReadError.sparseFile(offset: firstOffset, path: path)
        default: throw TarReadError.unsupportedType(offset: headerOffset, path: path, typeflag: typeflag)
        }
        // Only regular files carry content; other kinds' size fields are
        // ignored as tar and Python's tarfile do.
        var size: Int64 = 0
        if kind == .regular {
            size = try records["size"].map { try decimalRecord($0, "size", at: firstOffset) } ?? number(TarFields.size, "size", at: headerOffset)
            guard size >= 0 else { throw TarReadError.outOfRange(offset: headerOffset, field: "size", value: String(size)) }
        }
        let mode = try number(TarFields.mode, "mode", at: headerOffset)
        let uid = try records["uid"].map { try idRecord($0, "uid", at: firstOffset) } ?? id(TarFields.uid, "uid", at: headerOffset)
        let gid = try records["gid"].map { try idRecord($0, "gid", at: firstOffset) } ?? id(TarFields.gid, "gid", at: headerOffset)
        let mtime = try records["mtime"].map { text in
            guard let value = TarFields.time(text) else { throw TarReadError.badPaxRecord(offset: firstOffset, detail: "mtime \"\(text)\" is not a time") }
            return value
        } ?? number(TarFields.mtime, "mtime", at: headerOffset)
        return TarMember(
            path: path, kind: kind, mode: UInt32(truncatingIfNeeded: mode), uid: uid, gid: gid, size: size,
            modificationTime: mtime,
            userName: try records["uname"] ?? utf8(header[TarFields.uname], field: "user name", at: headerOffset),
            groupName: try records["gname"] ?? utf8(header[TarFields.gname], field: "group name", at: headerOffset),
            paxRecords: records, headerOffset: firstOffset)
    }

    /// `prefix/name` for POSIX ustar headers; GNU and v7 headers have no prefix.
    private func headerPath(at offset: Int64) throws -> String {
        let name = try utf8(header[TarFields.name], field: "name", at: offset)
        let isPosix = header[TarFields.magic].elementsEqual("ustar\0".utf8)
        guard isPosix else { return name }
        let prefix = try utf8(header[TarFields.prefix], field: "name prefix", at: offset)
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    private func utf8(_ field: ArraySlice<UInt8>, field name: String, at offset: Int64) throws -> String {
        guard let text = String(validating: TarFields.text(field), as: UTF8.self) else {
            throw TarReadError.invalidUTF8(offset: offset, field: name)
        }
        return text
    }

    private func number(_ range: Range<Int>, _ name: String, at offset: Int64) throws -> Int64 {
        guard let value = TarFields.number(header[range]) else {
            throw TarReadError.badNumber(offset: offset, field: name, text: TarFields.display(header[range]))
        }
        return value
    }

    private func id(_ range: Range<Int>, _ name: String, at offset: Int64) throws -> UInt32 {
        let value = try number(range, name, at: offset)
        guard let id = UInt32(exactly: value) else {
            throw TarReadError.outOfRange(offset: offset, field: name, value: String(value))
        }
        return id
    }

    private func decimalRecord(_ text: String, _ name: String, at offset: Int64) throws -> Int64 {
        guard let value = TarFields.decimal(text) else {
            throw TarReadError.badPaxRecord(offset: offset, detail: "\(name) \"\(text)\" is not a decimal number")
        }
        return value
    }

    private func idRecord(_ text: String, _ name: String, at offset: Int64) throws -> UInt32 {
        let value = try decimalRecord(text, name, at: offset)
        guard let id = UInt32(exactly: value) else { throw TarReadError.outOfRange(offset: offset, field: name, value: text) }
        return id
    }

    /// The content of an extended header, whose size is in the header just read.
    private func extendedContent(at offset: Int64, what: String) throws -> [UInt8] {
        let size = try number(TarFields.size, "size", at: offset)
        guard size >= 0 else { throw TarReadError.outOfRange(offset: offset, field: "size", value: String(size)) }
        guard size <= TarReader.extendedHeaderLimit else {
            throw TarReadError.extendedHeaderTooLarge(offset: offset, size: size, limit: TarReader.extendedHeaderLimit)
        }
        var content = [UInt8](repeating: 0, count: Int(size))
        let count = try content.withUnsafeMutableBytes { try takeFully(into: $0) }
        guard count == content.count, try skip(TarReader.padding(size)) else {
            throw TarReadError.truncated(offset: position, inside: "the \(what) at byte \(offset)")
        }
        return content
    }

    private func paxRecords(at offset: Int64) throws -> [(key: String, value: String)] {
        try TarFields.paxRecords(extendedContent(at: offset, what: "PAX extended header"), offset: offset)
    }

    private func longText(at offset: Int64, field: String) throws -> String {
        let content = try extendedContent(at: offset, what: field)
        guard let text = String(validating: TarFields.text(content[...]), as: UTF8.self) else {
            throw TarReadError.invalidUTF8(offset: offset, field: field)
        }
        return text
    }

    /// After the first zero block: a second one (or, as GNU tar tolerates,
    /// the end of the stream) closes the archive.
    private func finish(zeroBlockAt offset: Int64) throws {
        let count = try header.withUnsafeMutableBytes { try takeFully(into: $0) }
        if count > 0 {
            guard count == TarFields.blockSize else {
                throw TarReadError.truncated(offset: position, inside: "the end-of-archive blocks at byte \(offset)")
            }
            guard header.allSatisfy({ $0 == 0 }) else { throw TarReadError.dataAfterZeroBlock(offset: offset) }
        }
        finished = true
        // Record padding follows; reading it through lets a decompressor
        // underneath check its trailer (CRC, length).
        bufferStart = bufferEnd
        while !sourceEnded {
            let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            position += Int64(count)
            if count == 0 { sourceEnded = true }
        }
        bufferEnd = 0
        bufferStart = 0
    }

    private static func padding(_ size: Int64) -> Int64 {
        (Int64(TarFields.blockSize) - size % Int64(TarFields.blockSize)) % Int64(TarFields.blockSize)
    }

    // MARK: Buffered input

    private func skipRest() throws {
        guard let current else { return }
        let total = remainingContent + remainingPadding
        guard try skip(total) else {
            throw TarReadError.truncated(offset: position, inside: "the content of \(current.path) (header at byte \(current.headerOffset))")
        }
        remainingContent = 0
        remainingPadding = 0
    }

    /// Copies up to `output.count` bytes; 0 only at the end of the source.
    private func take(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        if bufferStart == bufferEnd {
            if sourceEnded { return 0 }
            if output.count >= buffer.count {
                // Large reads go straight to the caller, saving a copy.
                let count = try source.read(into: output)
                if count == 0 { sourceEnded = true }
                position += Int64(count)
                return count
            }
            guard try refill() else { return 0 }
        }
        let count = min(output.count, bufferEnd - bufferStart)
        buffer.withUnsafeBytes { output.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[bufferStart..<(bufferStart + count)])) }
        bufferStart += count
        position += Int64(count)
        return count
    }

    private func takeFully(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < output.count {
            let count = try take(into: UnsafeMutableRawBufferPointer(rebasing: output[filled...]))
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// Skips `count` bytes; false when the source ends first.
    private func skip(_ count: Int64) throws -> Bool {
        var left = count
        while left > 0 {
            if bufferStart == bufferEnd {
                guard try refill() else { return false }
            }
            let step = Int(min(left, Int64(bufferEnd - bufferStart)))
            bufferStart += step
            position += Int64(step)
            left -= Int64(step)
        }
        return true
    }

    private func refill() throws -> Bool {
        let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        bufferStart = 0
        bufferEnd = count
        if count == 0 { sourceEnded = true }
        return count > 0
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}
