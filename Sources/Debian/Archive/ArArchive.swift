internal import Glibc
internal import Archive
import KilnCore
internal import Strategies

/// The `ar` container of a `.deb`: a global header, then members, each a
/// 60-byte header (name, mtime, uid, gid, mode, decimal size, "`\n") and
/// the data padded to an even length.
///
/// Only the member table is read up front; member data is read in chunks
/// through ``MemberReader``, so a large `data.tar` is never held in memory.
final class ArArchive: Sendable {
    /// One member: its name (trailing `/` of GNU ar removed) and where its
    /// data lies in the file.
    struct Member: Hashable, Sendable {
        var name: String
        var offset: Int64
        var size: Int64
    }

    /// The archive's path, for messages.
    let path: String
    /// Members in file order.
    let members: [Member]
    private let descriptor: Int32

    /// Opens `path` and reads its member table.
    /// - Throws: ``DebArchiveError`` when the file cannot be opened or is not
    ///   an ar archive.
    init(path: String) throws(DebArchiveError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, message: String(cString: strerror(errno))) }
        descriptor = fd
        do {
            members = try ArArchive.readMembers(fd: fd, path: path)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit {
        close(descriptor)
    }

    /// The member called `name`, if any.
    func member(_ name: String) -> Member? { members.first { $0.name == name } }

    /// The first `count` bytes of `member` (fewer if the member is shorter).
    func prefix(of member: Member, count: Int) throws(DebArchiveError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(min(Int64(count), member.size)))
        var filled = 0
        while filled < bytes.count {
            let result = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, buffer.count - filled, off_t(member.offset) + off_t(filled))
            }
            if result < 0, errno == EINTR { continue }
            guard result > 0 else {
                throw .unreadable(path: path, message: result < 0 ? String(cString: strerror(errno)) : "member \(member.name) is truncated")
            }
            filled += result
        }
        return bytes
    }

    /// Reads up to `count` bytes at `offset` into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(DebArchiveError) -> Int {
        while true {
            let result = pread(descriptor, buffer.baseAddress, buffer.count, off_t(offset))
            if result >= 0 { return result }
            if errno == EINTR { continue }
            throw .unreadable(path: path, message: String(cString: strerror(errno)))
        }
    }

    private static func readMembers(fd: Int32, path: String) throws(DebArchiveError) -> [Member] {
        var header = [UInt8](repeating: 0, count: 60)
        func readExactly(_ count: Int, at offset: Int64) throws(DebArchiveError) -> Bool {
            var done = 0
            while done < count {
                let result = header.withUnsafeMutableBytes { buffer in
                    pread(fd, buffer.baseAddress! + done, count - done, off_t(offset) + off_t(done))
                }
                if result < 0 {
                    if errno == EINTR { continue }
                    throw .unreadable(path: path, message: String(cString: strerror(errno)))
                }
                if result == 0 { return false }
                done += result
            }
            return true
        }
        guard try readExactly(8, at: 0), header[0..<8].elementsEqual("!<arch>\n".utf8) else {
            throw .notDeb(path: path, reason: "not an ar archive")
        }
        var members: [Member] = []
        var offset: Int64 = 8
        while try readExactly(60, at: offset) {
            guard header[58] == UInt8(ascii: "`"), header[59] == UInt8(ascii: "\n") else {
                throw .notDeb(path: path, reason: "corrupt ar member header at byte \(offset)")
            }
            var nameBytes = Array(header[0..<16])
            while let last = nameBytes.last, last == 0x20 { nameBytes.removeLast() }
            if nameBytes.last == UInt8(ascii: "/"), nameBytes.count > 1 { nameBytes.removeLast() }
            var size: Int64 = 0
            var digits = 0
            for byte in header[48..<58] {
                if byte == 0x20 { continue }
                guard (0x30...0x39).contains(byte), digits < 18 else {
                    throw .notDeb(path: path, reason: "corrupt ar member size at byte \(offset)")
                }
                size = size * 10 + Int64(byte - 0x30)
                digits += 1
            }
            members.append(Member(name: String(decoding: nameBytes, as: UTF8.self), offset: offset + 60, size: size))
            offset += 60 + size + (size & 1)
        }
        return members
    }
}

/// One ar member read sequentially in chunks, as a ``ByteSource`` a
/// ``Decompressor`` or ``TarReader`` can sit on.
final class MemberSource: ByteSource {
    private let archive: ArArchive
    private let name: String
    private var position: Int64
    private let end: Int64

    init(archive: ArArchive, member: ArArchive.Member) {
        self.archive = archive
        name = member.name
        position = member.offset
        end = member.offset + member.size
    }

    /// - Throws: ``DebArchiveError`` on a read error or a truncated member.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(Int64(buffer.count), end - position))
        guard wanted > 0 else { return 0 }
        let count = try archive.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: position)
        guard count > 0 else { throw DebArchiveError.notDeb(path: archive.path, reason: "member \(name) is truncated") }
        position += Int64(count)
        return count
    }
}
