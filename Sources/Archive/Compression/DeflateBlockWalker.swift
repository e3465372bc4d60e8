import KilnCore
internal import CZlib

/// Finds where the last block of a complete raw deflate stream starts and
/// where the stream ends, in bits, by inflating it with zlib's `Z_BLOCK`
/// (which stops at every block boundary), so a whole stream written by
/// another library (libdeflate) can be turned into a non-final piece of a
/// longer stream (``makeNonFinal(_:count:capacity:)``).
///
/// At each stop `data_type` holds the unused bits of the input consumed so
/// far (low 6 bits), 64 once the final block has been entered and 128 at a
/// block boundary: the bit position of a boundary is `8 × consumed − unused`.
/// The stop with both 64 and 128 is the end of the final block, before
/// zlib discards its padding bits.
package final class DeflateBlockWalker {
    private let owner: ZlibStream
    private var stream: UnsafeMutablePointer<z_stream> { owner.pointer }
    /// inflate's output goes here and is dropped.
    private let scratch: UnsafeMutableRawBufferPointer

    package init() throws(LayerWriteError) {
        owner = try ZlibStream("inflate", start: { kiln_inflateInit2($0, -15) }, end: inflateEnd)
        scratch = .allocate(byteCount: 64 * 1024, alignment: 64)
    }

    deinit { scratch.deallocate() }

    /// The bit offset of the final block's header (its first bit is
    /// BFINAL) and of the end of its end-of-block code.
    /// - Throws: when `deflate` is not one complete raw deflate stream.
    package func finalBlock(of deflate: UnsafeRawBufferPointer) throws(LayerWriteError) -> (header: Int, end: Int) {
        guard let base = deflate.baseAddress, inflateReset(stream) == Z_OK else {
            throw .compressionFailed(format: "gzip", detail: "an empty deflate stream has no final block")
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(deflate.count)
        var header = 0
        var end: Int?
        while true {
            stream.pointee.next_out = scratch.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(scratch.count)
            let availableBefore = stream.pointee.avail_in
            let status = inflate(stream, Z_BLOCK)
            let consumed = deflate.count - Int(stream.pointee.avail_in)
            let dataType = Int(stream.pointee.data_type)
            if status == Z_STREAM_END { break }
            // A stop at a boundary may take no byte (the end-of-block code
            // was already held); zlib then says Z_BUF_ERROR, and the next
            // call goes on. Anything else without progress is a bad stream.
            let progressed = stream.pointee.avail_in < availableBefore
                || stream.pointee.avail_out < UInt32(scratch.count) || dataType & 128 != 0
            guard status == Z_OK || status == Z_BUF_ERROR, progressed else {
                throw .compressionFailed(format: "gzip", detail: "not a complete deflate stream (zlib status \(status) at byte \(consumed))")
            }
            if dataType & 128 != 0 {
                let position = 8 * consumed - (dataType & 63)
                if dataType & 64 != 0 { end = position } else { header = position }
            }
        }
        guard let end, stream.pointee.avail_in == 0 else {
            throw .compressionFailed(format: "gzip", detail: "a deflate stream has bytes after its final block")
        }
        return (header, end)
    }

    /// Turns the complete raw deflate stream in `buffer[..<count]` into a
    /// piece that another may follow: clears the final block's BFINAL bit
    /// and appends an empty stored block (3 zero bits, zero padding to the
    /// byte, LEN 0, NLEN 0xFFFF) — the 5-byte marker zlib's `Z_SYNC_FLUSH`
    /// writes — so the piece ends on a byte boundary.
    /// - Returns: the piece's new length (at most `count + 5`).
    package func makeNonFinal(_ buffer: UnsafeMutableRawBufferPointer, count: Int) throws(LayerWriteError) -> Int {
        let (header, end) = try finalBlock(of: UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        guard (end + 7) / 8 == count, buffer.count >= count + 5 else {
            throw .compressionFailed(format: "gzip", detail: "a deflate stream of \(count) bytes ends at bit \(end)")
        }
        buffer[header / 8] &= ~UInt8(1 << (header % 8))
        var length = count
        let usedBits = end % 8
        if usedBits != 0 { buffer[count - 1] &= UInt8((1 << usedBits) - 1) }
        // The stored block's 3 header bits fit in the last byte's padding
        // only when at least 3 bits of it are free.
        if usedBits == 0 || usedBits > 5 {
            buffer[length] = 0
            length += 1
        }
        for byte: UInt8 in [0, 0, 0xff, 0xff] {
            buffer[length] = byte
            length += 1
        }
        return length
    }
}
