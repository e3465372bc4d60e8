import Archive
import Foundation
import KilnCore
import Testing
import TestSupport

/// The opt-in gzip settings (a plan's `gzip:`): libdeflate blocks joined
/// into one member, other zlib levels; and the default's bytes, which they
/// must leave alone.
@Suite struct GzipEngineTests {
    /// 5 MiB: text, noise and zeros, so blocks are deflated and stored.
    static let input = EngineFixtures.mixedBytes(count: 5_000_000, seed: 3)
    static let libdeflate = GzipSettings(engine: .libdeflate, level: 6)

    /// A layer smaller than one block is what Python's `gzip.compress(data,
    /// 6, mtime=0)` writes, but for the OS byte: kiln writes 255, Python
    /// 3.11 (which hands the header to zlib when mtime is 0) writes 3.
    @Test(.requires(.tools("python3")))
    func smallLayerEqualsPythonsGzipCompress() throws {
        let text = EngineFixtures.mixedBytes(count: 250_000, seed: 9)
        let ours = try EngineFixtures.blob(text, compression: .gzip).blob
        let python = try Tools.output(["python3", "-c", """
            import gzip, sys
            sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 6, mtime=0))
            """], stdin: text)
        #expect(ours.count == python.count)
        #expect(ours[9] == 255 && [3, 255].contains(python[9]))
        #expect(Array(ours[..<9]) == Array(python[..<9]) && Array(ours[10...]) == Array(python[10...]))
    }

    @Test func libdeflateBytesDoNotDependOnWorkersOrWriteSizes() throws {
        let reference = try EngineFixtures.blob(Self.input, compression: .gzip, gzip: Self.libdeflate, workers: 1).blob
        #expect(try EngineFixtures.blob(Self.input, compression: .gzip, gzip: Self.libdeflate, workers: 2).blob == reference)
        #expect(try EngineFixtures.blob(Self.input, compression: .gzip, gzip: Self.libdeflate, workers: 7, chunk: 4099).blob == reference)
        // Other bytes than the default's, about as small.
        let standard = try EngineFixtures.blob(Self.input, compression: .gzip).blob
        #expect(reference != standard)
        #expect(Double(reference.count) < 1.01 * Double(standard.count))
    }

    /// One gzip member that every reader takes whole: Python's zlib (which
    /// would leave a second member as unused data), GNU gzip and pigz.
    @Test(.requires(.tools("python3", "gzip", "pigz")), arguments: [
        GzipSettings(engine: .libdeflate, level: 1), GzipSettings(engine: .libdeflate, level: 6),
        GzipSettings(engine: .libdeflate, level: 9), GzipSettings(engine: .zlib, level: 4),
    ])
    func everyReaderRestoresTheStreamFromOneMember(settings: GzipSettings) throws {
        let (digests, blob) = try EngineFixtures.blob(Self.input, compression: .gzip, gzip: settings)
        #expect(digests.diffID.description == (try Tools.sha256(Self.input)))
        let python = try Tools.output(["python3", "-c", """
            import sys, zlib, hashlib
            d = zlib.decompressobj(31)
            out = d.decompress(sys.stdin.buffer.read())
            assert d.eof and not d.unused_data, "not one member"
            sys.stdout.write(hashlib.sha256(out).hexdigest())
            """], stdin: blob)
        #expect("sha256:" + String(decoding: python, as: UTF8.self) == digests.diffID.description)
        _ = try Tools.output(["gzip", "-t"], stdin: blob)
        #expect(try Tools.output(["gzip", "-dc"], stdin: blob) == Self.input)
        #expect(try Tools.output(["pigz", "-dc"], stdin: blob) == Self.input)
        // The header is the default's but for XFL, which follows the level.
        #expect(Array(blob[..<10]) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, settings.level == 9 ? 2 : (settings.level < 2 ? 4 : 0), 255])
    }

    @Test(.requires(.tools("gzip")))
    func libdeflateEdgesOfTheBlockLayout() throws {
        // Empty, one byte, exactly one block, one block and a byte.
        for count in [0, 1, BlobWriter.blockSize, BlobWriter.blockSize + 1, 2 * BlobWriter.blockSize] {
            let bytes = EngineFixtures.mixedBytes(count: count, seed: 5)
            let blob = try EngineFixtures.blob(bytes, compression: .gzip, gzip: Self.libdeflate).blob
            #expect(try Tools.output(["gzip", "-dc"], stdin: blob) == bytes, "\(count) bytes")
        }
    }

    @Test func theCompressorIdentityNamesEngineVersionAndLevel() {
        #expect(LayerFormat.compressor(.gzip) == LayerFormat.compressor(.gzip, gzip: .standard))
        #expect(LayerFormat.compressor(.gzip).hasSuffix(", zlib " + LayerFormat.zlibVersion))
        let fast = LayerFormat.compressor(.gzip, gzip: GzipSettings(engine: .libdeflate, level: 4))
        #expect(fast.hasPrefix("gzip level 4,") && fast.hasSuffix(", libdeflate " + LayerFormat.libdeflateVersion))
        #expect(LayerFormat.compressor(.gzip, gzip: GzipSettings(engine: .zlib, level: 4)).hasPrefix("gzip level 4,"))
    }
}
