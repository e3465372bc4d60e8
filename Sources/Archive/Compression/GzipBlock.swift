import KilnCore
internal import CZlib

/// One fixed-size piece of a layer's tar stream and its compressed form:
/// the unit of parallel gzip compression.
///
/// The producer fills `input` and the 32 KiB `dictionary` that precedes it,
/// a pool thread runs ``run()``, and the producer reads the result after
/// its ``PoolJob`` has finished. Buffers are allocated once and the block
/// is reused for later pieces.
final class GzipBlock: @unchecked Sendable {
    // @unchecked: the buffers and fields are touched by one thread at a
    // time — the producer until the block's job is submitted, the job's
    // thread while it runs, the producer again once the job has finished —
    // and the job's lock orders those accesses (see PoolJob.wait()).
    let input: UnsafeMutableRawBufferPointer
    let dictionary: UnsafeMutableRawBufferPointer
    let output: UnsafeMutableRawBufferPointer
    /// The engine and level ``run()`` compresses with.
    let settings: GzipSettings
    private var stream: DeflateStream?
    private var libdeflate: LibdeflateStream?

    // Set by the producer before the block is queued.
    var count = 0
    var dictionaryCount = 0
    var last = false
    // Set by the worker.
    var outputCount = 0
    var crc: UInt = 0
    var error: LayerWriteError?

    init(capacity: Int, settings: GzipSettings) {
        input = .allocate(byteCount: capacity, alignment: 64)
        dictionary = .allocate(byteCount: GzipBlock.windowSize, alignment: 64)
        output = .allocate(byteCount: GzipBlock.outputCapacity(for: capacity), alignment: 64)
        self.settings = settings
    }

    deinit {
        input.deallocate()
        dictionary.deallocate()
        output.deallocate()
    }

    /// Deflate's window: the most a match can reach back.
    static let windowSize = 32 * 1024

    /// Room for the worst case of both paths: deflate's bound
    /// (n + n/4096 + n/16384 + 13, plus the 5-byte sync marker) and stored
    /// blocks (5 bytes per 65535), with margin.
    static func outputCapacity(for capacity: Int) -> Int {
        capacity + capacity / 64 + 1024
    }

    /// Compresses the block; errors are kept for the producer.
    func run() {
        let data = UnsafeRawBufferPointer(rebasing: input[..<count])
        crc = data.isEmpty ? 0 : CZlib.crc32(0, data.baseAddress!.assumingMemoryBound(to: Bytef.self), UInt32(count))
        if GzipBlock.looksIncompressible(data) {
            outputCount = GzipBlock.store(data, into: output, last: last)
            return
        }
        do {
            switch settings.engine {
            case .zlib:
                if stream == nil { stream = try DeflateStream(level: Int32(settings.level)) }
                outputCount = try stream!.compress(
                    data, dictionary: UnsafeRawBufferPointer(rebasing: dictionary[..<dictionaryCount]),
                    into: output, last: last)
            case .libdeflate:
                if libdeflate == nil { libdeflate = try LibdeflateStream(level: Int32(settings.level)) }
                outputCount = try libdeflate!.compress(data, into: output, last: last)
            }
        } catch {
            self.error = error
        }
    }

    /// Whether deflate would gain (almost) nothing on `data`, so the block
    /// is stored instead of spending deflate time on it.
    ///
    /// Two integer-only tests, so the answer (and thus the blob) is the same
    /// on every machine: the byte histogram must be nearly flat
    /// (256·Σcount² ≤ 65/64·n², i.e. Rényi entropy above ~7.98 bits/byte),
    /// and fewer than 1 position in 256 may start a 4-byte sequence seen
    /// before in a small hash table (which catches repeats that a flat
    /// histogram hides, such as several copies of one compressed file).
    /// Random and already-compressed data pass both; text, binaries and
    /// images fail the first at once.
    static func looksIncompressible(_ data: UnsafeRawBufferPointer) -> Bool {
        let n = data.count
        guard n >= 16 * 1024 else { return false }
        let flat = withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 256) { histogram -> Bool in
            histogram.initialize(repeating: 0)
            for byte in data { histogram[Int(byte)] &+= 1 }
            var sumOfSquares: UInt64 = 0
            for count in histogram { sumOfSquares += UInt64(count) * UInt64(count) }
            return 64 * 256 * sumOfSquares <= 65 * UInt64(n) * UInt64(n)
        }
        guard flat else { return false }
        let tableBits = 14
        return withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1 << tableBits) { table -> Bool in
            table.initialize(repeating: UInt32.max)
            let limit = n / 256
            var repeats = 0
            for position in 0..<(n - 3) {
                let word = UInt32(littleEndian: data.loadUnaligned(fromByteOffset: position, as: UInt32.self))
                let slot = Int((word &* 2_654_435_761) >> UInt32(32 - tableBits))
                let previous = table[slot]
                if previous != UInt32.max,
                   UInt32(littleEndian: data.loadUnaligned(fromByteOffset: Int(previous), as: UInt32.self)) == word {
                    repeats += 1
                    if repeats > limit { return false }
                }
                table[slot] = UInt32(position)
            }
            return true
        }
    }

    /// Writes `data` as deflate stored blocks (RFC 1951 §3.2.4): a header
    /// byte (BFINAL, BTYPE 00, padding), LEN and its complement, the bytes.
    /// Starts and ends on a byte boundary, like a sync-flushed block.
    static func store(_ data: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, last: Bool) -> Int {
        var written = 0
        var offset = 0
        repeat {
            let length = min(65535, data.count - offset)
            let final = last && offset + length == data.count
            output[written] = final ? 1 : 0
            output[written + 1] = UInt8(truncatingIfNeeded: length)
            output[written + 2] = UInt8(truncatingIfNeeded: length >> 8)
            output[written + 3] = ~UInt8(truncatingIfNeeded: length)
            output[written + 4] = ~UInt8(truncatingIfNeeded: length >> 8)
            written += 5
            if length > 0 {
                UnsafeMutableRawBufferPointer(rebasing: output[written..<(written + length)])
                    .copyMemory(from: UnsafeRawBufferPointer(rebasing: data[offset..<(offset + length)]))
            }
            written += length
            offset += length
        } while offset < data.count
        return written
    }
}
