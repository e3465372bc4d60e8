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
///
/// `kill -9` of kiln runs none of its code, so a command's process group
/// cannot be killed by kiln then. A *keeper* does it instead: a small
/// `/bin/sh` loop in a process group of its own, started with the
/// subreaper, that kiln tells each command's group as it is spawned and
/// again just before it is reaped. The keeper's standard input is a socket
/// only kiln holds; when kiln dies, however it dies, the kernel closes it,
/// the keeper reads end of file and kills every group it was told of and
/// not told to forget. (`PR_SET_PDEATHSIG` would need code between fork
/// and exec, which `posix_spawn` has no hook for, and it follows the
/// spawning *thread*, which a thread pool may retire.) What is left: a
/// kill -9 in the microseconds between a spawn and the keeper hearing of
/// it.
public enum Orphans {
    private struct State {
        var subreaper = false
        /// Children spawned by ``ChildProcess`` and not yet reaped.
        var running: Set<pid_t> = []
        /// The keeper's pid and kiln's end of its socket.
        var keeper: (pid: pid_t, socket: Int32)?
    }

    /// The keeper: reads `+GROUP` and `-GROUP` lines; at end of file kills
    /// the groups still listed. Terminal and termination signals are
    /// ignored, so only kiln's end closing ends it.
    static let keeperScript = """
        trap '' HUP INT TERM QUIT
        groups=
        while IFS= read -r line; do
          case $line in
            +*) groups="$groups ${line#+}" ;;
            -*) kept=; for group in $groups; do [ "$group" = "${line#-}" ] || kept="$kept $group"; done; groups=$kept ;;
          esac
        done
        for group in $groups; do kill -KILL "-$group" 2>/dev/null; done
        """

    private static let state = Mutex(State())

    /// Makes this process the reaper of its orphaned descendants. Call once,
    /// before running build commands (`kiln build` does).
    /// - Throws: ``ChildProcessError/systemCallFailed(call:errno:)``.
    ///
    /// Also starts the keeper (see above), so running commands' groups die
    /// with kiln even when it is killed with SIGKILL; where `/bin/sh`
    /// cannot be started that protection is missing and nothing else
    /// changes.
    public static func becomeSubreaper() throws(ChildProcessError) {
        guard clinux_become_subreaper() == 0 else { throw .systemCallFailed(call: "prctl(PR_SET_CHILD_SUBREAPER)", errno: errno) }
        state.withLock { state in
            state.subreaper = true
            guard state.keeper == nil else { return }
            var socket: Int32 = -1
            var pid: pid_t = 0
            if clinux_start_keeper(keeperScript, &socket, &pid) == 0 { state.keeper = (pid, socket) }
        }
    }

    /// Tells the keeper a line; a keeper that is gone is forgotten.
    private static func tell(_ line: String, _ state: inout State) {
        guard let keeper = state.keeper else { return }
        let sent = Array(line.utf8).withUnsafeBytes { clinux_send_nosignal(keeper.socket, $0.baseAddress, UInt($0.count)) }
        if sent < 0 && errno != EINTR {
            close(keeper.socket)
            state.keeper = nil
        }
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
                let orphans = children(of: getpid()).filter { $0 != state.keeper?.pid }
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
            tell("+\(pid)\n", &state)
            return pid
        }
    }

    /// A run's child is about to be reaped: its group (the child's pid,
    /// not reusable while it is a zombie) leaves the keeper's list first.
    static func reaping(_ pid: pid_t) {
        state.withLock { tell("-\(pid)\n", &$0) }
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
