import Foundation
import Archive
import KilnCore
import Testing
import TestSupport

@Suite struct TarWriterTests {
    static let mtime = Timestamp(secondsSinceEpoch: 1_700_000_000)

    /// Writes `entries` (in the given order) into a complete archive.
    static func archive(_ entries: [LayerEntry], mtime: Timestamp = mtime) throws -> [UInt8] {
        let writer = TarWriter(sink: MemoryByteSink(), modificationTime: mtime)
        for entry in entries { try writer.append(entry) }
        try writer.finish()
        return writer.sink.bytes
    }

    /// A NUL-padded field.
    static func field(_ text: String, _ width: Int) -> [UInt8] {
        let bytes = Array(text.utf8)
        return bytes + [UInt8](repeating: 0, count: width - bytes.count)
    }

    // MARK: Golden bytes

    @Test func regularFileHeaderIsUstarByteForByte() throws {
        let bytes = try Self.archive([LayerEntry(path: "etc/motd", kind: .regular(.bytes(Array("hello\n".utf8))), mode: 0o644)])
        // Hand-laid ustar header. 1700000000 = 0o14524770400. The checksum is
        // the byte sum with the checksum field read as spaces, 0o7444 (the
        // value Python's tarfile computes for the same header).
        var expected = Self.field("etc/motd", 100)
        expected += Array("0000644\0".utf8) + Array("0000000\0".utf8) + Array("0000000\0".utf8)
        expected += Array("00000000006\0".utf8) + Array("14524770400\0".utf8)
        expected += Array("007444\0 ".utf8) + Array("0".utf8) + Self.field("", 100)
        expected += Array("ustar\000".utf8) + Self.field("", 32) + Self.field("", 32)
        expected += Self.field("", 8) + Self.field("", 8) + Self.field("", 155) + Self.field("", 12)
        #expect(expected.count == 512)
        #expect(Array(bytes[..<512]) == expected)
        // Content padded to a block, then the two zero blocks.
        #expect(Array(bytes[512..<1024]) == Array("hello\n".utf8) + [UInt8](repeating: 0, count: 506))
        #expect(bytes.count == 2048)
        #expect(bytes[1024...].allSatisfy { $0 == 0 })
    }

    @Test func longPathUsesPrefixFieldAtTheLeftmostFittingSlash() throws {
        let path = String(repeating: "a", count: 60) + "/" + String(repeating: "b", count: 60) + "/" + String(repeating: "c", count: 30)
        let bytes = try Self.archive([LayerEntry(path: path, kind: .directory, mode: 0o755)])
        // No PAX header: prefix "aaa…/bbb…" would leave "ccc…"; the leftmost
        // slash leaving ≤ 100 bytes is the first one, so name = "bbb…/ccc…".
        #expect(bytes[156] == UInt8(ascii: "5"))
        #expect(Array(bytes[0..<100]) == Self.field(String(repeating: "b", count: 60) + "/" + String(repeating: "c", count: 30), 100))
        #expect(Array(bytes[345..<500]) == Self.field(String(repeating: "a", count: 60), 155))
        #expect(bytes.count == 512 + 1024)
    }

    @Test func paxHeaderOnlyWhereUstarCannotHoldTheValue() throws {
        let longName = String(repeating: "x", count: 101) // one component: no split possible
        let longTarget = "/" + String(repeating: "t", count: 120)
        let bytes = try Self.archive([
            LayerEntry(path: longName, kind: .symlink(target: longTarget), mode: 0o777, uid: 3_000_000, gid: 0o7777777),
        ])
        // x header, one block of records, then the ustar header.
        #expect(bytes[156] == UInt8(ascii: "x"))
        #expect(Array(bytes[0..<100]) == Self.field("PaxHeaders/" + String(repeating: "x", count: 89), 100))
        // Lengths: "linkpath" 8 + 121 + 3 = 132, +3 digits = 135;
        // "path" 4 + 101 + 3 = 108 → 111; "uid" 3 + 7 + 3 = 13 → 15.
        let records = "135 linkpath=\(longTarget)\n" + "111 path=\(longName)\n" + "15 uid=3000000\n"
        #expect(Array(bytes[124..<136]) == Array("00000000\(String(records.utf8.count, radix: 8))\0".utf8))
        #expect(Array(bytes[512..<(512 + records.utf8.count)]) == Array(records.utf8))
        let header = Array(bytes[1024..<1536])
        #expect(header[156] == UInt8(ascii: "2"))
        // gid 0o7777777 still fits ustar; uid is zeroed in favour of PAX.
        #expect(Array(header[108..<124]) == Array("0000000\07777777\0".utf8))
    }

    @Test func paxRecordLengthCountsItsOwnDigits() throws {
        // "path=" + 990 bytes + space + newline is 997 bytes; with three
        // length digits that would be 1000, which needs four: 1001.
        let path = String(repeating: String(repeating: "c", count: 99) + "/", count: 9) + String(repeating: "e", count: 90)
        let bytes = try Self.archive([LayerEntry(path: path, kind: .directory, mode: 0o755)])
        let record = "1001 path=\(path)\n"
        #expect(record.utf8.count == 1001)
        #expect(Array(bytes[512..<1513]) == Array(record.utf8))
        #expect(bytes[1513..<1536].allSatisfy { $0 == 0 })
        #expect(bytes[1536 + 156] == UInt8(ascii: "5"))
    }

    @Test func sizeOfEightGiBGoesToPAX() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let big = directory + "/sparse"
        let size: Int64 = 8 << 30
        #expect(truncate(big, off_t(size)) == 0 || FileManager.default.createFile(atPath: big, contents: nil) && truncate(big, off_t(size)) == 0)
        // Stop the stream after the headers: reading 8 GiB is not the point.
        let sink = HeadSink(limit: 1536)
        let writer = TarWriter(sink: sink, modificationTime: Self.mtime)
        #expect(throws: HeadSink.Full.self) {
            try writer.append(LayerEntry(path: "big", kind: .regular(.file(path: big, size: size)), mode: 0o644))
        }
        let record = "19 size=8589934592\n" // 4 + 10 + 3 = 17, +2 digits
        #expect(Array(sink.bytes[512..<(512 + record.utf8.count)]) == Array(record.utf8))
        #expect(Array(sink.bytes[1024 + 124..<1024 + 136]) == Array("00000000000\0".utf8))
        // Just below 8 GiB still fits the octal field.
        let justBelow = HeadSink(limit: 512)
        let other = TarWriter(sink: justBelow, modificationTime: Self.mtime)
        #expect(truncate(big, off_t(size - 1)) == 0)
        #expect(throws: HeadSink.Full.self) {
            try other.append(LayerEntry(path: "big", kind: .regular(.file(path: big, size: size - 1)), mode: 0o644))
        }
        #expect(justBelow.bytes[156] == UInt8(ascii: "0"))
        #expect(Array(justBelow.bytes[124..<136]) == Array("77777777777\0".utf8))
    }

    @Test func timestampPastOctalRangeGoesToPAX() throws {
        let bytes = try Self.archive([LayerEntry(path: "f", kind: .directory, mode: 0o755)], mtime: Timestamp(secondsSinceEpoch: 1 << 33))
        let record = "20 mtime=8589934592\n" // 5 + 10 + 3 = 18, +2 digits
        #expect(Array(bytes[512..<(512 + record.utf8.count)]) == Array(record.utf8))
        #expect(Array(bytes[1024 + 136..<1024 + 148]) == Array("00000000000\0".utf8))
    }

    // MARK: Python's tarfile as an independent encoder and reader

    /// Entries every ustar writer can hold, so Python's USTAR encoder must
    /// produce the same header bytes.
    static let ustarEntries: [LayerEntry] = [
        LayerEntry(path: "a", kind: .directory, mode: 0o755),
        LayerEntry(path: "a-b", kind: .regular(.bytes(Array("dash\n".utf8))), mode: 0o644, uid: 65532, gid: 65532),
        LayerEntry(path: "a/x", kind: .regular(.bytes([UInt8](repeating: 0x41, count: 1500))), mode: 0o4755),
        LayerEntry(path: "a/y", kind: .hardlink(target: "a/x"), mode: 0o4755),
        LayerEntry(path: "a/z", kind: .symlink(target: "../etc/motd"), mode: 0o777, uid: 1, gid: 2),
        LayerEntry(path: "ünï/名前", kind: .regular(.bytes([])), mode: 0o600, uid: 0o7777777, gid: 7),
        LayerEntry(path: String(repeating: "d", count: 120) + "/" + String(repeating: "f", count: 100), kind: .regular(.bytes([1])), mode: 0o644),
    ]

    @Test(.requires(.tools("python3")))
    func headersEqualPythonTarfileUstarEncoding() throws {
        let bytes = try Self.archive(Self.ustarEntries)
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/ours.tar"))
        // Re-encode every member Python reads with Python's own USTAR
        // encoder; the archives must be identical. Python appends "/" to
        // directory names, which kiln deliberately does not (see TarWriter).
        try Tools.python("""
            import tarfile
            with tarfile.open('ours.tar', format=tarfile.USTAR_FORMAT) as src, open('theirs.tar', 'wb') as out:
                for m in src.getmembers():
                    info = m.get_info()
                    info['name'] = info['name'].rstrip('/')
                    out.write(m.create_ustar_header(info, 'utf-8', 'strict'))
                    if m.isfile():
                        data = src.extractfile(m).read()
                        out.write(data + b'\\0' * (-len(data) % 512))
                out.write(b'\\0' * 1024)
            """, in: directory)
        #expect(bytes == (try Files.bytes(directory + "/theirs.tar")))
    }

    @Test(.requires(.tools("python3")))
    func pythonTarfileReadsEveryField() throws {
        let longPath = String(repeating: "p", count: 200) + "/file"
        let longTarget = String(repeating: "t", count: 300)
        let entries = Self.ustarEntries + [
            LayerEntry(path: longPath, kind: .regular(.bytes(Array("deep\n".utf8))), mode: 0o640, uid: 3_000_000, gid: 4_000_000),
            LayerEntry(path: "long-link", kind: .symlink(target: longTarget), mode: 0o777),
            LayerEntry(path: "long-hard", kind: .hardlink(target: longPath), mode: 0o640),
        ]
        let bytes = try Self.archive(entries)
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/ours.tar"))
        let listing = String(decoding: try Tools.python("""
            import tarfile, hashlib
            with tarfile.open('ours.tar', encoding='utf-8') as t:
                for m in t.getmembers():
                    digest = hashlib.sha256(t.extractfile(m).read()).hexdigest()[:12] if m.isfile() else ''
                    print('|'.join([m.name, m.type.decode(), oct(m.mode), str(m.uid), str(m.gid), m.uname, m.gname,
                                    str(m.size), str(m.mtime), m.linkname, digest]))
            """, in: directory), as: UTF8.self)
        var expected = ""
        for entry in entries {
            var type = "0", size = 0, target = "", digest = ""
            switch entry.kind {
            case .directory: type = "5"
            case .regular(let content):
                guard case .bytes(let data) = content else { continue }
                size = data.count
                digest = String(try Self.sha256Hex(data).prefix(12))
            case .symlink(let t): type = "2"; target = t
            case .hardlink(let t): type = "1"; target = t
            }
            let mode = "0o" + String(entry.mode, radix: 8)
            expected += "\(entry.path)|\(type)|\(mode)|\(entry.uid)|\(entry.gid)|||\(size)|1700000000|\(target)|\(digest)\n"
        }
        #expect(listing == expected)
    }

    static func sha256Hex(_ bytes: [UInt8]) throws -> String {
        String(try Tools.sha256(bytes).dropFirst("sha256:".count))
    }

    // MARK: GNU tar

    @Test(.requires(.tools("tar")))
    func gnuTarListsInByteOrderWithoutTrailingSlashes() throws {
        var tree = LayerTree()
        for path in ["a/x", "a-b", "a.c", "b"] {
            try tree.insert(LayerEntry(path: path, kind: .regular(.bytes([])), mode: 0o644))
        }
        let bytes = try Self.archive(try tree.sortedEntries())
        let listing = String(decoding: try Tools.output(["tar", "-tf", "-"], stdin: bytes), as: UTF8.self)
        #expect(listing == "a\na-b\na.c\na/x\nb\n")
        let lines = listing.split(separator: "\n").map(String.init)
        #expect(lines == lines.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    @Test(.requires(.tools("tar")))
    func gnuTarVerboseListingShowsModesOwnersAndTargets() throws {
        let bytes = try Self.archive(Self.ustarEntries)
        let listing = String(decoding: try Tools.output(["env", "TZ=UTC", "tar", "--numeric-owner", "-tvf", "-"], stdin: bytes), as: UTF8.self)
        let expected = """
            drwxr-xr-x 0/0               0 2023-11-14 22:13 a
            -rw-r--r-- 65532/65532       5 2023-11-14 22:13 a-b
            -rwsr-xr-x 0/0            1500 2023-11-14 22:13 a/x
            hrwsr-xr-x 0/0               0 2023-11-14 22:13 a/y link to a/x
            lrwxrwxrwx 1/2               0 2023-11-14 22:13 a/z -> ../etc/motd
            -rw------- 2097151/7         0 2023-11-14 22:13 ünï/名前
            -rw-r--r-- 0/0               1 2023-11-14 22:13 \(String(repeating: "d", count: 120))/\(String(repeating: "f", count: 100))

            """
        #expect(listing == expected)
    }

    @Test(.requires(.tools("tar")))
    func gnuTarExtractsExactlyWhatWasWritten() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let source = directory + "/source.bin"
        let payload = (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        try Data(payload).write(to: URL(fileURLWithPath: source))
        let longDirectory = String(repeating: "L", count: 150) + "/" + String(repeating: "M", count: 150)
        let longTarget = "/" + String(repeating: "T", count: 200)
        var tree = LayerTree()
        try tree.insert(LayerEntry(path: "etc/motd", kind: .regular(.bytes(Array("hello\n".utf8))), mode: 0o644))
        try tree.insert(LayerEntry(path: "bin/tool", kind: .regular(.file(path: source, size: Int64(payload.count))), mode: 0o755, uid: 1000, gid: 1000))
        try tree.insert(LayerEntry(path: "bin/hard", kind: .hardlink(target: "bin/tool"), mode: 0o755, uid: 1000, gid: 1000))
        try tree.insert(LayerEntry(path: "bin/sym", kind: .symlink(target: "tool"), mode: 0o777))
        try tree.insert(LayerEntry(path: longDirectory + "/deep.txt", kind: .regular(.bytes(Array("deep\n".utf8))), mode: 0o600, uid: 3_000_000, gid: 3_000_001))
        try tree.insert(LayerEntry(path: "long-link", kind: .symlink(target: longTarget), mode: 0o777))
        try tree.insert(LayerEntry(path: "var/empty", kind: .directory, mode: 0o1777, uid: 5, gid: 6))
        let bytes = try Self.archive(try tree.sortedEntries())
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/layer.tar"))
        try Tools.shell("mkdir out && tar --same-owner -xpf layer.tar -C out", in: directory)

        let out = directory + "/out/"
        let manager = FileManager.default
        #expect(manager.contents(atPath: out + "etc/motd") == Data("hello\n".utf8))
        #expect(manager.contents(atPath: out + "bin/tool") == Data(payload))
        #expect(manager.contents(atPath: out + longDirectory + "/deep.txt") == Data("deep\n".utf8))
        #expect(try manager.destinationOfSymbolicLink(atPath: out + "bin/sym") == "tool")
        #expect(try manager.destinationOfSymbolicLink(atPath: out + "long-link") == longTarget)
        var tool = stat(), hard = stat(), deep = stat(), empty = stat()
        #expect(stat(out + "bin/tool", &tool) == 0 && stat(out + "bin/hard", &hard) == 0)
        #expect(tool.st_ino == hard.st_ino && tool.st_nlink == 2)
        #expect(tool.st_mode & 0o7777 == 0o755 && tool.st_uid == 1000 && tool.st_gid == 1000)
        #expect(stat(out + longDirectory + "/deep.txt", &deep) == 0)
        #expect(deep.st_mode & 0o7777 == 0o600 && deep.st_uid == 3_000_000 && deep.st_gid == 3_000_001)
        #expect(deep.st_mtim.tv_sec == 1_700_000_000)
        #expect(stat(out + "var/empty", &empty) == 0)
        #expect(empty.st_mode & 0o7777 == 0o1777 && empty.st_uid == 5 && empty.st_gid == 6)
    }

    // MARK: Errors

    @Test func missingSourceFileNamesBothPaths() throws {
        let writer = TarWriter(sink: MemoryByteSink(), modificationTime: Self.mtime)
        let error = try #require(throws: LayerWriteError.self) {
            try writer.append(LayerEntry(path: "etc/gone", kind: .regular(.file(path: "/nonexistent/kiln/gone", size: 3)), mode: 0o644))
        }
        #expect(error.description == "source file /nonexistent/kiln/gone (for /etc/gone) no longer exists; it was removed while the layer was being written")
    }

    @Test(arguments: [(listed: 10, actual: 4), (listed: 4, actual: 10)])
    func sourceFileOfAnotherSizeIsAnError(listed: Int, actual: Int) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let path = directory + "/f"
        try Data(repeating: 7, count: actual).write(to: URL(fileURLWithPath: path))
        let writer = TarWriter(sink: MemoryByteSink(), modificationTime: Self.mtime)
        let error = try #require(throws: LayerWriteError.self) {
            try writer.append(LayerEntry(path: "f", kind: .regular(.file(path: path, size: Int64(listed))), mode: 0o644))
        }
        #expect(error.description == "source file \(path) (for /f) changed while the layer was being written: listed with \(listed) bytes, now \(actual) bytes")
    }

    @Test func sourceReplacedByDirectoryIsAnError() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let writer = TarWriter(sink: MemoryByteSink(), modificationTime: Self.mtime)
        let error = try #require(throws: LayerWriteError.self) {
            try writer.append(LayerEntry(path: "f", kind: .regular(.file(path: directory, size: 0)), mode: 0o644))
        }
        #expect(error.description == "source file \(directory) (for /f) is no longer a regular file; it was replaced while the layer was being written")
    }

    @Test func unreadableSourceMessageCarriesTheSystemReason() {
        // Running as root, a real EACCES cannot be provoked; the message is
        // what the writer builds from the errno it got.
        let error = LayerWriteError.sourceUnreadable(source: "/src/secret", entry: "etc/secret", errno: EACCES)
        #expect(error.description == "cannot read source file /src/secret (for /etc/secret): Permission denied")
    }

    @Test func unrepresentableNamesAreRefused() throws {
        let writer = TarWriter(sink: MemoryByteSink(), modificationTime: Self.mtime)
        let nul = try #require(throws: LayerWriteError.self) {
            try writer.append(LayerEntry(path: "a\0b", kind: .directory, mode: 0o755))
        }
        #expect(nul.description == "cannot write image path \"a\0b\" into a tar stream: it must be relative, normalized and free of NUL bytes")
        let absolute = try #require(throws: LayerWriteError.self) {
            try writer.append(LayerEntry(path: "/etc", kind: .directory, mode: 0o755))
        }
        #expect(absolute.description == "cannot write image path \"/etc\" into a tar stream: it must be relative, normalized and free of NUL bytes")
        let hard = try #require(throws: LayerWriteError.self) {
            try writer.append(LayerEntry(path: "h", kind: .hardlink(target: "../x"), mode: 0o644))
        }
        #expect(hard.description == "cannot write the link /h -> \"../x\" into a tar stream: the target must be non-empty and free of NUL bytes (and, for a hardlink, a normalized image path)")
        #expect(writer.bytesWritten == 0)
    }

    @Test func sinkErrorsPropagate() throws {
        let writer = TarWriter(sink: HeadSink(limit: 0), modificationTime: Self.mtime)
        #expect(throws: HeadSink.Full.self) { try writer.append(LayerEntry(path: "d", kind: .directory, mode: 0o755)) }
    }

    @Test func sameEntriesGiveTheSameBytes() throws {
        #expect(try Self.archive(Self.ustarEntries) == (try Self.archive(Self.ustarEntries)))
        #expect(try Self.archive(Self.ustarEntries) != (try Self.archive(Self.ustarEntries, mtime: Timestamp(secondsSinceEpoch: 0))))
    }
}

/// Keeps the first `limit` bytes, then throws, to stop a stream early.
final class HeadSink: ByteSink {
    struct Full: Error {}
    let limit: Int
    private(set) var bytes: [UInt8] = []

    init(limit: Int) { self.limit = limit }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        let room = limit - self.bytes.count
        self.bytes += bytes.prefix(room)
        if bytes.count > room { throw Full() }
    }
}
