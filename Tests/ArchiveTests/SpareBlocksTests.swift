import Archive
import KilnCore
import Testing
import TestSupport

/// Layers written one after another on one ``LayerWorkers`` reuse the
/// blocks and buffers of the layers before them: what is kept does not grow
/// with the number of layers, and the bytes are those of a layer written
/// on workers of its own.
@Suite struct SpareBlocksTests {
    static let created = Timestamp(secondsSinceEpoch: 1_704_067_200)

    /// Writes `layers` layers of 2.5 MiB (three blocks each) on one writer;
    /// returns what the workers kept after each layer.
    func writeLayers(
        _ layers: Int, compression: Compression, gzip: [GzipSettings] = [.standard], in directory: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> [(blocks: Int, buffers: Int, zstdContexts: Int)] {
        let workers = LayerWorkers(count: 2)
        var kept: [(blocks: Int, buffers: Int, zstdContexts: Int)] = []
        for index in 0..<layers {
            let bytes = EngineFixtures.mixedBytes(count: 2_600_000, seed: UInt64(index + 1))
            try Files.write(bytes, to: directory + "/content\(index)")
            var tree = LayerTree()
            try tree.insert(LayerEntry(path: "data/\(index)", kind: .regular(.file(path: directory + "/content\(index)", size: Int64(bytes.count))), mode: 0o644))
            let settings = gzip[index % gzip.count]
            let shared = LayerWriter(compression: compression, gzip: settings, modificationTime: Self.created, workers: workers)
            _ = try shared.write(tree, to: directory + "/shared\(index)")
            kept.append(workers.spareCounts)
            let alone = LayerWriter(compression: compression, gzip: settings, modificationTime: Self.created, workers: LayerWorkers(count: 2))
            _ = try alone.write(tree, to: directory + "/alone\(index)")
            #expect(try Files.bytes(directory + "/shared\(index)") == (try Files.bytes(directory + "/alone\(index)")), "layer \(index)", sourceLocation: sourceLocation)
        }
        return kept
    }

    @Test func gzipBlocksAreReusedByTheNextLayer() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let kept = try writeLayers(8, compression: .gzip, in: temporaryDirectory.path)
        // A layer of three blocks uses at most three (fewer when a block is
        // done before the next is filled); the next layers take them again.
        // Plus the tar writer's read buffer.
        #expect(kept.allSatisfy { (1...3).contains($0.blocks) && $0.buffers == 1 })
    }

    @Test func blocksOfAnotherEngineAreNotTaken() throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let kept = try writeLayers(6, compression: .gzip, gzip: [.standard, GzipSettings(engine: .libdeflate, level: 6)], in: temporaryDirectory.path)
        // Each engine's layers keep their own blocks; neither set grows
        // past the three blocks of a layer.
        #expect(kept[1].blocks > kept[0].blocks)
        #expect(kept.allSatisfy { $0.blocks <= 6 })
    }

    /// `none` writes through two block buffers, zstd fills one; both read
    /// files through the tar writer's.
    @Test(arguments: [(Compression.none, 3), (.zstd, 2)])
    func blockBuffersAreReusedByTheNextLayer(compression: Compression, buffers: Int) throws {
        let temporaryDirectory = try TemporaryDirectory()
        defer { temporaryDirectory.remove() }
        let kept = try writeLayers(6, compression: compression, in: temporaryDirectory.path)
        #expect(kept.allSatisfy { $0.blocks == 0 && $0.buffers == buffers })
        // One zstd context (and its workers' buffers) serves every layer.
        #expect(kept.allSatisfy { $0.zstdContexts == (compression == .zstd ? 1 : 0) })
    }
}
