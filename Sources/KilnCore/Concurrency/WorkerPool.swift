import Glibc

/// The build's one pool of threads for blocking work: gzip blocks, writes
/// of `none` blobs, input hashing, whole layer writes and cache keys.
///
/// A fixed set of `threadCount` threads (`--jobs`) is started by ``init(threads:)``
/// and ended by ``shutdown()`` (or when the pool is released); no thread is
/// started per job, per layer or per block. Jobs run in the order they were
/// submitted. Async code awaits a job with ``run(_:)``; synchronous code
/// holds the ``PoolJob`` that ``submit(_:)`` returns and calls
/// ``PoolJob/wait()``.
///
/// ## Why a bounded pool cannot starve itself here
///
/// Some jobs wait for other jobs of the same pool: a layer write (itself a
/// job) waits for its gzip blocks, a cache key waits for the files it
/// hashes. With every thread busy in such a waiting job, the jobs waited
/// for would sit in the queue forever. So a wait never waits for a job
/// that has not started: ``PoolJob/wait()`` first tries to *claim* the job
/// and, if no thread has taken it yet, runs it on the waiting thread
/// (a worker that dequeues a claimed job skips it). The waiter therefore
/// only ever sleeps on a job that is running on another thread, and a
/// running job either finishes (compressing, hashing, writing) or is itself
/// a waiter under the same rule — the jobs waited for form a tree whose
/// leaves always finish, whatever the number of threads, `--jobs 1`
/// included. ``concurrentPerform(iterations:_:)`` is built on the same
/// rule: the caller runs iterations itself and helps with any not started.
public final class WorkerPool: Sendable {
    /// The number of threads: the most jobs that run at once (plus the
    /// threads that wait for a job and run it themselves).
    public let threadCount: Int
    private let queue: Monitor<JobQueue>

    /// Starts `threads` threads (at least 1).
    public init(threads: Int) {
        precondition(threads >= 1, "a WorkerPool needs at least one thread")
        threadCount = threads
        let queue = Monitor(JobQueue())
        self.queue = queue
        queue.withLock { $0.threads = threads }
        for _ in 0..<threads { Self.startThread { Self.work(queue) } }
    }

    deinit {
        // Without a ``shutdown()``: the threads end once the queue is empty.
        // No waiting here, since the last reference may go on a pool thread.
        queue.withLock(waking: .all) { $0.stopped = true }
    }

    /// The number of cores the system has online (at least 1): the
    /// default `--jobs`.
    public static var onlineCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Queues `work`; a pool thread runs it, unless a thread waiting for
    /// the returned job runs it first (see ``PoolJob/wait()``).
    /// - Parameter urgent: put it before every queued job. The layer
    ///   pipeline (layer writes, gzip blocks, block writes) is urgent, bulk
    ///   work (input hashing in chunks) is not: a first build hashes its
    ///   inputs while it writes the layer, and the write must not wait for
    ///   a thousand hashing chunks queued before it.
    @discardableResult
    public func submit(urgent: Bool = false, _ work: @escaping @Sendable () -> Void) -> PoolJob {
        let job = PoolJob(work)
        queue.withLock(waking: .one) { queue in
            precondition(!queue.stopped, "WorkerPool.submit after shutdown")
            if urgent { queue.pushFront(job) } else { queue.jobs.append(job) }
        }
        return job
    }

    /// Runs `work` on a pool thread and returns its result, so blocking
    /// reads, writes and hashing never hold one of Swift concurrency's
    /// threads.
    /// - Parameter urgent: as for ``submit(urgent:_:)``.
    public func run<Success: Sendable, Failure: Error>(
        urgent: Bool = false, _ work: @escaping @Sendable () throws(Failure) -> Success
    ) async throws(Failure) -> Success {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<Success, Failure>, Never>) in
            submit(urgent: urgent) { continuation.resume(returning: Result { () throws(Failure) -> Success in try work() }) }
        }
        return try result.get()
    }

    /// Calls `body` with every index in `0..<iterations`, on up to
    /// `iterations` threads at once, and returns when every call has.
    ///
    /// The calling thread runs index 0 and then any index no pool thread
    /// has started, so this may be called from a pool job (see the type's
    /// notes) and never needs a free thread to finish.
    public func concurrentPerform(iterations: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard iterations > 0 else { return }
        let jobs = (1..<iterations).map { index in submit { body(index) } }
        body(0)
        for job in jobs { job.wait() }
    }

    /// Lets the threads finish the queued jobs, then waits until they
    /// have ended. Nothing may be submitted afterwards. Must not be called
    /// from a pool job.
    public func shutdown() {
        queue.withLock(waking: .all) { $0.stopped = true }
        queue.wait(until: { $0.threads == 0 }, then: { _ in })
    }

    /// A pool thread: runs jobs until the pool stops and the queue is empty.
    private static func work(_ queue: Monitor<JobQueue>) {
        while let job = queue.wait(until: { $0.head < $0.jobs.count || $0.stopped }, then: { $0.next() }) {
            job.runIfQueued()
        }
        // `.all`: ``shutdown()`` sleeps on the same condition as idle threads.
        queue.withLock(waking: .all) { $0.threads -= 1 }
    }

    private static func startThread(_ body: @escaping @Sendable () -> Void) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        let status = pthread_create(&thread, nil, { context in
            Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
        precondition(status == 0, "cannot start a pool thread (pthread_create: \(status))")
        pthread_detach(thread)
    }
}

/// The pool's FIFO of jobs and its thread count, behind its ``Monitor``.
private struct JobQueue {
    var jobs: [PoolJob] = []
    var head = 0
    var stopped = false
    /// Threads not yet ended.
    var threads = 0

    /// Queues `job` before every other.
    mutating func pushFront(_ job: PoolJob) {
        if head > 0 {
            head -= 1
            jobs[head] = job
        } else {
            jobs.insert(job, at: 0)
        }
    }

    /// The oldest queued job, or nil when the queue is empty (then the pool
    /// has stopped).
    mutating func next() -> PoolJob? {
        guard head < jobs.count else { return nil }
        let job = jobs[head]
        head += 1
        if head == jobs.count {
            jobs.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024 && head * 2 >= jobs.count {
            jobs.removeFirst(head)
            head = 0
        }
        return job
    }
}

/// A job submitted to a ``WorkerPool``: queued, then run exactly once,
/// by a pool thread or by a thread that waits for it.
public final class PoolJob: Sendable {
    private enum State {
        case queued(@Sendable () -> Void)
        case running
        case finished
    }

    private let state: Monitor<State>

    init(_ work: @escaping @Sendable () -> Void) {
        state = Monitor(.queued(work))
    }

    /// Returns once the job has run: at once when it had, after running it
    /// on this thread when no thread had started it, else after sleeping
    /// until the thread running it is done. What the job wrote is visible
    /// to the caller afterwards.
    public func wait() {
        if runIfQueued() { return }
        state.wait(until: { if case .finished = $0 { true } else { false } }, then: { _ in })
    }

    /// Whether the job has run to its end.
    public var isFinished: Bool {
        state.withLock { if case .finished = $0 { true } else { false } }
    }

    /// Runs the job on this thread if no thread has started it; returns
    /// whether it did.
    @discardableResult
    public func runIfQueued() -> Bool {
        let work: (@Sendable () -> Void)? = state.withLock { state in
            guard case .queued(let work) = state else { return nil }
            state = .running
            return work
        }
        guard let work else { return false }
        work()
        state.withLock(waking: .all) { $0 = .finished }
        return true
    }
}
