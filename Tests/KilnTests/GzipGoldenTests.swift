import Foundation
import Testing
import TestSupport

/// kiln's gzip blob against an independent writer of the same format:
/// `scripts/gzip-reference.py` re-implements docs/layers.md with Python's
/// zlib module (1 MiB blocks primed with the previous 32 KiB, sync flushes,
/// stored blocks by the documented rule, header and trailer) and must turn
/// kiln's `compression: none` blob of a tree into exactly the bytes of its
/// `compression: gzip` blob.
@Suite(.requires(.tools("python3"), .kilnBinary))
struct GzipGoldenTests {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("scripts/gzip-reference.py").path

    /// Lines of words from a small vocabulary: compressible, with matches
    /// that reach across 1 MiB cuts.
    static func text(_ count: Int, _ generator: inout SplitMix64) -> [UInt8] {
        let words = ["layer", "block", "deflate", "window", "dictionary", "stored", "kiln", "tar", "gzip",
                     "digest", "plan", "image", "zlib", "sync", "flush", "header", "trailer", "entry"]
        var result: [UInt8] = []
        result.reserveCapacity(count + 200)
        var line = 0
        while result.count < count {
            line += 1
            result.append(contentsOf: Array(String(line).utf8))
            for _ in 0..<(4 + generator.below(9)) {
                result.append(0x20)
                result.append(contentsOf: Array(words[generator.below(words.count)].utf8))
            }
            result.append(0x0A)
        }
        return Array(result.prefix(count))
    }

    /// About 8.5 MiB of tar, in stream order: text over the first cuts;
    /// noise covering whole blocks (stored); copies of one 24 KiB noise
    /// chunk, whose byte histogram is as flat as noise but which repeats
    /// (deflated: the rule's second test); text again up to a short last block.
    static func writeTree(in scratch: TemporaryDirectory) throws {
        var generator = SplitMix64(seed: 0x6B69_6C6E)
        try scratch.write("tree/a-text.txt", bytes: text(2_300_000, &generator))
        try scratch.write("tree/b-noise.bin", bytes: generator.bytes(3_000_000))
        let chunk = generator.bytes(24 * 1024)
        try scratch.write("tree/c-copies.bin", bytes: Array([[UInt8]](repeating: chunk, count: 84).joined()))
        try scratch.write("tree/d-text.txt", bytes: text(1_200_000, &generator))
        for compression in ["none", "gzip"] {
            try scratch.write("plan-\(compression).yaml", """
                kiln: 1
                name: example.com/golden/gzip
                created: "2024-01-01T00:00:00Z"
                compression: \(compression)
                layers:
                  - name: tree
                    type: files
                    files:
                      - { path: /data, source: tree }

                """)
        }
    }

    @Test func pythonZlibWritesKilnsGzipBlobByteForByte() throws {
        let scratch = try TemporaryDirectory(prefix: "kiln-gzip-golden")
        defer { scratch.remove() }
        try Self.writeTree(in: scratch)
        let plain = try Build.layout(["plan-none.yaml", "-o", "out-none"], in: scratch.path)
        let gzip = try Build.layout(["plan-gzip.yaml", "-o", "out-gzip"], in: scratch.path)
        let tar = try #require(plain.layerBlobs.first)
        #expect(plain.manifest.layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar")
        #expect(gzip.manifest.layers[0].mediaType == "application/vnd.oci.image.layer.v1.tar+gzip")
        // One layer, one tar: the uncompressed stream of the gzip build is
        // the none build's blob.
        #expect(gzip.config.rootfs.diff_ids == [plain.manifest.layers[0].digest])

        let reference = try Tools.execute(["python3", Self.script, tar])
        try #require(reference.succeeded, "gzip-reference.py failed: \(reference.stderr)")
        // The tree must reach every path of the format, or equal bytes
        // prove little: several blocks, whole noise blocks stored, and a
        // flat-but-repetitive one deflated.
        let summary = reference.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(summary.hasSuffix("; blocks deflated 7, stored 2, flat but repeating 2"), "\(summary)")
        let kilnVersion = try Tools.kiln(["--version"]).stdout
        let pythonZlib = String(summary.prefix { $0 != ";" })
        #expect(kilnVersion.contains(pythonZlib + ","), "Python runs \(pythonZlib), kiln says \(kilnVersion): another zlib may write other bytes")

        let expected = reference.output
        let actual = try Files.bytes(try #require(gzip.layerBlobs.first))
        // Not #expect(actual == expected): a failure would print 8 MB.
        let firstDifference = zip(expected, actual).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? (expected.count == actual.count ? nil : min(expected.count, actual.count))
        #expect(firstDifference == nil, "kiln's gzip blob (\(actual.count) bytes) and Python's (\(expected.count) bytes) differ from byte \(firstDifference ?? 0)")
    }
}
