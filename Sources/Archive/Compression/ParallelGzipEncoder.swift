import KilnCore
internal import CZlib

/// gzip over zlib, compressed in parallel and identical byte for byte
/// whatever the number of threads.
///
/// The stream is cut at fixed uncompressed offsets (``blockSize``); each
/// block is compressed on its own as raw deflate, primed with the 32 KiB
/// before it as dictionary and ended with a sync flush (the last one with
/// `Z_FINISH`), and the pieces are concatenated in order: one valid deflate
/// stream, as pigz builds it. A block that looks incompressible is stored
/// instead (see ``GzipBlock/looksIncompressible(_:)``). The gzip member
/// header (no name, mtime 0, OS 255) and the CRC-32/ISIZE trailer are
/// written here; block CRCs are combined with `crc32_combine`.
///
/// At most `maxInFlight` blocks are queued or being compressed at once, so
/// memory stays bounded whatever the layer size. Blocks are jobs of the
/// build's ``WorkerPool``; the producer (often a pool job itself) never
/// sleeps on a block no thread has started: it compresses such a block
/// itself (``PoolJob/wait()``), so a pool whose every thread is writing a
/// layer still makes progress.
final class ParallelGzipEncoder: BlockEncoder {
    /// Uncompressed bytes per block: part of kiln's layer format (changing
    /// it changes every gzip blob).
    static let blockSize = 1024 * 1024

    private let output: BlobOutput
    /// Kept alive while blocks are queued on its threads.
    private let workers: LayerWorkers
    private let settings: GzipSettings
    private let maxInFlight: Int
    private var current: GzipBlock
    /// Blocks handed to the pool, in stream order, with their jobs.
    private var inFlight: [(block: GzipBlock, job: PoolJob)] = []
    private var spare: [GzipBlock] = []
    /// The last 32 KiB of the stream so far: the next block's dictionary.
    private let window: UnsafeMutableRawBufferPointer
    private var windowCount = 0
    private var crc: UInt = 0
    private var totalIn: UInt64 = 0
    /// `crc32_combine_gen(blockSize)`: combining a full block's CRC costs a
    /// multiplication instead of a log-time computation.
    private let fullBlockOperator: UInt

    /// Writes the gzip header at once.
    init(output: BlobOutput, workers: LayerWorkers, settings: GzipSettings = .standard) throws(LayerWriteError) {
        self.output = output
        self.workers = workers
        self.settings = settings
        maxInFlight = Self.maxInFlight(workers: workers.count)
        current = workers.spare.takeBlock(settings: settings) ?? GzipBlock(capacity: Self.blockSize, settings: settings)
        window = .allocate(byteCount: GzipBlock.windowSize, alignment: 64)
        fullBlockOperator = crc32_combine_gen(off_t(Self.blockSize))
        try output.write(Self.header(level: Int32(settings.level)))
    }

    deinit {
        window.deallocate()
        // Blocks still in flight (after a failure) stay with their jobs.
        for block in spare { workers.spare.give(block) }
        if !inFlight.contains(where: { $0.block === current }) && !spare.contains(where: { $0 === current }) {
            workers.spare.give(current)
        }
    }

    /// The most blocks one layer has queued or being compressed at once
    /// with `workers` threads.
    static func maxInFlight(workers: Int) -> Int {
        min(2 * workers + 2, 16)
    }

    /// The 10-byte gzip member header zlib writes through `deflateSetHeader`
    /// with a zeroed `gz_header` and `os = 255`: magic, deflate, no flags,
    /// mtime 0, XFL as zlib sets it for the level (2 for 9, 4 for 0 and 1),
    /// OS 255 ("unknown", so the host does not show).
    static func header(level: Int32) -> [UInt8] {
        let extraFlags: UInt8 = level == 9 ? 2 : (level < 2 ? 4 : 0)
        return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extraFlags, 255]
    }

    func inputBuffer() -> UnsafeMutableRawBufferPointer { current.input }

    func submit(count: Int, last: Bool) throws(LayerWriteError) {
        let block = current
        block.count = count
        block.last = last
        block.error = nil
        // libdeflate takes no dictionary: its blocks stand alone.
        block.dictionaryCount = settings.engine == .zlib ? windowCount : 0
        if block.dictionaryCount > 0 {
            block.dictionary.copyMemory(from: UnsafeRawBufferPointer(rebasing: window[..<windowCount]))
        }
        if !last {
            precondition(count == Self.blockSize, "only the last gzip block may be short")
            window.copyMemory(from: UnsafeRawBufferPointer(rebasing: block.input[(count - GzipBlock.windowSize)..<count]))
            windowCount = GzipBlock.windowSize
        }
        inFlight.append((block, workers.pool.submit(urgent: true) { block.run() }))
        if last {
            try drain(keeping: 0)
            try writeTrailer()
        } else {
            try drain(keeping: maxInFlight - 1)
            current = spare.popLast() ?? workers.spare.takeBlock(settings: settings) ?? GzipBlock(capacity: Self.blockSize, settings: settings)
        }
    }

    /// Writes finished blocks in order; waits while more than `keeping`
    /// blocks are in flight. While the oldest block is compressed on
    /// another thread, this one compresses later blocks no thread has
    /// started rather than sleep.
    private func drain(keeping limit: Int) throws(LayerWriteError) {
        while let (head, job) = inFlight.first {
            if inFlight.count > limit {
                if !job.runIfQueued() {
                    while !job.isFinished, inFlight.dropFirst().contains(where: { $0.job.runIfQueued() }) {}
                    job.wait()
                }
            } else if !job.isFinished {
                return
            }
            inFlight.removeFirst()
            if let error = head.error { throw error }
            try output.write(UnsafeRawBufferPointer(rebasing: head.output[..<head.outputCount]))
            if head.count == Self.blockSize {
                crc = crc32_combine_op(crc, head.crc, fullBlockOperator)
            } else {
                crc = crc32_combine(crc, head.crc, off_t(head.count))
            }
            totalIn += UInt64(head.count)
            spare.append(head)
        }
    }

    /// CRC-32 and the length modulo 2³², both little-endian.
    private func writeTrailer() throws(LayerWriteError) {
        var trailer = [UInt8](repeating: 0, count: 8)
        let size = UInt32(truncatingIfNeeded: totalIn)
        for index in 0..<4 {
            trailer[index] = UInt8(truncatingIfNeeded: crc >> (8 * index))
            trailer[4 + index] = UInt8(truncatingIfNeeded: size >> (8 * index))
        }
        try output.write(trailer)
    }
}
