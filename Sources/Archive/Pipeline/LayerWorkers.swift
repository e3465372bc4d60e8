public import KilnCore
import Synchronization
internal import CZstd

/// The build's ``WorkerPool`` as layer writers use it, with zstd's own
/// thread pool sized from it.
///
/// Gzip blocks and the writes of `none` blobs of every layer written at
/// once are jobs of the same pool; zstd's workers come from libzstd's own
/// pool (`ZSTD_createThreadPool`: libzstd cannot run its jobs on kiln's
/// threads), created on first use with the same count. The bytes produced
/// never depend on ``count``.
public final class LayerWorkers: Sendable {
    /// The pool that compresses and writes blobs.
    public let pool: WorkerPool
    /// Blocks and buffers of layers already written, for the next ones.
    let spare: SpareBlocks
    /// `ZSTD_threadPool*`, created on first use; freed in deinit (after
    /// every encoder, since each keeps this object alive).
    private let zstdPool = Mutex<OpaquePointer?>(nil)

    /// The most blocks compressed at once (the pool's thread count).
    public var count: Int { pool.threadCount }

    /// The gzip blocks, block buffers and zstd contexts finished layers
    /// left for the next ones: as many as the layers written at once used,
    /// whatever the number of layers written.
    public var spareCounts: (blocks: Int, buffers: Int, zstdContexts: Int) { spare.counts }

    /// Layer writes on the build's pool.
    public init(pool: WorkerPool) {
        self.pool = pool
        // As many as the layers written at once (one per thread) hold.
        spare = SpareBlocks(limit: pool.threadCount * (ParallelGzipEncoder.maxInFlight(workers: pool.threadCount) + 1))
    }

    /// Layer writes on a pool of their own with `count` threads (at least
    /// 1; default the number of online cores), whose threads end once this
    /// object and the jobs it queued are gone (for tests and tools that
    /// write blobs outside a build).
    public convenience init(count: Int = WorkerPool.onlineCores) {
        self.init(pool: WorkerPool(threads: count))
    }

    deinit {
        // The contexts kept refer to the pool.
        spare.dropZstdContexts()
        zstdPool.withLock { pool in
            if let pool { ZSTD_freeThreadPool(pool) }
        }
    }

    /// zstd's thread pool, created on first use with ``count`` threads.
    /// (`ZSTD_threadPool*`, opaque to Swift.)
    func sharedZstdPool() -> OpaquePointer? {
        zstdPool.withLock { pool in
            if pool == nil { pool = ZSTD_createThreadPool(count) }
            return pool
        }
    }
}
