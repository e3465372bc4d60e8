internal import Glibc
internal import CLinux

/// One run of a ``ChildProcess`` (spawn, stream, reap) as a small state
/// machine. A driver asks ``nextWait()`` which descriptors to poll and for
/// how long, polls them its own way (``ChildProcess/capture()`` on the
/// calling thread, ``ChildProcess/run(onLine:)`` through ``PollThread``)
/// and hands the result to ``handle(_:)``, until ``nextWait()`` says the run
/// is over; then ``finish()`` reaps the child.
///
/// Not `Sendable`: one driver owns it from spawn to reap.
final class ChildProcessRun {
    /// What becomes of the child's output.
    enum Output {
        /// Split into lines, each handed over as it completes.
        case lines(@Sendable (ChildProcess.Line) -> Void)
        /// Kept whole, byte for byte.
        case capture
    }

    /// What to poll next.
    struct Wait {
        /// Descriptors to wait on for input (or hang-up).
        var descriptors: [Int32]
        /// `poll`'s timeout: -1 for none.
        var milliseconds: Int32
    }

    /// What a finished run reports.
    struct Finished {
        var outcome: ChildProcess.Outcome
        var standardOutput: [UInt8]
        var standardError: [UInt8]
    }

    /// After the child exits, how long output held open by an escaped
    /// descendant (one that left the process group) is still read.
    private static let drainGrace: Duration = .seconds(1)
    /// Upper bound on one wait, so an exited child is noticed even while
    /// something else holds its output open, where the kernel has no
    /// `pidfd_open` (before Linux 5.3) to say so.
    private static let pollSliceMilliseconds: Int32 = 200

    private let process: ChildProcess
    private let wake: WakePipe?
    private let onLine: (@Sendable (ChildProcess.Line) -> Void)?
    private let pid: pid_t
    /// Readable once the child has exited; -1 where the kernel cannot.
    private let exitDescriptor: Int32
    private let output: OwnedPipe
    private let errors: OwnedPipe
    private var readers: [StreamReader]
    private var tail: TailLines
    private let clock = ContinuousClock()
    private var deadline: ContinuousClock.Instant?
    private var drainDeadline: ContinuousClock.Instant?
    private var timedOut = false
    private var cancelled = false
    /// What the last ``nextWait()`` asked for, in order: an index into
    /// `readers`, or one of the roles below.
    private var waitingOn: [Int] = []
    private static let exitSlot = -1
    private static let wakeSlot = -2
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    /// Where the group's kills are watched for, until the child is reaped.
    private var watch: (thread: PollThread, identifier: UInt64)?

    /// Spawns the child.
    /// - Parameter wake: a pipe whose signal kills the group (cancellation);
    ///   nil when the run cannot be cancelled.
    init(process: ChildProcess, wake: WakePipe?, output mode: Output) throws(ChildProcessError) {
        self.process = process
        self.wake = wake
        if case .lines(let callback) = mode { onLine = callback } else { onLine = nil }
        output = try OwnedPipe()
        errors = try OwnedPipe()
        let request = try SpawnRequest(process: process, standardOutput: output.writeEnd, standardError: errors.writeEnd)
        pid = try Orphans.spawning { () throws(ChildProcessError) in try request.spawn() }
        output.closeWriteEnd()
        errors.closeWriteEnd()
        exitDescriptor = clinux_pidfd_open(pid)
        let splitsLines = onLine != nil
        readers = [
            StreamReader(descriptor: output.readEnd, stream: .standardOutput, splitsLines: splitsLines),
            StreamReader(descriptor: errors.readEnd, stream: .standardError, splitsLines: splitsLines),
        ]
        tail = TailLines(capacity: process.tailLineCount)
        deadline = process.timeout.map { clock.now + .seconds($0) }
    }

    deinit {
        unwatch()
        if exitDescriptor >= 0 { close(exitDescriptor) }
        buffer.deallocate()
    }

    /// Has `thread` kill the group the moment the child exits, the run is
    /// cancelled or the timeout passes, even while this run's task waits
    /// for a turn on a busy cooperative pool.
    func watch(on thread: PollThread) {
        let descriptors = [exitDescriptor, wake?.readEnd ?? -1].filter { $0 >= 0 }
        watch = (thread, thread.watch(group: pid, descriptors: descriptors, deadline: deadline))
    }

    /// Ends the watch; after this the watching thread never kills the
    /// group, so the child may be reaped (and its pid reused).
    private func unwatch() {
        guard let watch else { return }
        watch.thread.unwatch(watch.identifier)
        self.watch = nil
    }

    /// What to wait for next, or nil when the run is over (the child has
    /// exited and its output is read, or the drain grace has passed).
    func nextWait() -> Wait? {
        if drainDeadline == nil, ChildProcessRun.hasExited(pid) {
            // Whatever the command left running in its group goes too:
            // the layer is the state at the command's exit.
            kill(-pid, SIGKILL)
            drainDeadline = clock.now + ChildProcessRun.drainGrace
        }
        let open = readers.indices.filter { !readers[$0].closed }
        if let drainDeadline, open.isEmpty || clock.now >= drainDeadline { return nil }

        waitingOn = open
        if drainDeadline == nil, exitDescriptor >= 0 { waitingOn.append(ChildProcessRun.exitSlot) }
        if wake != nil, !cancelled { waitingOn.append(ChildProcessRun.wakeSlot) }
        var milliseconds: Int32 = drainDeadline == nil && exitDescriptor < 0 ? ChildProcessRun.pollSliceMilliseconds : -1
        for limit in [deadline, drainDeadline].compactMap({ $0 }) {
            let remaining = PollThread.milliseconds(from: clock.now, to: limit)
            milliseconds = milliseconds < 0 ? remaining : min(milliseconds, remaining)
        }
        let descriptors = waitingOn.map { slot in
            switch slot {
            case ChildProcessRun.exitSlot: exitDescriptor
            case ChildProcessRun.wakeSlot: wake?.readEnd ?? -1
            default: readers[slot].descriptor
            }
        }
        return Wait(descriptors: descriptors, milliseconds: milliseconds)
    }

    /// Takes the `revents` of the descriptors the last ``nextWait()`` named,
    /// in its order (all zero when the wait timed out).
    func handle(_ events: [Int16]) {
        for (slot, event) in zip(waitingOn, events) where event != 0 {
            switch slot {
            case ChildProcessRun.exitSlot:
                break  // the next nextWait() notices the exit
            case ChildProcessRun.wakeSlot:
                cancelled = true
                kill(-pid, SIGKILL)
            default:
                readers[slot].read(into: buffer) { line in
                    tail.append(line.text)
                    onLine?(line)
                }
            }
        }
        if let limit = deadline, clock.now >= limit {
            timedOut = true
            deadline = nil
            kill(-pid, SIGKILL)
        }
    }

    /// Ends a run whose waiting failed: kills the group and reaps it.
    func abandon(_ error: ChildProcessError) throws(ChildProcessError) -> Never {
        unwatch()
        kill(-pid, SIGKILL)
        _ = ChildProcessRun.reap(pid)
        throw error
    }

    /// Reaps the child once ``nextWait()`` returned nil.
    /// - Throws: `.cancelled` when the wake pipe was signalled.
    func finish() throws(ChildProcessError) -> Finished {
        unwatch()
        for index in readers.indices {
            readers[index].finish { line in
                tail.append(line.text)
                onLine?(line)
            }
        }
        let status = ChildProcessRun.reap(pid)
        if cancelled { throw .cancelled(executable: process.executable) }
        let termination: ChildProcess.Termination
        if timedOut, let seconds = process.timeout {
            termination = .timedOut(seconds: seconds)
        } else {
            termination = ChildProcess.Termination(waitStatus: status)
        }
        return Finished(outcome: ChildProcess.Outcome(termination: termination, lastLines: tail.lines),
                        standardOutput: readers[0].captured, standardError: readers[1].captured)
    }

    /// Whether the child has exited, without reaping it: while it is a
    /// zombie its pid, and so its process group id, cannot be reused, so
    /// `kill(-pid)` can only reach the command's own group.
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        while true {
            let result = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if result == 0 { return info.si_signo == SIGCHLD }
            if errno != EINTR { return true }
        }
    }

    private static func reap(_ pid: pid_t) -> Int32 {
        Orphans.reaping(pid)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { break }
        }
        Orphans.reaped(pid)
        return status
    }
}

extension ChildProcess.Termination {
    /// Decodes a `waitpid` status word with the C library's own macros.
    init(waitStatus status: Int32) {
        if clinux_wifsignaled(status) != 0 {
            self = .signaled(clinux_wtermsig(status))
        } else {
            // waitpid without WUNTRACED reports only exits and deaths.
            self = .exited(clinux_wexitstatus(status))
        }
    }
}

/// One of the child's streams as bytes arrive: split into lines, or kept
/// whole.
private struct StreamReader {
    let descriptor: Int32
    let stream: ChildProcess.Stream
    let splitsLines: Bool
    var closed = false
    /// The incomplete last line, or when not splitting, everything so far.
    private(set) var captured: [UInt8] = []

    init(descriptor: Int32, stream: ChildProcess.Stream, splitsLines: Bool) {
        self.descriptor = descriptor
        self.stream = stream
        self.splitsLines = splitsLines
    }

    mutating func read(into buffer: UnsafeMutableRawBufferPointer, emit: (ChildProcess.Line) -> Void) {
        let count = Glibc.read(descriptor, buffer.baseAddress, buffer.count)
        if count < 0 {
            if errno == EINTR || errno == EAGAIN { return }
            closed = true
            return
        }
        if count == 0 {
            closed = true
            return
        }
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<count])
        guard splitsLines else {
            captured.append(contentsOf: bytes)
            return
        }
        var start = 0
        for index in 0..<count where bytes[index] == 0x0A {
            captured.append(contentsOf: bytes[start..<index])
            flush(emit: emit)
            start = index + 1
        }
        captured.append(contentsOf: bytes[start..<count])
        while captured.count >= ChildProcess.maximumLineLength {
            let piece = captured.prefix(ChildProcess.maximumLineLength)
            emit(ChildProcess.Line(stream: stream, text: String(decoding: piece, as: UTF8.self)))
            captured.removeFirst(piece.count)
        }
    }

    /// Hands over a last line that had no newline.
    mutating func finish(emit: (ChildProcess.Line) -> Void) {
        if splitsLines, !captured.isEmpty { flush(emit: emit) }
    }

    private mutating func flush(emit: (ChildProcess.Line) -> Void) {
        emit(ChildProcess.Line(stream: stream, text: String(decoding: captured, as: UTF8.self)))
        captured.removeAll(keepingCapacity: true)
    }
}

/// The last few lines, oldest first.
private struct TailLines {
    let capacity: Int
    private var ring: [String] = []
    private var next = 0

    init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    mutating func append(_ line: String) {
        guard capacity > 0 else { return }
        if ring.count < capacity {
            ring.append(line)
        } else {
            ring[next] = line
            next = (next + 1) % capacity
        }
    }

    var lines: [String] { Array(ring[next...] + ring[..<next]) }
}

/// A self-pipe another thread writes to so that a `poll` including its
/// read end wakes: the cancellation handler's way to make a run kill its
/// group itself (it alone knows whether the child has been reaped), and
/// ``PollThread``'s way to learn of a new waiter. Both ends are
/// non-blocking, so a signal never waits on a full pipe.
final class WakePipe: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32

    init() throws(ChildProcessError) {
        let ends = try closeOnExecPipe(flags: O_NONBLOCK)
        readEnd = ends.read
        writeEnd = ends.write
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
    }

    /// Empties the pipe, so the next `poll` waits again.
    func drain() {
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while withUnsafeMutableBytes(of: &bytes, { read(readEnd, $0.baseAddress, $0.count) }) > 0 {}
    }

    deinit {
        close(readEnd)
        close(writeEnd)
    }
}

/// A pipe whose ends are closed when no longer needed, and at the latest
/// in `deinit`.
private final class OwnedPipe {
    let readEnd: Int32
    private(set) var writeEnd: Int32

    init() throws(ChildProcessError) {
        let ends = try closeOnExecPipe()
        readEnd = ends.read
        writeEnd = ends.write
    }

    func closeWriteEnd() {
        if writeEnd >= 0 { close(writeEnd) }
        writeEnd = -1
    }

    deinit {
        close(readEnd)
        closeWriteEnd()
    }
}

/// The C state of one `posix_spawn` call, at stable heap addresses until
/// `deinit`.
private final class SpawnRequest {
    private let actions = UnsafeMutablePointer<posix_spawn_file_actions_t>.allocate(capacity: 1)
    private let attributes = UnsafeMutablePointer<posix_spawnattr_t>.allocate(capacity: 1)
    private let argv: [UnsafeMutablePointer<CChar>?]
    private let envp: [UnsafeMutablePointer<CChar>?]
    private let executable: String
    private var initialized = false
    /// The memory file holding ``ChildProcess/Input/bytes(_:)``, or -1.
    private var inputFile: Int32 = -1

    init(process: ChildProcess, standardOutput: Int32, standardError: Int32) throws(ChildProcessError) {
        var executable = process.executable
        var arguments = process.arguments
        if let mask = process.umask {
            arguments = ChildProcess.umaskWrapper(mask, environment: process.environment) + [executable] + arguments.dropFirst()
            executable = "/bin/sh"
        }
        self.executable = executable
        argv = arguments.map { strdup($0) } + [nil]
        envp = process.environment.sorted { $0.key < $1.key }.map { strdup($0.key + "=" + $0.value) } + [nil]

        posix_spawn_file_actions_init(actions)
        posix_spawnattr_init(attributes)
        initialized = true

        switch process.standardInput {
        case .file(let path):
            try SpawnRequest.check("posix_spawn_file_actions_addopen", posix_spawn_file_actions_addopen(actions, 0, path, O_RDONLY, 0))
        case .bytes(let bytes):
            inputFile = try SpawnRequest.memoryFile(holding: bytes)
            try SpawnRequest.check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(actions, inputFile, 0))
        }
        try SpawnRequest.check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(actions, standardOutput, 1))
        try SpawnRequest.check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(actions, standardError, 2))
        // Descriptors other threads opened without close-on-exec must not
        // reach the child: an inherited pipe would hold another command's
        // output open.
        try SpawnRequest.check("posix_spawn_file_actions_addclosefrom_np", clinux_spawn_addclosefrom(actions, 3))
        if let directory = process.workingDirectory {
            try SpawnRequest.check("posix_spawn_file_actions_addchdir_np", clinux_spawn_addchdir(actions, directory))
        }

        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        try SpawnRequest.check("posix_spawnattr_setsigmask", posix_spawnattr_setsigmask(attributes, &emptyMask))
        try SpawnRequest.check("posix_spawnattr_setsigdefault", posix_spawnattr_setsigdefault(attributes, &allSignals))
        try SpawnRequest.check("posix_spawnattr_setpgroup", posix_spawnattr_setpgroup(attributes, 0))
        let flags = POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
        try SpawnRequest.check("posix_spawnattr_setflags", posix_spawnattr_setflags(attributes, Int16(flags)))
    }

    func spawn() throws(ChildProcessError) -> pid_t {
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, actions, attributes, argv, envp)
        guard result == 0 else { throw .spawnFailed(executable: executable, errno: result) }
        return pid
    }

    private static func check(_ call: String, _ result: Int32) throws(ChildProcessError) {
        guard result == 0 else { throw .systemCallFailed(call: call, errno: result) }
    }

    /// An anonymous close-on-exec file in memory holding `bytes`, read
    /// position at the start.
    private static func memoryFile(holding bytes: [UInt8]) throws(ChildProcessError) -> Int32 {
        let descriptor = clinux_memfd_create("kiln-stdin")
        guard descriptor >= 0 else { throw .systemCallFailed(call: "memfd_create", errno: errno) }
        var failure: (call: String, errno: Int32)?
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    failure = ("write", errno)
                    return
                }
                offset += written
            }
        }
        if failure == nil, lseek(descriptor, 0, SEEK_SET) < 0 { failure = ("lseek", errno) }
        if let failure {
            close(descriptor)
            throw .systemCallFailed(call: failure.call, errno: failure.errno)
        }
        return descriptor
    }

    deinit {
        if initialized {
            posix_spawn_file_actions_destroy(actions)
            posix_spawnattr_destroy(attributes)
        }
        if inputFile >= 0 { close(inputFile) }
        actions.deallocate()
        attributes.deallocate()
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
}

/// A pipe created close-on-exec atomically, so a concurrent spawn on
/// another thread cannot inherit it.
func closeOnExecPipe(flags: Int32 = 0) throws(ChildProcessError) -> (read: Int32, write: Int32) {
    var ends: [Int32] = [-1, -1]
    guard clinux_pipe2(&ends, O_CLOEXEC | flags) == 0 else { throw .systemCallFailed(call: "pipe2", errno: errno) }
    return (ends[0], ends[1])
}
