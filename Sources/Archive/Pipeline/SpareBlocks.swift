import KilnCore
import Synchronization
internal import CZstd

/// The block buffers, gzip blocks (with their deflate state) and zstd
/// contexts of layers already written, kept for the next layers of the
/// build.
///
/// Without it every layer allocates its own 1 MiB blocks and frees them at
/// its end. glibc serves such blocks from its heaps once the first one is
/// freed (its mmap threshold follows the largest freed block), and the small
/// allocations made between two layers settle in the freed holes, so the
/// next layer's blocks cannot reuse them: a plan of 200 small layers peaked
/// at 4.5× the RSS of the same files in one layer. Here a finished layer's
/// blocks go to the next one, and no more are kept than the layers the
/// pool's threads can write at once hold (``limit``): memory is bounded by
/// `--jobs`, not by the number of layers. (`kiln` also fixes glibc's mmap
/// threshold at start, so freed blocks go back to the system; reusing them
/// still saves each layer mapping, faulting in and setting up its own
/// blocks and deflate state.)
final class SpareBlocks: Sendable {
    /// The most spare gzip blocks kept (and, separately, block buffers and
    /// zstd contexts).
    let limit: Int
    private let blocks = Mutex<[GzipBlock]>([])
    private let buffers = Mutex<[BlockBuffer]>([])
    private let zstdContexts = Mutex<[ZstdContext]>([])

    init(limit: Int) {
        self.limit = limit
    }

    /// A spare gzip block made for `settings`, or nil.
    func takeBlock(settings: GzipSettings) -> GzipBlock? {
        blocks.withLock { blocks in
            guard let index = blocks.lastIndex(where: { $0.settings == settings }) else { return nil }
            return blocks.remove(at: index)
        }
    }

    /// Keeps `block`, whose job has finished, for a later layer (dropped
    /// when ``limit`` blocks are kept already).
    func give(_ block: GzipBlock) {
        blocks.withLock { blocks in
            if blocks.count < limit { blocks.append(block) }
        }
    }

    /// A spare buffer of `byteCount` bytes, or a new one.
    func takeBuffer(byteCount: Int) -> BlockBuffer {
        let spare = buffers.withLock { buffers -> BlockBuffer? in
            guard let index = buffers.lastIndex(where: { $0.bytes.count == byteCount }) else { return nil }
            return buffers.remove(at: index)
        }
        return spare ?? BlockBuffer(byteCount: byteCount)
    }

    /// Keeps `buffer`, which nothing reads or writes any more, for a later
    /// layer.
    func give(_ buffer: BlockBuffer) {
        buffers.withLock { buffers in
            if buffers.count < limit { buffers.append(buffer) }
        }
    }

    /// A spare zstd context, set up as ``ZstdEncoder`` sets one up, or nil.
    func takeZstdContext() -> ZstdContext? {
        zstdContexts.withLock { $0.popLast() }
    }

    /// Keeps `context`, reset and with no job running, for a later layer.
    func give(_ context: ZstdContext) {
        zstdContexts.withLock { contexts in
            if contexts.count < limit { contexts.append(context) }
        }
    }

    /// Frees the zstd contexts kept (before the thread pool they use is).
    func dropZstdContexts() {
        zstdContexts.withLock { $0.removeAll() }
    }

    /// The blocks, buffers and zstd contexts kept.
    var counts: (blocks: Int, buffers: Int, zstdContexts: Int) {
        (blocks.withLock { $0.count }, buffers.withLock { $0.count }, zstdContexts.withLock { $0.count })
    }
}

/// A `ZSTD_CCtx*`, freed when released: a ``SpareBlocks`` entry.
final class ZstdContext: @unchecked Sendable {
    // @unchecked: one encoder at a time owns the context (as for
    // ``BlockBuffer``).
    let pointer: OpaquePointer

    init?() {
        guard let pointer = ZSTD_createCCtx() else { return nil }
        self.pointer = pointer
    }

    deinit { ZSTD_freeCCtx(pointer) }
}

/// A fixed heap buffer, freed when released: a ``SpareBlocks`` entry.
final class BlockBuffer: @unchecked Sendable {
    // @unchecked: one encoder at a time owns the buffer (it is taken from
    // and given back to ``SpareBlocks`` under its lock).
    let bytes: UnsafeMutableRawBufferPointer

    init(byteCount: Int) {
        bytes = .allocate(byteCount: byteCount, alignment: 64)
    }

    deinit { bytes.deallocate() }
}
