import CZlib
import Foundation
import Archive
import KilnCore
import Testing
import TestSupport

@Suite struct TarReaderTests {
    // MARK: Archives from real writers, compared member by member with Python's tarfile

    @Test(.requires(.tools("tar", "python3")), arguments: ["gnu", "posix"])
    func readsGNUTarArchives(format: String) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try ReaderFixtures.makeFullTree(at: directory + "/root")
        try Tools.shell("tar --format=\(format) --numeric-owner -cf archive.tar -C root .", in: directory)
        let listing = try ReaderFixtures.listing(of: directory + "/archive.tar")
        #expect(listing == (try ReaderFixtures.pythonListing(of: directory + "/archive.tar")))
        // The tree's hard cases all made it through.
        #expect(listing.contains { $0.hasPrefix("./l/") && $0.utf8.count > 200 })
        #expect(listing.contains { $0.hasPrefix("./hard|h|") })
        #expect(listing.contains { $0.hasPrefix("./chardev|c|") && $0.contains("|1|3|") })
        #expect(listing.contains { $0.hasPrefix("./bigowner|f|644|2097152|") })
    }

    @Test(.requires(.tools("tar", "python3")))
    func readsGNUTarUstarArchives() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try ReaderFixtures.makeUstarTree(at: directory + "/root")
        try Tools.shell("tar --format=ustar --numeric-owner -cf archive.tar -C root .", in: directory)
        let listing = try ReaderFixtures.listing(of: directory + "/archive.tar")
        #expect(listing == (try ReaderFixtures.pythonListing(of: directory + "/archive.tar")))
        // A path only the ustar prefix field can hold.
        #expect(listing.contains { $0.utf8.count > 150 && $0.hasPrefix("./d") })
    }

    @Test(.requires(.tools("python3")), arguments: ["PAX_FORMAT", "GNU_FORMAT", "USTAR_FORMAT"])
    func readsPythonTarfileArchives(format: String) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        if format == "USTAR_FORMAT" {
            try ReaderFixtures.makeUstarTree(at: directory + "/root")
        } else {
            try ReaderFixtures.makeFullTree(at: directory + "/root")
        }
        try Tools.python("""
            import tarfile, sys
            with tarfile.open("archive.tar", "w", format=tarfile.\(format)) as t:
                t.add("root", arcname=".")
            """, in: directory)
        let listing = try ReaderFixtures.listing(of: directory + "/archive.tar")
        #expect(listing == (try ReaderFixtures.pythonListing(of: directory + "/archive.tar")))
        #expect(listing.count > 5)
    }

    @Test(.requires(.tools("python3")))
    func appliesGlobalPaxHeadersAndBase256Numbers() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.python("""
            import tarfile, io
            with tarfile.open("pax.tar", "w", format=tarfile.PAX_FORMAT, pax_headers={"comment": "from g", "gid": "4000000000"}) as t:
                info = tarfile.TarInfo("global/applies")
                info.size = 3
                t.addfile(info, io.BytesIO(b"abc"))
            with tarfile.open("gnu.tar", "w", format=tarfile.GNU_FORMAT) as t:
                info = tarfile.TarInfo("negative-mtime")
                info.mtime = -1000
                info.uid = 10000000
                info.size = 70000
                t.addfile(info, io.BytesIO(bytes(range(256)) * 274))
            """, in: directory)
        let pax = try ReaderFixtures.listing(of: directory + "/pax.tar")
        #expect(pax == (try ReaderFixtures.pythonListing(of: directory + "/pax.tar")))
        #expect(pax.first?.hasPrefix("global/applies|f|644|0|4000000000|3|") == true)
        let reader = TarReader(source: try FileByteSource(path: directory + "/pax.tar"))
        #expect(try reader.next()?.paxRecords["comment"] == "from g")
        let gnu = try ReaderFixtures.listing(of: directory + "/gnu.tar")
        #expect(gnu == (try ReaderFixtures.pythonListing(of: directory + "/gnu.tar")))
        #expect(gnu.first?.hasPrefix("negative-mtime|f|644|10000000|0|70000|-1000|") == true)
    }

    @Test(.requires(.tools("dpkg-deb", "ar", "python3")), arguments: ["xz", "gzip", "zstd"])
    func readsDpkgDebDataArchives(compression: String) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("""
            mkdir -p pkg/DEBIAN pkg/usr/bin pkg/usr/share/doc/kiln-test
            printf 'Package: kiln-test\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: kiln <kiln@example.com>\\nDescription: test\\n' > pkg/DEBIAN/control
            printf '#!/bin/sh\\necho hi\\n' > pkg/usr/bin/hello && chmod 0755 pkg/usr/bin/hello
            head -c 100000 /dev/zero > pkg/usr/share/doc/kiln-test/zeros
            ln -s hello pkg/usr/bin/hi
            dpkg-deb -Z\(compression) --root-owner-group --build pkg test.deb >/dev/null
            mkdir out && cd out && ar x ../test.deb
            cd .. && dpkg-deb --fsys-tarfile test.deb > data.tar
            """, in: directory)
        let extension_ = ["xz": "xz", "gzip": "gz", "zstd": "zst"][compression]!
        let listing = try ReaderFixtures.listing(of: directory + "/out/data.tar." + extension_, detecting: true)
        #expect(listing == (try ReaderFixtures.pythonListing(of: directory + "/data.tar")))
        #expect(listing.contains { $0.hasPrefix("./usr/bin/hi|l|777|0|0|0|") && $0.contains("|hello|") })
    }

    @Test(.requires(.tools("python3")))
    func streamsContentInSmallPiecesAndSkipsUnreadContent() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.python("""
            import tarfile, io
            with tarfile.open("a.tar", "w", format=tarfile.USTAR_FORMAT) as t:
                for name, size in [("one", 100000), ("two", 513), ("three", 5)]:
                    info = tarfile.TarInfo(name)
                    info.size = size
                    t.addfile(info, io.BytesIO(bytes([len(name)]) * size))
            """, in: directory)
        let reader = TarReader(source: try FileByteSource(path: directory + "/a.tar"))
        let one = try #require(try reader.next())
        #expect(one.path == "one" && one.size == 100_000 && one.headerOffset == 0)
        var piece = [UInt8](repeating: 0, count: 10)
        let count = try piece.withUnsafeMutableBytes { try reader.readContent(into: $0) }
        #expect(count == 10 && piece == [UInt8](repeating: 3, count: 10))
        let two = try #require(try reader.next())
        // 512 header + 100000 content rounded up to 100352.
        #expect(two.path == "two" && two.headerOffset == 512 + 100_352)
        let three = try #require(try reader.next())
        #expect(try reader.readContent(limit: 5) == [5, 5, 5, 5, 5])
        #expect(three.kind == .regular)
        #expect(try reader.next() == nil)
        #expect(try reader.next() == nil)
    }

    @Test func normalizesPaths() throws {
        func member(_ path: String, _ kind: TarMember.Kind = .regular) -> TarMember {
            TarMember(path: path, kind: kind, mode: 0o644, uid: 0, gid: 0, size: 0, modificationTime: 0, headerOffset: 1024)
        }
        #expect(try member("./usr/bin/").normalizedPath() == "usr/bin")
        #expect(try member("/etc//./hosts").normalizedPath() == "etc/hosts")
        #expect(try member("./").normalizedPath() == nil)
        #expect(try member("a", .hardlink(target: "./b/c")).normalizedLinkTarget() == "b/c")
        let error = try #require(throws: TarReadError.self) { try member("a/../../etc/passwd").normalizedPath() }
        #expect(error.description == "tar member at byte 1024 has path \"a/../../etc/passwd\", which leads outside the archive root")
    }

    // MARK: Errors

    /// `a`: 1000 bytes. Header 0–512, content 512–1512, padding to 1536,
    /// end blocks 1536–2560, then record padding to 10240.
    static func singleFileArchive() throws -> [UInt8] {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.python("""
            import tarfile, io
            with tarfile.open("a.tar", "w", format=tarfile.USTAR_FORMAT) as t:
                info = tarfile.TarInfo("a")
                info.size = 1000
                t.addfile(info, io.BytesIO(b"x" * 1000))
            """, in: directory)
        return try Files.bytes(directory + "/a.tar")
    }

    @Test(.requires(.tools("python3")), arguments: [
        (300, "tar archive is truncated: it ends at byte 300, inside the header at byte 0"),
        (1000, "tar archive is truncated: it ends at byte 1000, inside the content of a (header at byte 0)"),
        (1520, "tar archive is truncated: it ends at byte 1520, inside the content of a (header at byte 0)"),
        (1536, "tar archive ends at byte 1536 without its end-of-archive blocks (truncated?)"),
        (1800, "tar archive is truncated: it ends at byte 1800, inside the header at byte 1536"),
        (2100, "tar archive is truncated: it ends at byte 2100, inside the end-of-archive blocks at byte 1536"),
    ])
    func reportsTruncationWithTheOffset(length: Int, message: String) throws {
        let archive = try Self.singleFileArchive()
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(Array(archive[..<length])) }
        #expect(error.description == message)
    }

    @Test(.requires(.tools("python3")))
    func acceptsALoneZeroBlockAtTheEnd() throws {
        let archive = try Self.singleFileArchive()
        #expect(try ReaderFixtures.readAll(Array(archive[..<2048])) == ["a"])
    }

    @Test(.requires(.tools("python3")))
    func reportsABadChecksum() throws {
        var archive = try Self.singleFileArchive()
        archive[0] = UInt8(ascii: "b")
        // tarfile wrote the checksum as six octal digits, NUL, space; the sum
        // grows by "b" - "a" = 1.
        let stored = String(decoding: archive[148..<154], as: UTF8.self)
        let computed = String(Int(stored, radix: 8)! + 1, radix: 8)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(archive) }
        #expect(error.description == "tar header at byte 0 is corrupt: checksum field \"\(stored)\" does not match the computed \(computed)")
    }

    @Test(.requires(.tools("python3")))
    func reportsANonNumericField() throws {
        var archive = try Self.singleFileArchive()
        archive.replaceSubrange(124..<136, with: Array("00000001x00\0".utf8))
        ReaderFixtures.fixChecksum(&archive, header: 0)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(archive) }
        #expect(error.description == "tar header at byte 0 is corrupt: size field \"00000001x00\" is not a number")
    }

    @Test(.requires(.tools("python3")))
    func reportsDataAfterALoneZeroBlock() throws {
        let archive = try Self.singleFileArchive()
        let doubled = Array(archive[..<1536]) + [UInt8](repeating: 0, count: 512) + Array(archive[..<1536]) + [UInt8](repeating: 0, count: 1024)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(doubled) }
        #expect(error.description == "tar archive has a zero block at byte 1536 followed by more headers")
    }

    @Test(.requires(.tools("python3")))
    func reportsUnsupportedTypes() throws {
        var archive = try Self.singleFileArchive()
        archive[156] = UInt8(ascii: "V")
        ReaderFixtures.fixChecksum(&archive, header: 0)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(archive) }
        #expect(error.description == "tar member a at byte 0 has type 'V', which kiln does not support")
    }

    @Test(.requires(.tools("tar")), arguments: ["gnu", "posix"])
    func reportsSparseFiles(format: String) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.shell("""
            mkdir root && printf data > root/sparse && truncate -s 4M root/sparse
            tar --format=\(format) --sparse -cf archive.tar -C root sparse
            """, in: directory)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(Files.bytes(directory + "/archive.tar")) }
        #expect(error.description.hasSuffix(" at byte 0 is a sparse file, which kiln does not support"))
        #expect(error.description.hasPrefix("tar member "))
    }

    @Test(.requires(.tools("python3")))
    func reportsMalformedPaxRecords() throws {
        let archive = try ReaderFixtures.paxArchive(records: "7 path=a\n")
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(archive) }
        #expect(error.description == "PAX extended header at byte 0 is malformed: record at byte 0 does not end with a newline where its length says")
        let noLength = try ReaderFixtures.paxArchive(records: "path=a\n")
        let second = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(noLength) }
        #expect(second.description == "PAX extended header at byte 0 is malformed: record at byte 0 does not start with a decimal length and a space")
        let badSize = try ReaderFixtures.paxArchive(records: "12 size=-40\n")
        let third = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(badSize) }
        #expect(third.description == "PAX extended header at byte 0 is malformed: size \"-40\" is not a decimal number")
        let bigUid = try ReaderFixtures.paxArchive(records: "18 uid=4294967296\n")
        let fourth = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(bigUid) }
        #expect(fourth.description == "tar header at byte 0: uid 4294967296 is out of range")
    }

    @Test(.requires(.tools("python3")))
    func readsPaxPathOverrides() throws {
        let archive = try ReaderFixtures.paxArchive(records: "16 path=renamed\n")
        #expect(try ReaderFixtures.readAll(archive) == ["renamed"])
    }

    @Test(.requires(.tools("python3")))
    func reportsAnExtendedHeaderWithoutMember() throws {
        let archive = try ReaderFixtures.paxArchive(records: "16 path=renamed\n")
        // Keep the extended header (header + one block of records), drop the member.
        let orphan = Array(archive[..<1024]) + [UInt8](repeating: 0, count: 1024)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(orphan) }
        #expect(error.description == "tar archive has an extended header at byte 0 with no member after it")
        let cut = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(Array(archive[..<1024])) }
        #expect(cut.description == "tar archive has an extended header at byte 0 with no member after it")
    }

    @Test(.requires(.tools("python3")))
    func reportsNamesThatAreNotUTF8() throws {
        var archive = try Self.singleFileArchive()
        archive[0] = 0xff
        ReaderFixtures.fixChecksum(&archive, header: 0)
        let error = try #require(throws: TarReadError.self) { try ReaderFixtures.readAll(archive) }
        #expect(error.description == "tar header at byte 0: name is not valid UTF-8")
    }

    @Test(.requires(.tools("python3")))
    func limitsInMemoryContent() throws {
        let reader = TarReader(source: MemoryByteSource(try Self.singleFileArchive()))
        _ = try reader.next()
        let error = try #require(throws: TarReadError.self) { try reader.readContent(limit: 999) }
        #expect(error.description == "tar member a holds 1000 bytes, more than the 999 expected")
    }

    @Test(.requires(.tools("python3", "gzip")))
    func reportsCorruptCompressionUnderneath() throws {
        let compressed = try ReaderFixtures.compress(try Self.singleFileArchive(), with: "gzip")
        // Damage the CRC in the trailer: the tar itself is intact, so only
        // reading through to the trailer finds the damage.
        var damaged = compressed
        damaged[damaged.count - 8] ^= 0xff
        let reader = TarReader(source: try Decompressor(format: .gzip, source: MemoryByteSource(damaged)))
        let error = try #require(throws: DecompressionError.self) { while try reader.next() != nil {} }
        #expect(error.description == "gzip data is corrupt at compressed byte \(damaged.count - 4): incorrect data check")
    }
}

/// Fixtures of the reader and decompressor tests.
enum ReaderFixtures {
    static func compress(_ bytes: [UInt8], with tool: String) throws -> [UInt8] {
        try Tools.output([tool, "-c"], stdin: bytes)
    }

    static func decompress(_ bytes: [UInt8], with tool: String) throws -> [UInt8] {
        try Tools.output([tool, "-dc"], stdin: bytes)
    }

    static func drain(_ source: any ByteSource, chunk: Int) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: chunk)
        while true {
            let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if count == 0 { return result }
            result += buffer[..<count]
        }
    }

    /// Every member's path, reading the whole archive.
    static func readAll(_ archive: [UInt8]) throws -> [String] {
        let reader = TarReader(source: MemoryByteSource(archive))
        var paths: [String] = []
        while let member = try reader.next() { paths.append(member.path) }
        return paths
    }

    /// A tree with everything GNU and PAX formats must carry: long names and
    /// link targets, a hardlink, devices, a fifo, a large uid, fractional
    /// mtimes, non-ASCII names, content crossing buffer boundaries.
    static func makeFullTree(at root: String) throws {
        try makeUstarTree(at: root)
        let long = String(repeating: "n", count: 120)
        try Tools.shell("""
            mkdir -p l/\(long)/o
            printf 'deep\\n' > l/\(long)/o/\(long).txt
            ln -s /\(String(repeating: "t", count: 150)) longlink
            mkfifo fifo
            mknod chardev c 1 3
            printf 'big owner\\n' > bigowner && chown 2097152:7 bigowner
            touch -h -d @1700000000.5 l/\(long)/o/\(long).txt longlink
            """, in: root)
    }

    /// A tree every ustar writer can hold: names split by the prefix field,
    /// but no component over 100 bytes, no long link target, small ids.
    static func makeUstarTree(at root: String) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let component = String(repeating: "d", count: 60)
        try Tools.shell("""
            mkdir -p dir empty \(component)/\(component)
            printf 'hello\\n' > dir/file.txt
            printf '#!/bin/sh\\n' > dir/exec.sh && chmod 0755 dir/exec.sh
            printf 'setuid' > setuid && chmod 4755 setuid
            : > zero
            head -c 512 /dev/zero | tr '\\0' 'z' > exact512
            awk 'BEGIN { for (i = 0; i < 20000; i++) printf "%d,", i }' > big.txt
            printf 'unicode\\n' > 'ünïcödé-名前.txt'
            printf 'split\\n' > \(component)/\(component)/\(String(repeating: "f", count: 40))
            ln -s dir/file.txt link
            ln dir/file.txt hard
            chown -R 0:0 . && chown 1000:1000 dir/exec.sh
            find . -exec touch -h -d @1700000000 {} +
            """, in: root)
    }

    /// One line per member, as ``pythonListing(of:)`` prints them.
    static func listing(of path: String, detecting: Bool = false) throws -> [String] {
        let file = try FileByteSource(path: path)
        let reader = TarReader(source: detecting ? try Decompressor(detectingFormatOf: file) : file)
        var lines: [String] = []
        while let member = try reader.next() {
            var kind = "f", link = "", major: UInt32 = 0, minor: UInt32 = 0
            switch member.kind {
            case .regular: kind = "f"
            case .directory: kind = "d"
            case .symlink(let target): kind = "l"; link = target
            case .hardlink(let target): kind = "h"; link = target
            case .characterDevice(let devMajor, let devMinor): kind = "c"; major = devMajor; minor = devMinor
            case .blockDevice(let devMajor, let devMinor): kind = "b"; major = devMajor; minor = devMinor
            case .fifo: kind = "p"
            }
            let content = try reader.readContent(limit: 1 << 24)
            let crc = content.withUnsafeBytes { crc32(0, $0.bindMemory(to: Bytef.self).baseAddress, uInt($0.count)) }
            var name = member.path
            if kind == "d" { while name.count > 1 && name.hasSuffix("/") { name.removeLast() } }
            lines.append([
                name, kind, String(member.mode, radix: 8), String(member.uid), String(member.gid), String(member.size),
                String(member.modificationTime), link, String(major), String(minor), String(crc),
                member.userName, member.groupName,
            ].joined(separator: "|"))
        }
        return lines
    }

    /// Python's tarfile view of an uncompressed archive, one line per member.
    static func pythonListing(of path: String) throws -> [String] {
        let output = try Tools.output(["python3", "-c", """
            import math, sys, tarfile, zlib
            kinds = {tarfile.REGTYPE: "f", tarfile.AREGTYPE: "f", tarfile.CONTTYPE: "f", tarfile.DIRTYPE: "d",
                     tarfile.SYMTYPE: "l", tarfile.LNKTYPE: "h", tarfile.CHRTYPE: "c", tarfile.BLKTYPE: "b",
                     tarfile.FIFOTYPE: "p"}
            with tarfile.open(sys.argv[1], "r:") as t:
                for m in t:
                    device = m.ischr() or m.isblk()
                    crc = zlib.crc32(t.extractfile(m).read()) if m.isreg() else 0
                    name = m.name.rstrip("/") if m.isdir() and len(m.name) > 1 else m.name
                    print("|".join(str(x) for x in [name, kinds[m.type], format(m.mode & 0o7777, "o"), m.uid, m.gid,
                          m.size if m.isreg() else 0, math.floor(m.mtime), m.linkname,
                          m.devmajor if device else 0, m.devminor if device else 0, crc, m.uname, m.gname]))
            """, path])
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// A PAX archive whose first extended header holds `records` verbatim,
    /// then one member `a` of 3 bytes.
    static func paxArchive(records: String) throws -> [UInt8] {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        try Tools.python("""
            import tarfile, io
            def header(name, typeflag, size):
                info = tarfile.TarInfo(name)
                info.type = typeflag
                info.size = size
                return info.tobuf(format=tarfile.USTAR_FORMAT)
            records = \(Array(records.utf8))
            data = bytes(records)
            out = header("PaxHeader/a", b"x", len(data)) + data + b"\\0" * (-len(data) % 512)
            out += header("a", tarfile.REGTYPE, 3) + b"abc" + b"\\0" * 509 + b"\\0" * 1024
            open("pax.tar", "wb").write(out)
            """, in: directory)
        return try Files.bytes(directory + "/pax.tar")
    }

    /// Recomputes a header's checksum after a test edited it.
    static func fixChecksum(_ archive: inout [UInt8], header offset: Int) {
        for index in (offset + 148)..<(offset + 156) { archive[index] = 0x20 }
        let sum = archive[offset..<(offset + 512)].reduce(0) { $0 + Int($1) }
        let octal = Array(String(sum, radix: 8).utf8)
        let field = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - octal.count) + octal + [0, 0x20]
        archive.replaceSubrange((offset + 148)..<(offset + 156), with: field)
    }
}
