import Foundation
import Archive
import KilnCore
import TestSupport

/// Helpers shared by the layer engine's tests (writer, compressors, host
/// trees, strategies).
enum EngineFixtures {
    /// Deterministic bytes with the mix a layer holds: source-like text,
    /// runs of zeros, and pseudo-random (incompressible) stretches, each
    /// longer than a gzip block so every block kind occurs.
    static func mixedBytes(count: Int, seed: UInt64 = 1) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var state = seed | 1
        let words = ["func", "let", "var", "return", "struct", "{", "}", "(", ")", "=", "layer", "kiln", "\n", "    "].map { Array($0.utf8) }
        var section = 0
        while bytes.count < count {
            let length = min(count - bytes.count, 300_000 + section * 7919)
            switch section % 3 {
            case 0:
                var produced = 0
                while produced < length {
                    state = next(state)
                    let word = words[Int(state % UInt64(words.count))]
                    let take = min(word.count + 1, length - produced)
                    bytes += (word + [0x20]).prefix(take)
                    produced += take
                }
            case 1:
                for _ in 0..<length {
                    state = next(state)
                    bytes.append(UInt8(truncatingIfNeeded: state >> 24))
                }
            default:
                bytes += [UInt8](repeating: 0, count: length)
            }
            section += 1
        }
        return bytes
    }

    /// xorshift64: a fixed, seedable sequence.
    static func next(_ state: UInt64) -> UInt64 {
        var x = state
        x ^= x << 13
        x ^= x >> 7
        x ^= x << 17
        return x
    }

    /// Compresses `bytes` through a ``BlobWriter``, in writes of `chunk`.
    static func blob(
        _ bytes: [UInt8], compression: Compression, gzip: GzipSettings = .standard, workers: Int = 2, chunk: Int = 100_000
    ) throws -> (digests: BlobDigests, blob: [UInt8]) {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let writer = try BlobWriter(path: directory + "/blob", compression: compression, gzip: gzip, workers: LayerWorkers(count: workers))
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let end = min(raw.count, offset + chunk)
                try writer.write(UnsafeRawBufferPointer(rebasing: raw[offset..<end]))
                offset = end
            }
        }
        let digests = try writer.finish()
        return (digests, try Files.bytes(directory + "/blob"))
    }
}
