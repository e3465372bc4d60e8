internal import CLinux
internal import Glibc
internal import Synchronization

/// Descendants that left their command's process group (`setsid`, a
/// daemonizing server) and so escape the group kill that ends every run.
///
/// Once ``becomeSubreaper()`` was called, Linux reparents such orphans to
/// kiln instead of init. Each time a run's child is reaped and no other
/// run is under way, every child of kiln that is not a running command's
/// is one of them: it is killed and reaped (and so are its own children,
/// which are reparented in turn). With runs under way the sweep waits for
/// the last of them, since an orphan may belong to a command still running.
public enum Orphans {
    private struct State {
        var subreaper = false
        /// Children spawned by ``ChildProcess`` and not yet reaped.
        var running: Set<pid_t> = []
    }

    private static let state = Mutex(State())

    /// Makes this process the reaper of its orphaned descendants. Call once,
    /// before running build commands (`kiln build` does).
    /// - Throws: ``ChildProcessError/systemCallFailed(call:errno:)``.
    public static func becomeSubreaper() throws(ChildProcessError) {
        guard clinux_become_subreaper() == 0 else { throw .systemCallFailed(call: "prctl(PR_SET_CHILD_SUBREAPER)", errno: errno) }
        state.withLock { $0.subreaper = true }
    }

    /// Kills and reaps every adopted orphan now, if no command runs.
    /// - Returns: how many were killed.
    @discardableResult
    public static func sweep() -> Int {
        state.withLock { state in
            guard state.subreaper, state.running.isEmpty else { return 0 }
            var killed = 0
            // Killing one reparents its children to us: go again until none
            // is left (bounded, in case something keeps forking).
            for _ in 0..<64 {
                let orphans = children(of: getpid())
                if orphans.isEmpty { break }
                for pid in orphans {
                    kill(pid, SIGKILL)
                    var status: Int32 = 0
                    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                    killed += 1
                }
            }
            return killed
        }
    }

    /// Spawns under the lock, so a sweep never takes a fresh child for an
    /// orphan.
    static func spawning(_ spawn: () throws(ChildProcessError) -> pid_t) throws(ChildProcessError) -> pid_t {
        try state.withLock { (state) throws(ChildProcessError) -> pid_t in
            let pid = try spawn()
            state.running.insert(pid)
            return pid
        }
    }

    /// A run's child was reaped; orphans are swept if it was the last.
    static func reaped(_ pid: pid_t) {
        state.withLock { _ = $0.running.remove(pid) }
        sweep()
    }

    /// The pids whose parent is `parent`, from `/proc/<pid>/stat`.
    private static func children(of parent: pid_t) -> [pid_t] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [pid_t] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = pid_t(name) else { continue }
            guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { continue }
            // After "pid (comm) ": state, then ppid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, pid_t(fields[1]) == parent { result.append(pid) }
        }
        return result
    }

    private static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }
}
