import Synchronization
public import KilnCore

/// Writes a layer's entries as a compressed blob in one streaming pass:
/// sorted entries → tar bytes → SHA-256 (diff_id) → compressor → SHA-256
/// (digest) → blob file.
///
/// Memory is bounded by fixed buffers whatever the layer's size. The blob's
/// bytes depend only on the entries, the timestamp and the compression, never
/// on `workers.count`, so several layers may be written at once on one
/// shared ``LayerWorkers``. On failure the partial blob file is deleted.
public struct LayerWriter: Sendable {
    /// How blobs are compressed.
    public var compression: Compression
    /// The deflate engine and level for `gzip` (the plan's `gzip:`).
    public var gzip: GzipSettings
    /// The mtime of every entry (the plan's `created`).
    public var modificationTime: Timestamp
    /// The build's pool, on which blobs are compressed and written.
    public var workers: LayerWorkers

    /// A writer for one build: every layer it writes shares `workers`.
    public init(compression: Compression, gzip: GzipSettings = .standard, modificationTime: Timestamp, workers: LayerWorkers) {
        self.compression = compression
        self.gzip = gzip
        self.modificationTime = modificationTime
        self.workers = workers
    }

    /// Writes `tree` in stream order (``LayerTree/sortedEntries()``) to a
    /// new blob file at `path`.
    /// - Parameters:
    ///   - cancellation: once set (for instance because another layer
    ///     failed), the write stops at its next block with
    ///     ``LayerWriteError/cancelled``.
    ///   - progress: called on the writing thread with the tar bytes written
    ///     so far, about every MiB.
    /// - Throws: ``LayerTreeError`` when the tree cannot be ordered,
    ///   ``LayerWriteError`` for a source file that changed or vanished, a
    ///   failed blob write (a full disk), a compression failure or
    ///   cancellation.
    public func write(
        _ tree: consuming LayerTree, to path: String,
        cancellation: CancellationFlag? = nil, progress: (@Sendable (Int64) -> Void)? = nil
    ) throws -> LayerBlob {
        try write(entries: try tree.sortedEntries(), to: path, cancellation: cancellation, progress: progress)
    }

    /// Writes entries already in stream order (as ``LayerTree/sortedEntries()``
    /// returns them) to a new blob file at `path`.
    /// - Throws: ``LayerWriteError``.
    public func write(
        entries: [LayerEntry], to path: String,
        cancellation: CancellationFlag? = nil, progress: (@Sendable (Int64) -> Void)? = nil
    ) throws -> LayerBlob {
        let blob = try BlobWriter(
            path: path, compression: compression, gzip: gzip, workers: workers, cancellation: cancellation, progress: progress)
        // File contents are read through a buffer an earlier layer used.
        let readBuffer = workers.spare.takeBuffer(byteCount: TarWriter<BlobWriter>.readBufferSize)
        defer { workers.spare.give(readBuffer) }
        do {
            let tar = TarWriter(sink: blob, modificationTime: modificationTime, readBuffer: readBuffer)
            for entry in entries { try tar.append(entry) }
            try tar.finish()
            let digests = try blob.finish()
            var blob = LayerBlob(digests: digests, compression: compression, entryCount: tar.entryCount, elfFiles: tar.elfFiles)
            blob.holdsSymlinks = tar.symlinkCount > 0
            return blob
        } catch {
            blob.discard()
            throw error
        }
    }

    /// ``write(_:to:cancellation:progress:)`` as a job of the build's
    /// ``WorkerPool``, so the blocking reads and writes never hold a Swift
    /// concurrency thread. The job waits for its own gzip blocks without
    /// starving the pool (see ``WorkerPool``). Cancelling the calling task
    /// stops the write at its next block.
    ///
    /// The job takes the tree out of a handoff box, so when the caller gives
    /// its own copy up (`consume`), the job holds the only one and orders
    /// its entries in place rather than a copy of 100,000 of them.
    public func write(_ tree: consuming LayerTree, to path: String, progress: (@Sendable (Int64) -> Void)? = nil) async throws -> LayerBlob {
        let flag = CancellationFlag()
        let handoff = TreeHandoff(tree)
        return try await withTaskCancellationHandler {
            try await workers.pool.run(urgent: true) { try self.write(handoff.take(), to: path, cancellation: flag, progress: progress) }
        } onCancel: {
            flag.cancel()
        }
    }
}

/// A tree on its way to the job that writes it, taken once.
private final class TreeHandoff: Sendable {
    private let tree: Mutex<LayerTree?>

    init(_ tree: consuming LayerTree) {
        self.tree = Mutex(tree)
    }

    func take() -> LayerTree {
        tree.withLock { $0.take() } ?? LayerTree()
    }
}

/// A written layer blob: what the image config and manifest record.
public struct LayerBlob: Hashable, Sendable {
    /// SHA-256 of the uncompressed tar stream (`rootfs.diff_ids`).
    public var diffID: ContentDigest
    /// SHA-256 of the blob file (the manifest's layer digest).
    public var digest: ContentDigest
    /// Bytes in the blob file.
    public var size: Int64
    /// Bytes of the tar stream.
    public var uncompressedSize: Int64
    /// How the blob is compressed (for its media type).
    public var compression: Compression
    /// Entries in the tar stream (PAX headers not counted).
    public var entryCount: Int
    /// The layer's ELF executables and shared objects, for the
    /// architecture check (docs/platforms.md).
    public var elfFiles: ELFFiles
    /// Whether the tar stream holds a symlink; nil when not known (a layer
    /// from the cache). The build's check of the layers above need not read
    /// a layer without symlinks.
    public var holdsSymlinks: Bool?

    /// A blob's digests with what the build summary, media type and the
    /// architecture check need.
    public init(digests: BlobDigests, compression: Compression, entryCount: Int, elfFiles: ELFFiles = ELFFiles()) {
        diffID = digests.diffID
        digest = digests.digest
        size = digests.size
        uncompressedSize = digests.uncompressedSize
        self.compression = compression
        self.entryCount = entryCount
        self.elfFiles = elfFiles
    }
}
