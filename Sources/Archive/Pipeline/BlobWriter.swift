import Glibc
import Crypto
public import KilnCore
import Synchronization

/// Turns an uncompressed stream into a blob file in one pass: bytes →
/// SHA-256 (the diff_id) → compressor → SHA-256 (the digest) → file.
///
/// Bytes are gathered into fixed blocks of ``blockSize``; each full block is
/// hashed and handed to the compressor (gzip blocks are compressed in
/// parallel on the build's ``WorkerPool``), so memory is bounded whatever
/// the stream's length, and the output never depends on the number of
/// threads or on how the writes were sized.
///
/// ```swift
/// let blob = try BlobWriter(path: tmp, compression: .gzip, workers: workers)
/// let tar = TarWriter(sink: blob, modificationTime: created)
/// for entry in entries { try tar.append(entry) }
/// try tar.finish()
/// let digests = try blob.finish()
/// ```
public final class BlobWriter: ByteSink {
    /// The blob file.
    public let path: String
    /// How the blob is compressed.
    public let compression: Compression
    private let output: BlobOutput
    private let encoder: any BlockEncoder
    private let cancellation: CancellationFlag?
    private let progress: (@Sendable (Int64) -> Void)?
    private var buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    private var hasher = SHA256()
    private let hashesInput: Bool
    private var uncompressedSize: Int64 = 0
    private var finished = false

    /// The uncompressed bytes per block (gzip's parallel unit).
    public static var blockSize: Int { ParallelGzipEncoder.blockSize }

    /// Creates (or truncates) the blob file at `path`.
    /// - Parameters:
    ///   - cancellation: checked before every block; once set, the next
    ///     write throws ``LayerWriteError/cancelled``.
    ///   - progress: called on the writing thread with the uncompressed bytes
    ///     consumed so far, once per block.
    /// - Throws: ``LayerWriteError/blobCreate(path:errno:)``, or
    ///   ``LayerWriteError/compressionFailed(format:detail:)`` when the
    ///   compression library cannot start.
    public init(
        path: String, compression: Compression, gzip: GzipSettings = .standard, workers: LayerWorkers,
        cancellation: CancellationFlag? = nil, progress: (@Sendable (Int64) -> Void)? = nil
    ) throws(LayerWriteError) {
        self.path = path
        self.compression = compression
        self.cancellation = cancellation
        self.progress = progress
        // For `none` the blob is the tar stream: one hash, taken by the
        // encoder's block writes, serves both digests.
        output = try BlobOutput(path: path, hashing: true)
        hashesInput = compression != .none
        switch compression {
        case .gzip: encoder = try ParallelGzipEncoder(output: output, workers: workers, settings: gzip)
        case .zstd: encoder = try ZstdEncoder(output: output, workers: workers, blockSize: Self.blockSize)
        case .none: encoder = PlainEncoder(output: output, workers: workers, blockSize: Self.blockSize)
        }
        buffer = encoder.inputBuffer()
    }

    /// Takes more of the uncompressed stream.
    /// - Throws: ``LayerWriteError`` (a failed write, a compression failure,
    ///   ``LayerWriteError/cancelled``).
    public func write(_ bytes: UnsafeRawBufferPointer) throws(LayerWriteError) {
        precondition(!finished, "BlobWriter.write after finish")
        var offset = 0
        while offset < bytes.count {
            if filled == buffer.count { try submit(last: false) }
            let count = min(bytes.count - offset, buffer.count - filled)
            UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + count)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
            filled += count
            offset += count
        }
    }

    /// Ends the stream, closes the file and returns both digests.
    /// - Throws: ``LayerWriteError``.
    public func finish() throws(LayerWriteError) -> BlobDigests {
        precondition(!finished, "BlobWriter.finish twice")
        try submit(last: true)
        finished = true
        let digest = try output.close()!
        let diffID = hashesInput ? ContentDigest(sha256Bytes: hasher.finalize()) : digest
        return BlobDigests(diffID: diffID, digest: digest, size: output.size, uncompressedSize: uncompressedSize)
    }

    /// Closes and deletes the blob file after a failure (only if the path
    /// is a regular file: a blob aimed at a device is left alone).
    public func discard() {
        finished = true
        // The file descriptor must not be closed (and its number reused)
        // while a write lane may still write to it.
        encoder.abandon()
        _ = try? output.close()
        var status = stat()
        if lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG { unlink(path) }
    }

    private func submit(last: Bool) throws(LayerWriteError) {
        if cancellation?.isCancelled == true { throw .cancelled }
        if hashesInput { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[..<filled])) }
        uncompressedSize += Int64(filled)
        try encoder.submit(count: filled, last: last)
        if !last {
            buffer = encoder.inputBuffer()
            filled = 0
        }
        progress?(uncompressedSize)
    }
}

/// The digests and sizes of a written blob.
public struct BlobDigests: Hashable, Sendable {
    /// SHA-256 of the uncompressed stream (a layer's diff_id).
    public var diffID: ContentDigest
    /// SHA-256 of the blob file (equal to `diffID` for `none`).
    public var digest: ContentDigest
    /// Bytes in the blob file.
    public var size: Int64
    /// Bytes of the uncompressed stream.
    public var uncompressedSize: Int64

    /// Digests and sizes as a ``BlobWriter`` (or a cache) recorded them.
    public init(diffID: ContentDigest, digest: ContentDigest, size: Int64, uncompressedSize: Int64) {
        self.diffID = diffID
        self.digest = digest
        self.size = size
        self.uncompressedSize = uncompressedSize
    }
}

/// A flag another thread sets to stop a write at its next block.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic<Bool>(false)

    /// A flag not yet set.
    public init() {}

    /// Sets the flag; writes checking it throw ``LayerWriteError/cancelled``.
    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool {
        cancelled.load(ordering: .relaxed)
    }
}
