import Archive
import CLibdeflate
import CZlib
import Foundation
import KilnCore
import Testing
import TestSupport

/// The block walker that turns a whole deflate stream (libdeflate's) into
/// a non-final piece, checked against zlib's inflate: a piece, then more
/// pieces, then a final stream must inflate to the inputs joined, on
/// random inputs and on streams built to reach every block kind and every
/// bit alignment of the final block's end.
@Suite struct DeflateBlockWalkerTests {
    /// A complete raw deflate stream from libdeflate.
    static func libdeflate(_ input: [UInt8], level: Int32) -> [UInt8] {
        let compressor = libdeflate_alloc_compressor(level)!
        defer { libdeflate_free_compressor(compressor) }
        var output = [UInt8](repeating: 0, count: libdeflate_deflate_compress_bound(compressor, input.count) + 8)
        let count = input.withUnsafeBytes { inBuffer in
            output.withUnsafeMutableBytes { libdeflate_deflate_compress(compressor, inBuffer.baseAddress, input.count, $0.baseAddress, $0.count) }
        }
        precondition(count > 0)
        return Array(output[..<count])
    }

    /// A complete raw deflate stream from zlib with `strategy`, calling
    /// `flush` after every `every` bytes: sync and full flushes leave empty
    /// stored blocks, partial flushes empty fixed blocks, Z_BLOCK unaligned
    /// block ends, level 0 stored blocks; Z_FINISH after a flush writes an
    /// empty final block.
    static func zlib(_ input: [UInt8], level: Int32, strategy: Int32 = Z_DEFAULT_STRATEGY, every: Int = .max, flush: Int32 = Z_NO_FLUSH) -> [UInt8] {
        var stream = z_stream()
        precondition(kiln_deflateInit2(&stream, level, Z_DEFLATED, -15, 8, strategy) == Z_OK)
        defer { deflateEnd(&stream) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var offset = 0
        func run(_ piece: ArraySlice<UInt8>, _ mode: Int32) {
            var piece = Array(piece)
            piece.withUnsafeMutableBufferPointer { inBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                repeat {
                    let produced = chunk.withUnsafeMutableBufferPointer { outBuffer -> Int in
                        stream.next_out = outBuffer.baseAddress
                        stream.avail_out = UInt32(outBuffer.count)
                        _ = deflate(&stream, mode)
                        return outBuffer.count - Int(stream.avail_out)
                    }
                    result += chunk[..<produced]
                } while stream.avail_out == 0 || stream.avail_in > 0
            }
        }
        while offset < input.count {
            let end = min(input.count, offset + min(every, input.count))
            run(input[offset..<end], end < input.count || every != .max ? flush : Z_NO_FLUSH)
            offset = end
        }
        run([], Z_FINISH)
        return result
    }

    /// zlib's inflate of a raw stream; nil unless it ends exactly at the
    /// stream's last byte.
    static func inflate(_ deflated: [UInt8]) -> [UInt8]? {
        var stream = z_stream()
        precondition(kiln_inflateInit2(&stream, -15) == Z_OK)
        defer { inflateEnd(&stream) }
        var input = deflated
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var status = Z_OK
        input.withUnsafeMutableBufferPointer { inBuffer in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            while status == Z_OK {
                let produced = chunk.withUnsafeMutableBufferPointer { outBuffer -> Int in
                    stream.next_out = outBuffer.baseAddress
                    stream.avail_out = UInt32(outBuffer.count)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return outBuffer.count - Int(stream.avail_out)
                }
                result += chunk[..<produced]
                if produced == 0, status == Z_OK { break }
            }
        }
        return status == Z_STREAM_END && stream.avail_in == 0 ? result : nil
    }

    static func nonFinal(_ stream: [UInt8], walker: DeflateBlockWalker) throws -> [UInt8] {
        var buffer = stream + [UInt8](repeating: 0xAA, count: 6)
        let count = try buffer.withUnsafeMutableBytes { try walker.makeNonFinal($0, count: stream.count) }
        return Array(buffer[..<count])
    }

    /// Inputs of every kind a layer holds, from a fixed generator.
    static func input(_ index: Int, _ generator: inout SplitMix64) -> [UInt8] {
        let length = [0, 1, 2, 3, 7, 100, 1000, 5000, 40_000, 70_000, 300_000][index % 11] + generator.below(64)
        switch index % 4 {
        case 0: return generator.bytes(length)
        case 1: return [UInt8](repeating: UInt8(index), count: length)
        case 2: return (0..<length).map { UInt8(truncatingIfNeeded: ($0 / 7) % 5 + 97) }
        default: return EngineFixtures.mixedBytes(count: length, seed: UInt64(index))
        }
    }

    @Test func libdeflatePiecesJoinIntoOneStreamZlibInflates() throws {
        let walker = try DeflateBlockWalker()
        var generator = SplitMix64(seed: 0x6c69_6264)
        var residues = Set<Int>()
        for index in 0..<120 {
            let level = Int32(1 + index % 12)
            let first = Self.input(index, &generator)
            let second = Self.input(index + 5, &generator)
            let third = Self.input(index + 7, &generator)
            let stream = Self.libdeflate(first, level: level)
            residues.insert(try stream.withUnsafeBytes { try walker.finalBlock(of: $0) }.end % 8)
            let joined = try Self.nonFinal(stream, walker: walker)
                + Self.nonFinal(Self.libdeflate(second, level: level), walker: walker)
                + Self.libdeflate(third, level: level)
            #expect(Self.inflate(joined) == first + second + third, "input \(index), level \(level)")
        }
        // The empty stored block's 3 header bits fit in the last byte's
        // padding or spill into a new byte: both happened.
        #expect(residues == Set(0..<8), "final block ends seen at bit residues \(residues.sorted())")
    }

    @Test(arguments: [
        (Int32(6), Z_DEFAULT_STRATEGY, Z_SYNC_FLUSH), (6, Z_DEFAULT_STRATEGY, Z_FULL_FLUSH), (6, Z_DEFAULT_STRATEGY, Z_PARTIAL_FLUSH),
        (6, Z_DEFAULT_STRATEGY, Z_BLOCK), (1, Z_FIXED, Z_BLOCK), (9, Z_HUFFMAN_ONLY, Z_PARTIAL_FLUSH), (6, Z_RLE, Z_SYNC_FLUSH),
        (0, Z_DEFAULT_STRATEGY, Z_NO_FLUSH), (0, Z_DEFAULT_STRATEGY, Z_BLOCK), (6, Z_FIXED, Z_NO_FLUSH),
    ] as [(Int32, Int32, Int32)])
    func zlibStreamsOfEveryBlockKindJoin(level: Int32, strategy: Int32, flush: Int32) throws {
        let walker = try DeflateBlockWalker()
        var generator = SplitMix64(seed: UInt64(level) << 16 | UInt64(strategy) << 8 | UInt64(flush))
        for index in 0..<24 {
            let first = Self.input(index, &generator)
            let every = 1 + generator.below(20_000)
            let stream = Self.zlib(first, level: level, strategy: strategy, every: every, flush: flush)
            let tail = Array("the end".utf8)
            let joined = try Self.nonFinal(stream, walker: walker) + Self.zlib(tail, level: 6)
            #expect(Self.inflate(joined) == first + tail, "input \(index) flushed every \(every)")
        }
    }

    @Test func streamsThatAreNotWholeAreRefused() throws {
        let walker = try DeflateBlockWalker()
        var generator = SplitMix64(seed: 7)
        let stream = Self.libdeflate(EngineFixtures.mixedBytes(count: 50_000), level: 6)
        let cases: [(String, [UInt8])] = [
            ("truncated", Array(stream.dropLast(3))),
            ("trailing bytes", stream + [0, 0]),
            ("reserved block type", [0x07, 0, 0]),
            ("stored length mismatch", [0x01, 5, 0, 5, 0, 1, 2, 3, 4, 5]),
            ("empty", []),
            ("noise", generator.bytes(4096)),
        ]
        for (name, bytes) in cases {
            #expect(throws: LayerWriteError.self, "\(name)") {
                var buffer = bytes + [UInt8](repeating: 0, count: 6)
                _ = try buffer.withUnsafeMutableBytes { try walker.makeNonFinal($0, count: bytes.count) }
            }
        }
    }
}
