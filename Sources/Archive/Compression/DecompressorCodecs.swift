import KilnCore
internal import CLZMA
internal import CZlib
internal import CZstd

/// What one codec call did.
struct CodecStep {
    /// Input bytes consumed.
    var consumed: Int
    /// Output bytes written.
    var produced: Int
    /// The stream is complete and nothing more will be produced.
    var finished: Bool
}

/// A codec's refusal, with the input it consumed in the failing call.
struct CodecFailure: Error {
    var consumed: Int
    var reason: DecompressionError.Reason
}

/// One decompression library behind a common step function.
protocol DecompressionCodec: AnyObject {
    /// Decodes as much of `input` into `output` as possible.
    /// - Parameter finishing: no input follows `input`.
    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(CodecFailure) -> CodecStep
}

/// zlib inflate reading gzip members back to back.
final class GzipCodec: DecompressionCodec {
    /// zlib keeps pointers into the stream, so it lives at a stable address.
    private let stream: UnsafeMutablePointer<z_stream>
    private var memberEnded = false

    init() throws(CodecFailure) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + 15: a gzip wrapper (not zlib, not raw) and the largest window.
        let status = kiln_inflateInit2(stream, 16 + 15)
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw CodecFailure(consumed: 0, reason: .setup("zlib refused to initialize (status \(status))"))
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(CodecFailure) -> CodecStep {
        if memberEnded {
            guard let first = input.first else { return CodecStep(consumed: 0, produced: 0, finished: finishing) }
            guard first == 0x1f else { throw CodecFailure(consumed: 0, reason: .trailingData) }
            inflateReset(stream)
            memberEnded = false
        }
        let inputCount = UInt32(input.count)
        let outputCount = UInt32(clamping: output.count)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = inputCount
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = outputCount
        let status = inflate(stream, Z_NO_FLUSH)
        let consumed = Int(inputCount - stream.pointee.avail_in)
        let produced = Int(outputCount - stream.pointee.avail_out)
        // The buffers belong to the caller and are gone after this call.
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        stream.pointee.next_out = nil
        stream.pointee.avail_out = 0
        switch status {
        case Z_STREAM_END:
            memberEnded = true
        case Z_OK, Z_BUF_ERROR:
            break
        case Z_MEM_ERROR:
            throw CodecFailure(consumed: consumed, reason: .corrupt("out of memory"))
        default:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "invalid deflate data (zlib status \(status))"
            throw CodecFailure(consumed: consumed, reason: .corrupt(message))
        }
        return CodecStep(consumed: consumed, produced: produced, finished: false)
    }
}

/// libzstd streaming decompression; it moves from frame to frame by itself.
final class ZstdCodec: DecompressionCodec {
    private let context: OpaquePointer
    /// The last call that made progress ended exactly at a frame boundary.
    private var atFrameEnd = false

    init() throws(CodecFailure) {
        guard let context = ZSTD_createDStream() else {
            throw CodecFailure(consumed: 0, reason: .setup("libzstd could not allocate a stream"))
        }
        self.context = context
        let result = ZSTD_initDStream(context)
        if ZSTD_isError(result) != 0 {
            throw CodecFailure(consumed: 0, reason: .setup(String(cString: ZSTD_getErrorName(result))))
        }
    }

    deinit {
        ZSTD_freeDStream(context)
    }

    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(CodecFailure) -> CodecStep {
        var inBuffer = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var outBuffer = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
        if ZSTD_isError(result) != 0 {
            throw CodecFailure(consumed: inBuffer.pos, reason: .corrupt(String(cString: ZSTD_getErrorName(result))))
        }
        if inBuffer.pos > 0 || outBuffer.pos > 0 { atFrameEnd = result == 0 }
        let finished = finishing && input.isEmpty && outBuffer.pos == 0 && atFrameEnd
        return CodecStep(consumed: inBuffer.pos, produced: outBuffer.pos, finished: finished)
    }
}

/// liblzma's xz decoder, reading concatenated streams.
final class XzCodec: DecompressionCodec {
    /// liblzma keeps pointers into the stream, so it lives at a stable address.
    private let stream: UnsafeMutablePointer<lzma_stream>
    private var ended = false

    init() throws(CodecFailure) {
        stream = .allocate(capacity: 1)
        // lzma_stream() is all zeros, which is what LZMA_STREAM_INIT spells.
        stream.initialize(to: lzma_stream())
        let status = lzma_stream_decoder(stream, UInt64.max, kiln_lzma_concatenated)
        guard status == LZMA_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw CodecFailure(consumed: 0, reason: .setup(XzCodec.explain(status)))
        }
    }

    deinit {
        lzma_end(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    func step(input: UnsafeRawBufferPointer, output: UnsafeMutableRawBufferPointer, finishing: Bool) throws(CodecFailure) -> CodecStep {
        if ended { return CodecStep(consumed: 0, produced: 0, finished: true) }
        stream.pointee.next_in = input.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_in = input.count
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: UInt8.self)
        stream.pointee.avail_out = output.count
        let status = lzma_code(stream, finishing ? LZMA_FINISH : LZMA_RUN)
        let consumed = input.count - stream.pointee.avail_in
        let produced = output.count - stream.pointee.avail_out
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        stream.pointee.next_out = nil
        stream.pointee.avail_out = 0
        switch status {
        case LZMA_OK, LZMA_BUF_ERROR:
            break
        case LZMA_STREAM_END:
            ended = true
        default:
            throw CodecFailure(consumed: consumed, reason: .corrupt(XzCodec.explain(status)))
        }
        return CodecStep(consumed: consumed, produced: produced, finished: ended && produced == 0)
    }

    private static func explain(_ status: lzma_ret) -> String {
        switch status {
        case LZMA_MEM_ERROR: "out of memory"
        case LZMA_MEMLIMIT_ERROR: "memory limit reached"
        case LZMA_FORMAT_ERROR: "not in the xz format"
        case LZMA_OPTIONS_ERROR: "unsupported compression options"
        case LZMA_DATA_ERROR: "compressed data is corrupt"
        case LZMA_UNSUPPORTED_CHECK: "unsupported integrity check"
        default: "liblzma status \(status.rawValue)"
        }
    }
}
