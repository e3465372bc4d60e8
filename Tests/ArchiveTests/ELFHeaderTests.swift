import Archive
import KilnCore
import Testing
import TestSupport

/// ELF headers read as ocipkg reads them: magic, class, data, version,
/// `e_machine` in the file's byte order, a plausible header size; anything
/// else is not ELF (never an error).
@Suite struct ELFHeaderTests {
    static func parse(_ bytes: [UInt8]) -> ELFHeader? {
        bytes.withUnsafeBytes { ELFHeader(UnsafeRawBufferPointer(rebasing: $0.prefix(ELFHeader.maximumSize))) }
    }

    @Test func readsHandMadeHeadersOfEveryClassAndByteOrder() throws {
        let cases: [([UInt8], ELFKind, String)] = [
            (ELFFixture.header(bits: 32, machine: ELFFixture.i386), ELFKind(machine: 3, wordSize: .bits32, byteOrder: .little), "Intel 80386 (32-bit LE)"),
            (ELFFixture.header(bits: 64, machine: ELFFixture.riscv), ELFKind(machine: 243, wordSize: .bits64, byteOrder: .little), "RISC-V (64-bit LE)"),
            (ELFFixture.header(bits: 64, bigEndian: true, machine: ELFFixture.s390), ELFKind(machine: 22, wordSize: .bits64, byteOrder: .big), "IBM S/390 (64-bit BE)"),
            (ELFFixture.header(bits: 32, bigEndian: true, type: 3, machine: 8), ELFKind(machine: 8, wordSize: .bits32, byteOrder: .big), "MIPS (32-bit BE)"),
            (ELFFixture.header(bits: 64, machine: 0x1234), ELFKind(machine: 0x1234, wordSize: .bits64, byteOrder: .little), "machine 0x1234 (64-bit LE)"),
        ]
        for (bytes, kind, description) in cases {
            let header = try #require(Self.parse(bytes))
            #expect(header.kind == kind)
            #expect(header.kind.description == description)
            #expect(header.isLoadable)
        }
        // e_machine is read in the header's byte order: 0x00F3 big-endian
        // is RISC-V, little-endian bytes 00 F3 would be 0xF300.
        let big = try #require(Self.parse(ELFFixture.header(bits: 64, bigEndian: true, machine: ELFFixture.riscv)))
        #expect(big.machine == 243 && big.kind.byteOrder == .big)
    }

    @Test func invalidHeadersAreNotELF() {
        let x86 = ELFFixture.header(bits: 64, machine: ELFFixture.x86_64)
        var badClass = x86; badClass[4] = 3
        var badData = x86; badData[5] = 0
        var magicOnly = Array("\u{7F}ELF and then some text that is long enough to hold a header, or so it seems.".utf8)
        magicOnly += [UInt8](repeating: 0x20, count: 64)
        let notELF: [[UInt8]] = [
            [],
            Array("#!/bin/sh\necho hello\n".utf8),
            [0x7F, 0x45, 0x4C, 0x46],                                         // magic alone
            Array(x86.prefix(40)),                                             // truncated
            Array(ELFFixture.header(bits: 32, machine: ELFFixture.i386).prefix(51)),
            badClass, badData,
            ELFFixture.header(bits: 64, machine: ELFFixture.x86_64, version: 2),
            ELFFixture.header(bits: 64, machine: ELFFixture.x86_64, fileVersion: 0),
            ELFFixture.header(bits: 64, machine: ELFFixture.x86_64, headerSize: 52),  // a 32-bit size in a 64-bit header
            ELFFixture.header(bits: 32, machine: ELFFixture.i386, headerSize: 0),
            magicOnly,
        ]
        for bytes in notELF { #expect(Self.parse(bytes) == nil, "\(bytes.prefix(8))") }
    }

    @Test func onlyExecutablesAndSharedObjectsAreRecorded() throws {
        var files = ELFFiles()
        for (path, type) in [("/a.o", UInt16(1)), ("/core", 4), ("/bin/app", 2), ("/lib/libx.so", 3), ("/bin/other", 2)] {
            ELFFixture.header(bits: 64, type: type, machine: ELFFixture.x86_64).withUnsafeBytes { files.record(path: path, firstBytes: $0) }
        }
        ELFFixture.header(bits: 64, machine: ELFFixture.aarch64).withUnsafeBytes { files.record(path: "/arm/app", firstBytes: $0) }
        #expect(files.groups == [
            ELFFiles.Group(kind: ELFKind(machine: 62, wordSize: .bits64, byteOrder: .little), path: "/bin/app", count: 3),
            ELFFiles.Group(kind: ELFKind(machine: 183, wordSize: .bits64, byteOrder: .little), path: "/arm/app", count: 1),
        ])
    }

    /// The layer writer records ELF files as it streams them — host files
    /// (the first read's bytes) and inline bytes — and nothing else.
    @Test func layerWriterRecordsTheELFFilesItStreams() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let arm = try temporary.write("arm", bytes: ELFFixture.header(bits: 64, machine: ELFFixture.aarch64, trailing: 300_000))
        let x86 = try temporary.write("x86", bytes: ELFFixture.header(bits: 64, machine: ELFFixture.x86_64, trailing: 10))
        let truncated = try temporary.write("truncated", bytes: Array(ELFFixture.header(bits: 64, machine: ELFFixture.riscv).prefix(30)))
        var tree = LayerTree()
        for (path, source) in [("usr/bin/b-arm", arm), ("usr/bin/a-x86", x86), ("usr/bin/c-x86", x86), ("usr/bin/short", truncated)] {
            let size = try Files.bytes(source).count
            try tree.insert(LayerEntry(path: path, kind: .regular(.file(path: source, size: Int64(size))), mode: 0o755))
        }
        try tree.insert(LayerEntry(path: "usr/lib/i386.so", kind: .regular(.bytes(ELFFixture.header(bits: 32, type: 3, machine: ELFFixture.i386))), mode: 0o644))
        try tree.insert(LayerEntry(path: "usr/bin/link", kind: .hardlink(target: "usr/bin/a-x86"), mode: 0o755))
        try tree.insert(LayerEntry(path: "etc/motd", kind: .regular(.bytes(Array("hello\n".utf8))), mode: 0o644))
        let writer = LayerWriter(compression: .gzip, modificationTime: Timestamp(secondsSinceEpoch: 0), workers: LayerWorkers(count: 1))
        let blob = try writer.write(tree, to: temporary.path + "/blob")
        #expect(blob.elfFiles.groups == [
            ELFFiles.Group(kind: ELFKind(machine: 3, wordSize: .bits32, byteOrder: .little), path: "/usr/lib/i386.so", count: 1),
            ELFFiles.Group(kind: ELFKind(machine: 62, wordSize: .bits64, byteOrder: .little), path: "/usr/bin/a-x86", count: 2),
            ELFFiles.Group(kind: ELFKind(machine: 183, wordSize: .bits64, byteOrder: .little), path: "/usr/bin/b-arm", count: 1),
        ])
    }
}
