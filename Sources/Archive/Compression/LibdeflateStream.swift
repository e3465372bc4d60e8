import KilnCore
internal import CLibdeflate

/// One libdeflate compressor, reused for every block it compresses (the
/// `libdeflate` gzip engine, docs/layers.md).
///
/// libdeflate writes whole raw deflate streams from one buffer, with no
/// preset dictionary: each block is compressed on its own, and a block
/// that is not the last is made a non-final piece by ``DeflateBlockWalker``,
/// so the pieces concatenate into one deflate stream (one gzip member).
final class LibdeflateStream {
    private let compressor: OpaquePointer
    private let walker: DeflateBlockWalker

    /// The library's version, for the layer format's identity.
    static let version = String(cString: kiln_libdeflate_version())

    init(level: Int32) throws(LayerWriteError) {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw .compressionFailed(format: "gzip", detail: "libdeflate refused level \(level) (or memory ran out)")
        }
        self.compressor = compressor
        do {
            walker = try DeflateBlockWalker()
        } catch {
            libdeflate_free_compressor(compressor)
            throw error
        }
    }

    deinit { libdeflate_free_compressor(compressor) }

    /// Compresses `input` as one piece of a deflate stream: the last piece
    /// ends the stream, any other ends on a byte boundary after an empty
    /// stored block.
    /// - Returns: the number of bytes written to `output`.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, last: Bool) throws(LayerWriteError) -> Int {
        let bound = libdeflate_deflate_compress_bound(compressor, input.count)
        guard output.count >= bound + 6 else {
            throw .compressionFailed(format: "gzip", detail: "no room for libdeflate's bound of \(bound) bytes")
        }
        let count = libdeflate_deflate_compress(compressor, input.baseAddress, input.count, output.baseAddress, output.count - 6)
        guard count > 0 else { throw .compressionFailed(format: "gzip", detail: "libdeflate could not compress a block") }
        return last ? count : try walker.makeNonFinal(output, count: count)
    }
}
