import KilnCore

/// The compressing half of a blob: takes the uncompressed stream in fixed
/// blocks and writes the compressed bytes to a ``BlobOutput``.
///
/// The producer fills ``inputBuffer()`` and calls ``submit(count:last:)``;
/// a block that is not the last is always full, so where the stream is
/// split never depends on how the bytes arrived.
protocol BlockEncoder: AnyObject {
    /// The buffer to fill next (``blockSize`` bytes); valid until the next
    /// submit.
    func inputBuffer() -> UnsafeMutableRawBufferPointer
    /// Hands over the first `count` bytes of the input buffer.
    func submit(count: Int, last: Bool) throws(LayerWriteError)
    /// Returns once nothing of the encoder writes to the output any more,
    /// so a failed blob can be closed and removed.
    func abandon()
}

extension BlockEncoder {
    /// Encoders that write only from the caller's thread have nothing to
    /// wait for.
    func abandon() {}
}

/// `none`: the tar bytes are the blob.
///
/// Hashing and writing a block (the whole cost of `none`) run as a job of
/// the build's ``WorkerPool`` while the producer fills the next block,
/// through two alternating buffers; the blob's single digest is taken
/// there, in order. When no pool thread is free the producer writes the
/// block itself (``PoolJob/wait()``).
final class PlainEncoder: BlockEncoder {
    /// Taken from the workers' spare buffers, given back at the end.
    private let buffers: [BlockBuffer]
    private var current = 0
    private let output: BlobOutput
    private let workers: LayerWorkers
    /// The write of the other buffer, from its submission until waited for.
    private var pending: (job: PoolJob, write: BlockWrite)?

    /// `output` must hash: its digest is both the diff_id and the digest.
    init(output: BlobOutput, workers: LayerWorkers, blockSize: Int) {
        buffers = (0..<2).map { _ in workers.spare.takeBuffer(byteCount: blockSize) }
        self.output = output
        self.workers = workers
    }

    deinit {
        // A write may still be reading one of the buffers.
        pending?.job.wait()
        for buffer in buffers { workers.spare.give(buffer) }
    }

    func inputBuffer() -> UnsafeMutableRawBufferPointer { buffers[current].bytes }

    func abandon() {
        pending?.job.wait()
        pending = nil
    }

    func submit(count: Int, last: Bool) throws(LayerWriteError) {
        try finishPending()
        let write = BlockWrite(output: output, bytes: UnsafeRawBufferPointer(rebasing: buffers[current].bytes[..<count]))
        pending = (workers.pool.submit(urgent: true) { write.run() }, write)
        current ^= 1
        if last { try finishPending() }
    }

    /// Waits for the write under way; throws its failure, so nothing is
    /// written after a failed write.
    private func finishPending() throws(LayerWriteError) {
        guard let (job, write) = pending else { return }
        pending = nil
        job.wait()
        if let failure = write.failure { throw failure }
    }
}

/// One block's write to a ``BlobOutput``, run as a pool job.
final class BlockWrite: @unchecked Sendable {
    // @unchecked: the output, the bytes and `failure` are used by the job
    // while it runs and by the encoder only before submitting it and after
    // waiting for it (PoolJob.wait() orders the two); the encoder has at
    // most one write under way, so the output is never written twice at
    // once.
    private let output: BlobOutput
    private let bytes: UnsafeRawBufferPointer
    private(set) var failure: LayerWriteError?

    init(output: BlobOutput, bytes: UnsafeRawBufferPointer) {
        self.output = output
        self.bytes = bytes
    }

    func run() {
        do { try output.write(bytes) } catch { failure = error }
    }
}
