import KilnCore

/// A streaming decompressor: reads compressed bytes from a source and yields
/// the decompressed bytes, itself a ``ByteSource`` so a ``TarReader`` can sit
/// on it.
///
/// Memory stays bounded: one fixed input buffer plus the codec's window.
/// Concatenated gzip members, zstd frames and xz streams are read as one
/// stream, as the command-line tools do. The end of the stream is checked:
/// input that stops inside a member is ``DecompressionError/Reason/truncated``,
/// bytes after the last member that do not start another are
/// ``DecompressionError/Reason/trailingData``.
public final class Decompressor: ByteSource {
    /// The format being decoded.
    public let format: DecompressionFormat
    private let source: any ByteSource
    private let codec: (any DecompressionCodec)?
    private var input: [UInt8]
    private var inputStart = 0
    private var inputEnd = 0
    private var sourceEnded = false
    /// Compressed bytes handed to the codec so far, for error offsets.
    private var consumed: Int64 = 0

    private static let inputCapacity = 64 * 1024

    /// Decodes `source` as `format`.
    /// - Throws: ``DecompressionError`` when the codec cannot be set up
    ///   (out of memory).
    public init(format: DecompressionFormat, source: any ByteSource) throws(DecompressionError) {
        self.format = format
        self.source = source
        self.input = [UInt8](repeating: 0, count: Decompressor.inputCapacity)
        self.codec = try Decompressor.makeCodec(format)
    }

    /// Decodes `source` in the format its first bytes announce (gzip, zstd
    /// or xz magic); anything else is passed through as ``DecompressionFormat/none``.
    /// - Throws: what reading the source throws, or ``DecompressionError``.
    public init(detectingFormatOf source: any ByteSource) throws {
        var input = [UInt8](repeating: 0, count: Decompressor.inputCapacity)
        let peeked = try input.withUnsafeMutableBytes { try source.readFully(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<6])) }
        let format = DecompressionFormat.detect(leadingBytes: input[..<peeked])
        self.format = format
        self.source = source
        self.input = input
        self.inputEnd = peeked
        self.sourceEnded = peeked < 6
        self.codec = try Decompressor.makeCodec(format)
    }

    /// Decompresses bytes held in memory, for small inputs (control files,
    /// index files).
    /// - Throws: ``DecompressionError``, or ``ByteSourceError/tooLarge(limit:)``
    ///   when the output exceeds `limit` bytes.
    public static func decompress(_ bytes: [UInt8], format: DecompressionFormat, limit: Int = 256 << 20) throws -> [UInt8] {
        try Decompressor(format: format, source: MemoryByteSource(bytes)).readAll(limit: limit)
    }

    private static func makeCodec(_ format: DecompressionFormat) throws(DecompressionError) -> (any DecompressionCodec)? {
        do {
            switch format {
            case .gzip: return try GzipCodec()
            case .zstd: return try ZstdCodec()
            case .xz: return try XzCodec()
            case .none: return nil
            }
        } catch {
            throw DecompressionError(format: format, offset: 0, reason: error.reason)
        }
    }

    public func read(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        guard output.count > 0 else { return 0 }
        guard let codec else { return try passThrough(into: output) }
        while true {
            if inputStart == inputEnd && !sourceEnded { try refill() }
            let outcome = input.withUnsafeBytes { buffer in
                Result { () throws(CodecFailure) in
                    try codec.step(
                        input: UnsafeRawBufferPointer(rebasing: buffer[inputStart..<inputEnd]),
                        output: output, finishing: sourceEnded)
                }
            }
            let step: CodecStep
            switch outcome {
            case .success(let value): step = value
            case .failure(let failure):
                throw DecompressionError(format: format, offset: consumed + Int64(failure.consumed), reason: failure.reason)
            }
            inputStart += step.consumed
            consumed += Int64(step.consumed)
            if step.produced > 0 { return step.produced }
            if step.finished { return 0 }
            if step.consumed == 0 && sourceEnded && inputStart == inputEnd {
                throw DecompressionError(format: format, offset: consumed, reason: .truncated)
            }
        }
    }

    private func passThrough(into output: UnsafeMutableRawBufferPointer) throws -> Int {
        if inputStart < inputEnd {
            let count = min(output.count, inputEnd - inputStart)
            input.withUnsafeBytes { output.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[inputStart..<(inputStart + count)])) }
            inputStart += count
            return count
        }
        if sourceEnded { return 0 }
        return try source.read(into: output)
    }

    private func refill() throws {
        let count = try input.withUnsafeMutableBytes { try source.read(into: $0) }
        inputStart = 0
        inputEnd = count
        if count == 0 { sourceEnded = true }
    }
}

/// Compressed input that cannot be decoded.
public struct DecompressionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The format being decoded.
    public var format: DecompressionFormat
    /// How many compressed bytes had been consumed when the problem was found.
    public var offset: Int64
    /// What is wrong.
    public var reason: Reason

    public init(format: DecompressionFormat, offset: Int64, reason: Reason) {
        self.format = format
        self.offset = offset
        self.reason = reason
    }

    /// What went wrong.
    public enum Reason: Hashable, Sendable {
        /// The input ends inside a member, frame or stream.
        case truncated
        /// The codec rejected the data; the text is the library's reason.
        case corrupt(String)
        /// Bytes follow the last complete member and do not start another.
        case trailingData
        /// The codec could not start (usually out of memory).
        case setup(String)
    }

    public var description: String {
        switch reason {
        case .truncated:
            "\(format) data is truncated: the input ends after \(offset) bytes, inside a compressed \(format.unitName)"
        case .corrupt(let detail):
            "\(format) data is corrupt at compressed byte \(offset): \(detail)"
        case .trailingData:
            "\(format) data has trailing bytes at compressed byte \(offset) that do not start another \(format.unitName)"
        case .setup(let detail):
            "cannot start the \(format) decompressor: \(detail)"
        }
    }
}

extension DecompressionFormat {
    /// What one independently decodable piece of the format is called.
    fileprivate var unitName: String {
        switch self {
        case .gzip: "member"
        case .zstd: "frame"
        case .xz: "stream"
        case .none: "stream"
        }
    }
}
