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
/// Hashing and writing a block (the whole cost of `none`) run on a thread
/// of their own while the producer fills the next block, through two
/// alternating buffers; the blob's single digest is taken there, in order.
final class PlainEncoder: BlockEncoder {
    private let buffers: [UnsafeMutableRawBufferPointer]
    private var current = 0
    private let lane: WriteLane

    /// `output` must hash: its digest is both the diff_id and the digest.
    init(output: BlobOutput, blockSize: Int) {
        buffers = (0..<2).map { _ in .allocate(byteCount: blockSize, alignment: 64) }
        lane = WriteLane(output: output)
    }

    deinit {
        // The lane may still be writing one of the buffers.
        _ = try? lane.waitUntilIdle()
        lane.stop()
        for buffer in buffers { buffer.deallocate() }
    }

    func inputBuffer() -> UnsafeMutableRawBufferPointer { buffers[current] }

    func abandon() {
        _ = try? lane.waitUntilIdle()
    }

    func submit(count: Int, last: Bool) throws(LayerWriteError) {
        try lane.waitUntilIdle()
        lane.start(UnsafeRawBufferPointer(rebasing: buffers[current][..<count]))
        current ^= 1
        if last { try lane.waitUntilIdle() }
    }
}

/// One thread writing one buffer at a time to a ``BlobOutput``.
///
/// The output is touched only by the lane's thread while a write is under
/// way and only by the caller while the lane is idle; the lock orders the
/// two.
final class WriteLane: @unchecked Sendable {
    private let output: BlobOutput
    private let lock = ConditionLock()
    private var pending: UnsafeRawBufferPointer?
    private var failure: LayerWriteError?
    private var stopped = false

    init(output: BlobOutput) {
        self.output = output
        startDetachedThread { self.run() }
    }

    /// Hands over `bytes`, which must stay valid until the lane is idle.
    func start(_ bytes: UnsafeRawBufferPointer) {
        lock.withLock {
            precondition(pending == nil, "WriteLane.start while busy")
            pending = bytes
            lock.broadcast()
        }
    }

    /// Waits for the write under way; rethrows the first failure.
    func waitUntilIdle() throws(LayerWriteError) {
        let failure = lock.withLock {
            while pending != nil { lock.wait() }
            return self.failure
        }
        if let failure { throw failure }
    }

    /// Lets the thread end.
    func stop() {
        lock.withLock {
            stopped = true
            lock.broadcast()
        }
    }

    private func run() {
        lock.lock()
        while true {
            while pending == nil && !stopped { lock.wait() }
            guard let bytes = pending else { break }
            let failed = failure != nil
            lock.unlock()
            var error: LayerWriteError?
            if !failed {
                do { try output.write(bytes) } catch let caught { error = caught }
            }
            lock.lock()
            if let error { failure = error }
            pending = nil
            lock.broadcast()
        }
        lock.unlock()
    }
}
