internal import Glibc
internal import Synchronization

/// The one thread that waits in `poll(2)` for every async
/// ``ChildProcess/run(onLine:)`` at once.
///
/// A run hands over the descriptors it waits on and is suspended; when one
/// of them is ready or its time is up, this thread resumes it and the run
/// reads its pipes on its own task. So any number of concurrent children
/// cost one thread, started on first use, never a thread per child, and
/// the cooperative pool is never blocked in a system call.
///
/// It also kills a run's process group the moment the child exits, the run
/// is cancelled or its timeout passes (a *watch*): a resumed run may wait
/// for a turn on a busy pool, and a background process must not go on
/// writing meanwhile.
final class PollThread: Sendable {
    /// The process-wide instance, or why it could not start.
    static let shared = Result { () throws(ChildProcessError) -> PollThread in try PollThread() }

    private struct Waiter {
        var descriptors: [Int32]
        var deadline: ContinuousClock.Instant?
        var continuation: CheckedContinuation<Result<[Int16], ChildProcessError>, Never>
    }

    private struct Watch {
        var group: pid_t
        /// Readable when the group must die: the child's pidfd, the run's wake pipe.
        var descriptors: [Int32]
        var deadline: ContinuousClock.Instant?
    }

    private struct State {
        var waiters: [UInt64: Waiter] = [:]
        var watches: [UInt64: Watch] = [:]
        var nextIdentifier: UInt64 = 0
    }

    private let state = Mutex(State())
    /// Wakes the thread's `poll` when a waiter arrives.
    private let wake: WakePipe
    private let clock = ContinuousClock()

    private init() throws(ChildProcessError) {
        wake = try WakePipe()
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            // The thread owns the reference taken above for as long as the
            // process lives.
            Unmanaged<PollThread>.fromOpaque(context!).takeUnretainedValue().loop()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<PollThread>.fromOpaque(context).release()
            throw .systemCallFailed(call: "pthread_create", errno: result)
        }
        pthread_detach(thread)
    }

    /// Kills `group` with SIGKILL once one of `descriptors` is readable or
    /// `deadline` has passed, unless ``unwatch(_:)`` comes first.
    /// - Returns: the watch's identifier for ``unwatch(_:)``.
    func watch(group: pid_t, descriptors: [Int32], deadline: ContinuousClock.Instant?) -> UInt64 {
        let identifier = state.withLock { state in
            state.nextIdentifier += 1
            state.watches[state.nextIdentifier] = Watch(group: group, descriptors: descriptors, deadline: deadline)
            return state.nextIdentifier
        }
        wake.signal()
        return identifier
    }

    /// Ends a watch. Once this returns the group is never killed by this
    /// thread (kills happen under the same lock), so its child may be
    /// reaped and its descriptors closed.
    func unwatch(_ identifier: UInt64) {
        state.withLock { _ = $0.watches.removeValue(forKey: identifier) }
    }

    /// Suspends until one of the wait's descriptors is readable (or hung
    /// up) or its time has passed.
    /// - Returns: each descriptor's `revents`, in order; all zero on a timeout.
    func wait(_ wait: ChildProcessRun.Wait) async -> Result<[Int16], ChildProcessError> {
        let deadline = wait.milliseconds < 0 ? nil : clock.now + .milliseconds(wait.milliseconds)
        return await withCheckedContinuation { continuation in
            state.withLock { state in
                state.nextIdentifier += 1
                state.waiters[state.nextIdentifier] = Waiter(
                    descriptors: wait.descriptors, deadline: deadline, continuation: continuation)
            }
            wake.signal()
        }
    }

    private func loop() {
        while true {
            let (waiting, watching) = state.withLock { state in
                (state.waiters.map { (identifier: $0.key, descriptors: $0.value.descriptors, deadline: $0.value.deadline) },
                 state.watches.map { (identifier: $0.key, descriptors: $0.value.descriptors, deadline: $0.value.deadline) })
            }
            var descriptors = [pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
            for entry in waiting + watching {
                descriptors += entry.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            }
            let nearest = (waiting + watching).compactMap(\.deadline).min()
            let timeout = nearest.map { PollThread.milliseconds(from: clock.now, to: $0) } ?? -1
            if poll(&descriptors, nfds_t(descriptors.count), timeout) < 0 {
                if errno == EINTR { continue }
                // Every waiter learns of it (and kills its child) rather than
                // this thread spinning on a poll that keeps failing.
                let failure = ChildProcessError.systemCallFailed(call: "poll", errno: errno)
                resume(waiting.map { ($0.identifier, Result.failure(failure)) })
                continue
            }
            if descriptors[0].revents != 0 { wake.drain() }
            let now = clock.now
            var ready: [(UInt64, Result<[Int16], ChildProcessError>)] = []
            var next = 1
            for waiter in waiting {
                let events = descriptors[next..<next + waiter.descriptors.count].map(\.revents)
                next += waiter.descriptors.count
                if events.contains(where: { $0 != 0 }) || waiter.deadline.map({ now >= $0 }) == true {
                    ready.append((waiter.identifier, .success(events)))
                }
            }
            var due: [UInt64] = []
            for watch in watching {
                let events = descriptors[next..<next + watch.descriptors.count]
                next += watch.descriptors.count
                if events.contains(where: { $0.revents != 0 }) || watch.deadline.map({ now >= $0 }) == true {
                    due.append(watch.identifier)
                }
            }
            if !due.isEmpty { killGroups(due) }
            resume(ready)
        }
    }

    /// Kills the groups of these watches and ends them: one kill is all a
    /// group needs.
    private func killGroups(_ identifiers: [UInt64]) {
        state.withLock { state in
            for identifier in identifiers {
                // Under the lock: a watch unwatched meanwhile is gone, and
                // its child may already be reaped.
                if let watch = state.watches.removeValue(forKey: identifier) { kill(-watch.group, SIGKILL) }
            }
        }
    }

    /// Removes the waiters before resuming them, so their descriptors are
    /// out of the next `poll` before their runs can close them.
    private func resume(_ results: [(UInt64, Result<[Int16], ChildProcessError>)]) {
        let continuations = state.withLock { state in
            results.compactMap { identifier, result in
                state.waiters.removeValue(forKey: identifier).map { ($0.continuation, result) }
            }
        }
        for (continuation, result) in continuations { continuation.resume(returning: result) }
    }

    /// `poll`'s timeout for a deadline: rounded up, so a wait never ends
    /// just before it.
    static func milliseconds(from now: ContinuousClock.Instant, to instant: ContinuousClock.Instant) -> Int32 {
        let remaining = now.duration(to: instant)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}
