import KilnCore
internal import CZstd

/// zstd over libzstd at level 3, multithreaded, with an output that does not
/// depend on the number of threads.
///
/// libzstd's multithreaded mode cuts the input into jobs of a fixed size
/// (`jobSize`, set here explicitly) that each reload a fixed overlap of the
/// data before them; the job boundaries depend only on the input and these
/// parameters, so any `nbWorkers` ≥ 1 gives the same frame (zstd documents
/// this for its CLI's `-T`; kiln's tests check it for 1, 2 and 8 workers).
/// Single-threaded mode (`nbWorkers = 0`) would give other bytes, so it is
/// never used. The worker threads come from the build's shared pool
/// (``LayerWorkers``). The frame carries a content checksum, as the `zstd`
/// tool writes by default.
final class ZstdEncoder: BlockEncoder {
    static let level: Int32 = 3
    /// Uncompressed bytes per zstd job: part of kiln's layer format.
    static let jobSize: Int32 = 2 << 20
    /// Jobs compressed at once per layer: each holds a compression context
    /// and its buffers (~8 MiB), so this bounds a layer's memory; the
    /// bytes do not depend on it.
    static let maxWorkers = 4
    /// zstd's default overlap for level 3 (an eighth of the window), fixed
    /// so a library default change cannot move the bytes.
    static let overlapLog: Int32 = 6

    private let output: BlobOutput
    /// Kept alive while the context refers to its thread pool.
    private let workers: LayerWorkers
    /// Taken from the workers' spare contexts (parameters and thread pool
    /// already set) or made here; given back, reset, after a whole frame,
    /// else freed in deinit. Never nil before deinit.
    private var owned: ZstdContext?
    private let context: OpaquePointer
    /// Taken from the workers' spare buffers, given back at the end.
    private let input: BlockBuffer
    private let outputBuffer: UnsafeMutableRawBufferPointer
    /// Input was given and the frame is not ended yet.
    private var frameOpen = false
    /// The context's parameters and pool are set (init did not fail).
    private var setUp = false

    init(output: BlobOutput, workers: LayerWorkers, blockSize: Int) throws(LayerWriteError) {
        let spare = workers.spare.takeZstdContext()
        guard let owned = spare ?? ZstdContext() else {
            throw .compressionFailed(format: "zstd", detail: "cannot allocate a compression context")
        }
        self.output = output
        self.workers = workers
        self.owned = owned
        context = owned.pointer
        input = workers.spare.takeBuffer(byteCount: blockSize)
        outputBuffer = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 64)
        // A spare context keeps the parameters and the pool set here.
        if spare != nil {
            setUp = true
            return
        }
        let settings: [(ZSTD_cParameter, Int32)] = [
            (ZSTD_c_compressionLevel, Self.level),
            (ZSTD_c_checksumFlag, 1),
            (ZSTD_c_nbWorkers, Int32(min(workers.count, Self.maxWorkers))),
            (ZSTD_c_jobSize, Self.jobSize),
            (ZSTD_c_overlapLog, Self.overlapLog),
        ]
        for (parameter, value) in settings {
            try Self.check(ZSTD_CCtx_setParameter(context, parameter, value), "setting parameter \(parameter.rawValue)")
        }
        if let pool = workers.sharedZstdPool() {
            try Self.check(ZSTD_CCtx_refThreadPool(context, pool), "sharing the thread pool")
        }
        setUp = true
    }

    deinit {
        // With a shared pool, freeing a context does not wait for its jobs
        // still running on the pool's threads, which would then write into
        // freed memory. A write that failed midway (a full disk, a vanished
        // source, cancellation) leaves the frame open: ending it, output
        // discarded, waits for every job first.
        if frameOpen {
            var source = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
            while true {
                var destination = ZSTD_outBuffer(dst: outputBuffer.baseAddress, size: outputBuffer.count, pos: 0)
                let remaining = ZSTD_compressStream2(context, &destination, &source, ZSTD_e_end)
                if remaining == 0 || ZSTD_isError(remaining) != 0 { break }
            }
        } else if setUp, let owned, ZSTD_isError(ZSTD_CCtx_reset(context, ZSTD_reset_session_only)) == 0 {
            // A whole frame was written: nothing of it runs any more.
            workers.spare.give(owned)
        }
        // Freed here (unless kept), while the pool it refers to lives.
        owned = nil
        workers.spare.give(input)
        outputBuffer.deallocate()
    }

    func inputBuffer() -> UnsafeMutableRawBufferPointer { input.bytes }

    func submit(count: Int, last: Bool) throws(LayerWriteError) {
        frameOpen = true
        var source = ZSTD_inBuffer(src: input.bytes.baseAddress, size: count, pos: 0)
        while true {
            var destination = ZSTD_outBuffer(dst: outputBuffer.baseAddress, size: outputBuffer.count, pos: 0)
            let remaining = ZSTD_compressStream2(context, &destination, &source, last ? ZSTD_e_end : ZSTD_e_continue)
            try Self.check(remaining, "compressing")
            if destination.pos > 0 {
                try output.write(UnsafeRawBufferPointer(rebasing: outputBuffer[..<destination.pos]))
            }
            if last && remaining == 0 {
                frameOpen = false
                return
            }
            if !last && source.pos == source.size { return }
        }
    }

    private static func check(_ code: Int, _ what: String) throws(LayerWriteError) {
        if ZSTD_isError(code) != 0 {
            throw .compressionFailed(format: "zstd", detail: "\(what): \(String(cString: ZSTD_getErrorName(code)))")
        }
    }
}
