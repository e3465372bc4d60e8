import Foundation
import Archive
import KilnCore
import Testing
import TestSupport

@Suite struct DecompressorTests {
    /// 300 KB: compressible text, then bytes from a fixed generator that no
    /// codec can shrink, so windows and buffers wrap several times.
    static let sample: [UInt8] = {
        var bytes: [UInt8] = []
        for line in 0..<4000 { bytes += Array("line \(line) of the sample\n".utf8) }
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        for _ in 0..<200_000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            bytes.append(UInt8(truncatingIfNeeded: state >> 33))
        }
        return bytes
    }()

    /// The command-line compressor for each format.
    static let tools: [DecompressionFormat: String] = [.gzip: "gzip", .zstd: "zstd", .xz: "xz"]

    @Test(.requires(.tools("gzip", "zstd", "xz")), arguments: [DecompressionFormat.gzip, .zstd, .xz])
    func readsWhatTheCommandLineToolWrites(format: DecompressionFormat) throws {
        let compressed = try ReaderFixtures.compress(Self.sample, with: Self.tools[format]!)
        #expect(DecompressionFormat.detect(leadingBytes: compressed) == format)
        let source = try Decompressor(format: format, source: MemoryByteSource(compressed))
        #expect(try ReaderFixtures.drain(source, chunk: 4096) == Self.sample)
        // Tiny output chunks exercise the codecs' pending-output paths.
        let again = try Decompressor(format: format, source: MemoryByteSource(compressed))
        #expect(try ReaderFixtures.drain(again, chunk: 7) == Self.sample)
    }

    @Test(.requires(.tools("gzip", "zstd", "xz")), arguments: [DecompressionFormat.gzip, .zstd, .xz])
    func readsConcatenatedMembersAsOneStream(format: DecompressionFormat) throws {
        let first = Array(Self.sample[..<1000])
        let second = Array(Self.sample[1000...])
        let compressed = try ReaderFixtures.compress(first, with: Self.tools[format]!)
            + ReaderFixtures.compress(second, with: Self.tools[format]!)
        // The tool itself must agree that the concatenation is one stream.
        #expect(try ReaderFixtures.decompress(compressed, with: Self.tools[format]!) == Self.sample)
        #expect(try Decompressor.decompress(compressed, format: format) == Self.sample)
    }

    @Test(.requires(.tools("gzip", "zstd", "xz")), arguments: [DecompressionFormat.gzip, .zstd, .xz])
    func readsAnEmptyPayload(format: DecompressionFormat) throws {
        let compressed = try ReaderFixtures.compress([], with: Self.tools[format]!)
        #expect(try Decompressor.decompress(compressed, format: format) == [])
    }

    @Test(.requires(.tools("gzip", "zstd", "xz")), arguments: [DecompressionFormat.gzip, .zstd, .xz])
    func detectsTheFormatFromTheFirstBytes(format: DecompressionFormat) throws {
        let compressed = try ReaderFixtures.compress(Self.sample, with: Self.tools[format]!)
        let source = try Decompressor(detectingFormatOf: MemoryByteSource(compressed))
        #expect(source.format == format)
        #expect(try source.readAll(limit: 1 << 20) == Self.sample)
    }

    @Test func passesUnknownBytesThroughWhenDetecting() throws {
        let plain = Array("plain text, no magic".utf8)
        let source = try Decompressor(detectingFormatOf: MemoryByteSource(plain))
        #expect(source.format == DecompressionFormat.none)
        #expect(try source.readAll(limit: 100) == plain)
        let short = try Decompressor(detectingFormatOf: MemoryByteSource([1, 2]))
        #expect(try short.readAll(limit: 100) == [1, 2])
        #expect(try Decompressor.decompress(plain, format: .none) == plain)
    }

    @Test(.requires(.tools("gzip", "zstd", "xz")), arguments: [(DecompressionFormat.gzip, "member"), (.zstd, "frame"), (.xz, "stream")])
    func reportsTruncatedInputWithItsLength(format: DecompressionFormat, unit: String) throws {
        let compressed = try ReaderFixtures.compress(Self.sample, with: Self.tools[format]!)
        let cut = Array(compressed[..<(compressed.count / 2)])
        // The tool agrees the input is broken.
        #expect(throws: (any Error).self) { try ReaderFixtures.decompress(cut, with: Self.tools[format]!) }
        let error = try #require(throws: DecompressionError.self) { try Decompressor.decompress(cut, format: format) }
        #expect(error.description == "\(format) data is truncated: the input ends after \(cut.count) bytes, inside a compressed \(unit)")
    }

    @Test(arguments: [DecompressionFormat.gzip, .zstd, .xz])
    func reportsEmptyInputAsTruncated(format: DecompressionFormat) throws {
        let error = try #require(throws: DecompressionError.self) { try Decompressor.decompress([], format: format) }
        #expect(error.reason == .truncated)
        #expect(error.offset == 0)
    }

    @Test(.requires(.tools("gzip")))
    func reportsGzipTrailingGarbageAtItsOffset() throws {
        let compressed = try ReaderFixtures.compress(Array("hello\n".utf8), with: "gzip")
        let error = try #require(throws: DecompressionError.self) {
            try Decompressor.decompress(compressed + Array("garbage".utf8), format: .gzip)
        }
        #expect(error.description == "gzip data has trailing bytes at compressed byte \(compressed.count) that do not start another member")
    }

    @Test func reportsCorruptGzipWithZlibsReason() throws {
        // Magic, then compression method 9: zlib knows only 8 (deflate). It
        // reads the method and flag bytes as one 16-bit unit, so 4 bytes are
        // consumed when it refuses.
        let bytes: [UInt8] = [0x1f, 0x8b, 0x09, 0x00, 0, 0, 0, 0, 0, 0xff, 0x03, 0x00]
        let error = try #require(throws: DecompressionError.self) { try Decompressor.decompress(bytes, format: .gzip) }
        #expect(error.description == "gzip data is corrupt at compressed byte 4: unknown compression method")
    }

    @Test(.requires(.tools("gzip")))
    func reportsCorruptDeflateData() throws {
        var compressed = try ReaderFixtures.compress(Self.sample, with: "gzip")
        // Block type 3 is reserved: set both type bits of the first block header
        // (bits 1-2 of the byte after the 10-byte header).
        compressed[10] |= 0b110
        let error = try #require(throws: DecompressionError.self) { try Decompressor.decompress(compressed, format: .gzip) }
        #expect(error.description == "gzip data is corrupt at compressed byte 11: invalid block type")
    }

    @Test func reportsCorruptZstdWithLibzstdsReason() throws {
        // Frame header descriptor 0xff sets the reserved bit; libzstd rejects
        // the header before it counts any input as consumed.
        let bytes: [UInt8] = [0x28, 0xb5, 0x2f, 0xfd] + Array(repeating: 0xff, count: 16)
        let error = try #require(throws: DecompressionError.self) { try Decompressor.decompress(bytes, format: .zstd) }
        #expect(error.description == "zstd data is corrupt at compressed byte 0: Unsupported frame parameter")
    }

    @Test func reportsInputThatIsNotXz() throws {
        // liblzma reads the whole 12-byte stream header before judging it.
        let error = try #require(throws: DecompressionError.self) {
            try Decompressor.decompress(Array("definitely not xz data".utf8), format: .xz)
        }
        #expect(error.description == "xz data is corrupt at compressed byte 12: not in the xz format")
    }

    @Test(.requires(.tools("xz")))
    func reportsCorruptXzPayload() throws {
        var compressed = try ReaderFixtures.compress(Self.sample, with: "xz")
        for index in stride(from: 100, to: 200, by: 1) { compressed[index] ^= 0x5a }
        let error = try #require(throws: DecompressionError.self) { try Decompressor.decompress(compressed, format: .xz) }
        #expect(error.reason == .corrupt("compressed data is corrupt"))
    }

    @Test(.requires(.tools("gzip")))
    func limitsInMemoryOutput() throws {
        let compressed = try ReaderFixtures.compress(Self.sample, with: "gzip")
        let error = try #require(throws: ByteSourceError.self) { try Decompressor.decompress(compressed, format: .gzip, limit: 1000) }
        #expect(error.description == "input is larger than the 1000 bytes expected")
    }

    @Test(.requires(.tools("zstd")))
    func streamsFromAFile() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let path = directory + "/sample.zst"
        try Data(ReaderFixtures.compress(Self.sample, with: "zstd")).write(to: URL(fileURLWithPath: path))
        let source = try Decompressor(format: .zstd, source: FileByteSource(path: path))
        #expect(try ReaderFixtures.drain(source, chunk: 100_000) == Self.sample)
    }

    @Test func reportsAMissingFile() throws {
        let error = try #require(throws: ByteSourceError.self) { try FileByteSource(path: "/nonexistent/kiln-test") }
        #expect(error.description == "cannot open /nonexistent/kiln-test: No such file or directory")
    }
}
