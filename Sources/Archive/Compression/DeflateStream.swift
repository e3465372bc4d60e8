import KilnCore
internal import CZlib

/// One zlib raw-deflate stream, reset for every block it compresses.
///
/// zlib keeps pointers into the `z_stream`, so it lives at a stable heap
/// address (``ZlibStream``), ended when this is released.
final class DeflateStream {
    private let owner: ZlibStream
    private var stream: UnsafeMutablePointer<z_stream> { owner.pointer }
    let level: Int32

    /// A raw deflate stream (no zlib or gzip wrapper: the gzip member
    /// framing is written by ``ParallelGzipEncoder``) with zlib's default
    /// window and memory settings, so the output equals what gzip and zlib
    /// produce at `level`.
    init(level: Int32) throws(LayerWriteError) {
        self.level = level
        owner = try ZlibStream("deflate", start: { kiln_deflateInit2($0, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) }, end: deflateEnd)
    }

    /// Compresses `input` as one independent piece of a deflate stream.
    ///
    /// `dictionary` (the 32 KiB before `input` in the whole stream) lets
    /// matches reach back as if the stream had never been split. A non-last
    /// piece ends with a sync flush, so it stops on a byte boundary and the
    /// next piece can simply be appended; the last one ends the stream.
    /// - Returns: the number of bytes written to `output`.
    func compress(
        _ input: UnsafeRawBufferPointer, dictionary: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer, last: Bool
    ) throws(LayerWriteError) -> Int {
        var status = deflateReset(stream)
        if status == Z_OK, dictionary.count > 0 {
            status = deflateSetDictionary(
                stream, dictionary.baseAddress!.assumingMemoryBound(to: Bytef.self), UInt32(dictionary.count))
        }
        guard status == Z_OK else { throw .compressionFailed(format: "gzip", detail: "zlib could not prepare a block (status \(status))") }
        // zlib never writes through next_in; its declaration is just not const.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(output.count)
        status = deflate(stream, last ? Z_FINISH : Z_SYNC_FLUSH)
        let complete = last ? status == Z_STREAM_END : (status == Z_OK && stream.pointee.avail_out > 0)
        guard complete, stream.pointee.avail_in == 0 else {
            throw .compressionFailed(format: "gzip", detail: "zlib did not finish a block (status \(status), \(stream.pointee.avail_in) bytes left)")
        }
        return output.count - Int(stream.pointee.avail_out)
    }
}
