import Synchronization

/// Makes a server's `stop()` safe to call twice (a test's `defer` and then
/// `deinit`): only the first ``claim()`` is true, so a process is killed and
/// its directory removed once, and a reused pid is never signalled.
final class StopFlag: Sendable {
    private let stopped = Mutex(false)

    /// True the first time only.
    func claim() -> Bool {
        stopped.withLock { stopped in
            defer { stopped = true }
            return !stopped
        }
    }
}
