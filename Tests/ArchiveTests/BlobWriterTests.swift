import CZlib
import Foundation
import Archive
import KilnCore
import Testing
import TestSupport

@Suite struct GzipBlobTests {
    static let input = EngineFixtures.mixedBytes(count: 3_000_000)

    @Test func headerEqualsWhatZlibWritesWithDeflateSetHeader() throws {
        // zlib's own gzip member for the same settings: level 6, a gz_header
        // with time 0, no name, os 255.
        var stream = z_stream()
        #expect(kiln_deflateInit2(&stream, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) == Z_OK)
        var header = gz_header()
        header.time = 0
        header.os = 255
        #expect(deflateSetHeader(&stream, &header) == Z_OK)
        var input: [UInt8] = Array("kiln".utf8)
        var output = [UInt8](repeating: 0, count: 256)
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = UInt32(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = UInt32(outBuffer.count)
                let status = deflate(&stream, Z_FINISH)
                deflateEnd(&stream)
                return status == Z_STREAM_END ? outBuffer.count - Int(stream.avail_out) : -1
            }
        }
        let zlibMember = Array(output[..<produced])
        let ours = try EngineFixtures.blob(Array("kiln".utf8), compression: .gzip).blob
        #expect(Array(ours.prefix(10)) == Array(zlibMember.prefix(10)))
        #expect(Array(ours.prefix(10)) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255])
        // A stream of one block is compressed in one call: the whole member
        // is zlib's, byte for byte.
        #expect(ours == zlibMember)
    }

    @Test func singleBlockOfTextEqualsZlibsOwnMember() throws {
        let text = Array(EngineFixtures.mixedBytes(count: 200_000))
        let ours = try EngineFixtures.blob(text, compression: .gzip).blob
        let python = try Tools.output(["python3", "-c", """
            import sys, zlib
            c = zlib.compressobj(6, zlib.DEFLATED, 31)
            data = sys.stdin.buffer.read()
            out = c.compress(data) + c.flush()
            # Python's gzip wrapper writes OS 3 (unix); kiln writes 255.
            sys.stdout.buffer.write(out[:9] + b'\\xff' + out[10:])
            """], stdin: text)
        #expect(ours == python)
    }

    @Test(.requires(.tools("gzip")))
    func gzipToolAcceptsAndRestoresTheStream() throws {
        let (digests, blob) = try EngineFixtures.blob(Self.input, compression: .gzip)
        _ = try Tools.output(["gzip", "-t"], stdin: blob)
        #expect(try Tools.output(["gzip", "-dc"], stdin: blob) == Self.input)
        #expect(digests.diffID.description == (try Tools.sha256(Self.input)))
        #expect(digests.digest.description == (try Tools.sha256(blob)))
        #expect(digests.size == Int64(blob.count))
        #expect(digests.uncompressedSize == Int64(Self.input.count))
        // Compressible sections shrank; the pseudo-random third did not.
        #expect(blob.count < Self.input.count / 2)
    }

    @Test(.requires(.tools("python3")))
    func pythonZlibRestoresTheStreamAndChecksTheTrailer() throws {
        let blob = try EngineFixtures.blob(Self.input, compression: .gzip).blob
        let digest = try Tools.output(["python3", "-c", """
            import sys, zlib, hashlib
            d = zlib.decompressobj(31)
            out = d.decompress(sys.stdin.buffer.read())
            assert d.eof and not d.unused_data
            sys.stdout.write(hashlib.sha256(out).hexdigest())
            """], stdin: blob)
        #expect("sha256:" + String(decoding: digest, as: UTF8.self) == (try Tools.sha256(Self.input)))
    }

    @Test func sameBytesWhateverTheWorkerCountOrWriteSizes() throws {
        let reference = try EngineFixtures.blob(Self.input, compression: .gzip, workers: 1).blob
        #expect(try EngineFixtures.blob(Self.input, compression: .gzip, workers: 2).blob == reference)
        #expect(try EngineFixtures.blob(Self.input, compression: .gzip, workers: 8).blob == reference)
        #expect(try EngineFixtures.blob(Self.input, compression: .gzip, workers: 3, chunk: 4099).blob == reference)
    }

    @Test func incompressibleBlocksAreStored() throws {
        var state: UInt64 = 99
        let random = (0..<(4 * BlobWriter.blockSize)).map { _ in
            state = EngineFixtures.next(state)
            return UInt8(truncatingIfNeeded: state >> 24)
        }
        let blob = try EngineFixtures.blob(random, compression: .gzip).blob
        // Each block is stored in pieces of at most 65535 bytes, each with a
        // 5-byte header: gzip header 10 + 4 × (block + 5 × pieces) + trailer 8.
        let pieces = (BlobWriter.blockSize + 65534) / 65535
        #expect(blob.count == 10 + 4 * (BlobWriter.blockSize + 5 * pieces) + 8)
        #expect(Array(blob[10..<15]) == [0, 0xff, 0xff, 0, 0])
        #expect(try Tools.output(["gzip", "-dc"], stdin: blob) == random)
    }

    @Test func emptyStreamIsAValidMember() throws {
        let blob = try EngineFixtures.blob([], compression: .gzip).blob
        #expect(blob == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(try Tools.output(["gzip", "-dc"], stdin: blob).isEmpty)
    }
}

@Suite struct ZstdBlobTests {
    /// Larger than two zstd jobs (4 MiB each), so the multithreaded split
    /// is exercised.
    static let input = EngineFixtures.mixedBytes(count: 10_000_000, seed: 7)

    @Test(.requires(.tools("zstd")))
    func zstdToolAcceptsAndRestoresTheStream() throws {
        let (digests, blob) = try EngineFixtures.blob(Self.input, compression: .zstd)
        _ = try Tools.output(["zstd", "-q", "-t"], stdin: blob)
        #expect(try Tools.output(["zstd", "-q", "-dc"], stdin: blob) == Self.input)
        #expect(digests.diffID.description == (try Tools.sha256(Self.input)))
        #expect(digests.digest.description == (try Tools.sha256(blob)))
        #expect(digests.size == Int64(blob.count))
        #expect(Array(blob.prefix(4)) == [0x28, 0xb5, 0x2f, 0xfd])
    }

    @Test func sameBytesWhateverTheWorkerCount() throws {
        let reference = try EngineFixtures.blob(Self.input, compression: .zstd, workers: 1).blob
        #expect(try EngineFixtures.blob(Self.input, compression: .zstd, workers: 2).blob == reference)
        #expect(try EngineFixtures.blob(Self.input, compression: .zstd, workers: 8, chunk: 65_537).blob == reference)
    }

    @Test(.requires(.tools("zstd")))
    func smallStreamsRoundTrip() throws {
        for size in [0, 1, 1000, BlobWriter.blockSize, BlobWriter.blockSize + 1] {
            let bytes = EngineFixtures.mixedBytes(count: size, seed: 3)
            let blob = try EngineFixtures.blob(bytes, compression: .zstd).blob
            #expect(try Tools.output(["zstd", "-q", "-dc"], stdin: blob) == bytes)
        }
    }
}

@Suite struct PlainBlobTests {
    @Test func blobIsTheStreamAndBothDigestsAgree() throws {
        let bytes = EngineFixtures.mixedBytes(count: 700_000)
        let (digests, blob) = try EngineFixtures.blob(bytes, compression: .none, chunk: 3333)
        #expect(blob == bytes)
        #expect(digests.diffID == digests.digest)
        #expect(digests.digest.description == (try Tools.sha256(bytes)))
        #expect(digests.size == 700_000 && digests.uncompressedSize == 700_000)
    }
}

@Suite struct BlobWriterErrorTests {
    @Test func blobInMissingDirectoryCannotBeCreated() throws {
        let error = try #require(throws: LayerWriteError.self) {
            _ = try BlobWriter(path: "/nonexistent/kiln/blob", compression: .gzip, workers: LayerWorkers(count: 1))
        }
        #expect(error.description == "cannot create layer blob /nonexistent/kiln/blob: No such file or directory")
    }

    @Test(arguments: Compression.allCases)
    func fullDiskIsReportedWithThePath(compression: Compression) throws {
        // /dev/full fails every write with ENOSPC, like a full file system.
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let path = directory + "/blob"
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/full")
        let error = try #require(throws: LayerWriteError.self) {
            let writer = try BlobWriter(path: path, compression: compression, workers: LayerWorkers(count: 2))
            try EngineFixtures.mixedBytes(count: 2_000_000).withUnsafeBytes { try writer.write($0) }
            _ = try writer.finish()
        }
        #expect(error.description == "cannot write layer blob \(path): No space left on device")
    }

    @Test func cancelledWriterStopsAtTheNextBlock() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let flag = CancellationFlag()
        let writer = try BlobWriter(path: directory + "/blob", compression: .gzip, workers: LayerWorkers(count: 1), cancellation: flag)
        try [UInt8](repeating: 1, count: 1000).withUnsafeBytes { try writer.write($0) }
        flag.cancel()
        let error = try #require(throws: LayerWriteError.self) { _ = try writer.finish() }
        #expect(error == .cancelled)
        #expect(error.description == "layer writing was cancelled (another layer failed or the build was interrupted)")
    }

    @Test func progressReportsEveryBlockUpToTheTotal() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let seen = ProgressLog()
        let writer = try BlobWriter(path: directory + "/blob", compression: .gzip, workers: LayerWorkers(count: 1)) { seen.append($0) }
        try [UInt8](repeating: 1, count: 3 * BlobWriter.blockSize + 10).withUnsafeBytes { try writer.write($0) }
        _ = try writer.finish()
        let block = Int64(BlobWriter.blockSize)
        #expect(seen.values == [block, 2 * block, 3 * block, 3 * block + 10])
    }
}

/// Collects progress values from the writing thread.
final class ProgressLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Int64] = []
    func append(_ value: Int64) { lock.withLock { stored.append(value) } }
    var values: [Int64] { lock.withLock { stored } }
}
