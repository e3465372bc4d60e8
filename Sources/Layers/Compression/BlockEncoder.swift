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
}

/// `none`: the tar bytes are the blob.
final class PlainEncoder: BlockEncoder {
    private let output: BlobOutput
    private let buffer: UnsafeMutableRawBufferPointer

    init(output: BlobOutput, blockSize: Int) {
        self.output = output
        buffer = .allocate(byteCount: blockSize, alignment: 64)
    }

    deinit { buffer.deallocate() }

    func inputBuffer() -> UnsafeMutableRawBufferPointer { buffer }

    func submit(count: Int, last: Bool) throws(LayerWriteError) {
        try output.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
    }
}
