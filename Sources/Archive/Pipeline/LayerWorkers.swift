import KilnCore
import Glibc
internal import CZstd

/// The worker threads that compress layer blobs, shared by every layer of
/// one build.
///
/// `count` (the CLI's `--jobs`) bounds the compression threads whatever the
/// number of layers written at once: gzip blocks of every layer queue for
/// the same threads, and zstd's workers come from one shared pool of the
/// same size. The bytes produced never depend on `count`. Threads start on
/// first use and end when the object is released.
public final class LayerWorkers: @unchecked Sendable {
    /// The most compression threads that run at once.
    public let count: Int
    let queue: JobQueue
    private let zstdLock = ConditionLock()
    private var zstdPool: OpaquePointer?

    /// - Parameter count: at least 1; default the number of online cores.
    public init(count: Int = LayerWorkers.onlineCores) {
        precondition(count >= 1, "LayerWorkers needs at least one thread")
        self.count = count
        queue = JobQueue(threads: count)
    }

    deinit {
        queue.stop()
        if let zstdPool { ZSTD_freeThreadPool(zstdPool) }
    }

    /// The number of cores the system has online (at least 1).
    public static var onlineCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// zstd's thread pool, created on first use with `count` threads.
    /// (`ZSTD_threadPool*`, opaque to Swift.)
    func sharedZstdPool() -> OpaquePointer? {
        zstdLock.withLock {
            if zstdPool == nil { zstdPool = ZSTD_createThreadPool(count) }
            return zstdPool
        }
    }
}

/// A FIFO of jobs run by at most `threads` detached pthreads, started as
/// work arrives.
final class JobQueue: @unchecked Sendable {
    typealias Job = @Sendable () -> Void

    private let lock = ConditionLock()
    private let maxThreads: Int
    private var jobs: [Job] = []
    private var head = 0
    private var threads = 0
    private var idle = 0
    private var stopped = false

    init(threads: Int) {
        maxThreads = threads
    }

    /// Queues `job`; it runs on a worker thread.
    func submit(_ job: @escaping Job) {
        lock.lock()
        jobs.append(job)
        let pending = jobs.count - head
        let spawn = pending > idle && threads < maxThreads
        if spawn { threads += 1 }
        lock.broadcast()
        lock.unlock()
        if spawn { startThread() }
    }

    /// Lets the threads end once the queue is empty.
    func stop() {
        lock.withLock {
            stopped = true
            lock.broadcast()
        }
    }

    private func startThread() {
        startDetachedThread { self.runJobs() }
    }

    private func runJobs() {
        lock.lock()
        while true {
            while head == jobs.count && !stopped {
                idle += 1
                lock.wait()
                idle -= 1
            }
            if head == jobs.count { break }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            lock.unlock()
            job()
            lock.lock()
        }
        threads -= 1
        lock.unlock()
    }
}
