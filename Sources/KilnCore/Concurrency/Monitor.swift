import Glibc

/// State behind a lock that a thread can also sleep on until another
/// thread changes it: a pthread mutex with one condition variable.
///
/// Kiln's lock is `Mutex` from Synchronization; this type exists only for
/// the few places that must *block* until a predicate holds — a pool
/// thread waiting for a job, a producer waiting for a block another thread
/// is compressing, ``WorkerPool/shutdown()`` waiting for the threads to
/// end. `Mutex` has no condition variable (nothing to sleep on and no way
/// to wake a sleeper), and polling it would burn a core on a two-core
/// machine, so those waits need this one primitive; everything else uses
/// `Mutex`.
public final class Monitor<State>: @unchecked Sendable {
    // @unchecked: `state` is only read or written while `mutex` is held,
    // and it enters through `sending`, so no other reference to it exists
    // outside the lock (the same reasoning as `Mutex`'s own conformance).
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var state: State

    /// Which sleepers a change wakes.
    public enum Wake: Sendable {
        /// Nobody: no sleeper waits for this change.
        case none
        /// One sleeper: any of them can act on the change (a queued job).
        case one
        /// Every sleeper: each waits for its own predicate.
        case all
    }

    /// - Parameter state: the guarded state.
    public init(_ state: sending State) {
        self.state = state
        // pthread objects must not move once initialized: heap storage,
        // owned here and destroyed in deinit.
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        precondition(pthread_mutex_init(mutex, nil) == 0 && pthread_cond_init(condition, nil) == 0)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deinitialize(count: 1)
        condition.deallocate()
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    /// Runs `body` holding the lock, then wakes the sleepers `wake` says.
    public func withLock<Result>(waking wake: Wake = .none, _ body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer {
            switch wake {
            case .none: break
            case .one: pthread_cond_signal(condition)
            case .all: pthread_cond_broadcast(condition)
            }
            pthread_mutex_unlock(mutex)
        }
        return try body(&state)
    }

    /// Sleeps until `ready` holds, then runs `body` still holding the lock
    /// (so nothing changes between the test and the body).
    public func wait<Result>(until ready: (borrowing State) -> Bool, then body: (inout State) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        // Wake-ups may be spurious: the predicate is tested again each time.
        while !ready(state) { pthread_cond_wait(condition, mutex) }
        return try body(&state)
    }
}
