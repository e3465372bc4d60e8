internal import Glibc

/// One blocking run of a ``ChildProcess``: spawn, stream, reap. Lives on the
/// runner's own thread.
struct ChildProcessRun {
    let process: ChildProcess
    let wake: WakePipe
    let onLine: @Sendable (ChildProcess.Line) -> Void

    /// After the child exits, how long output held open by an escaped
    /// descendant (one that left the process group) is still read.
    private static let drainGrace: Duration = .seconds(1)
    /// Upper bound on one `poll`, so an exited child is noticed even while
    /// something else holds its output open.
    private static let pollSliceMilliseconds: Int32 = 200

    func run() throws(ChildProcessError) -> ChildProcess.Outcome {
        let output = try OwnedPipe()
        let errors = try OwnedPipe()
        let request = try SpawnRequest(process: process, standardOutput: output.writeEnd, standardError: errors.writeEnd)
        let pid = try request.spawn()
        output.closeWriteEnd()
        errors.closeWriteEnd()

        var readers = [
            StreamReader(descriptor: output.readEnd, stream: .standardOutput),
            StreamReader(descriptor: errors.readEnd, stream: .standardError),
        ]
        var tail = TailLines(capacity: process.tailLineCount)
        let emit: (ChildProcess.Line) -> Void = { line in
            tail.append(line.text)
            onLine(line)
        }
        let clock = ContinuousClock()
        var deadline = process.timeout.map { clock.now + .seconds($0) }
        var timedOut = false
        var cancelled = false
        var drainDeadline: ContinuousClock.Instant?
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }

        while true {
            if drainDeadline == nil, ChildProcessRun.hasExited(pid) {
                // Whatever the command left running in its group goes too:
                // the layer is the state at the command's exit.
                kill(-pid, SIGKILL)
                drainDeadline = clock.now + ChildProcessRun.drainGrace
            }
            let open = readers.indices.filter { !readers[$0].closed }
            if let drainDeadline, open.isEmpty || clock.now >= drainDeadline { break }

            var waitMilliseconds = ChildProcessRun.pollSliceMilliseconds
            for limit in [deadline, drainDeadline].compactMap({ $0 }) {
                waitMilliseconds = min(waitMilliseconds, ChildProcessRun.milliseconds(until: limit, clock: clock))
            }
            var descriptors = open.map { pollfd(fd: readers[$0].descriptor, events: Int16(POLLIN), revents: 0) }
            descriptors.append(pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0))
            let ready = poll(&descriptors, nfds_t(descriptors.count), waitMilliseconds)
            if ready < 0 && errno != EINTR {
                kill(-pid, SIGKILL)
                _ = ChildProcessRun.reap(pid)
                throw .systemCallFailed(call: "poll", errno: errno)
            }
            if ready > 0 {
                for (slot, index) in open.enumerated() where descriptors[slot].revents != 0 {
                    readers[index].read(into: buffer, emit: emit)
                }
                if descriptors[descriptors.count - 1].revents != 0, !cancelled {
                    cancelled = true
                    kill(-pid, SIGKILL)
                }
            }
            if let limit = deadline, clock.now >= limit {
                timedOut = true
                deadline = nil
                kill(-pid, SIGKILL)
            }
        }
        for index in readers.indices {
            readers[index].finish(emit: emit)
        }
        let status = ChildProcessRun.reap(pid)
        if cancelled { throw .cancelled(executable: process.executable) }
        let termination: ChildProcess.Termination
        if timedOut, let seconds = process.timeout {
            termination = .timedOut(seconds: seconds)
        } else if status & 0x7f == 0 {
            // The wait status word: exit code in bits 8–15, signal in 0–6
            // (Swift cannot import the W* macros).
            termination = .exited((status >> 8) & 0xff)
        } else {
            termination = .signaled(status & 0x7f)
        }
        return ChildProcess.Outcome(termination: termination, lastLines: tail.lines)
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
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 0 }
        }
        return status
    }

    private static func milliseconds(until instant: ContinuousClock.Instant, clock: ContinuousClock) -> Int32 {
        let remaining = clock.now.duration(to: instant)
        if remaining <= .zero { return 0 }
        let (seconds, attoseconds) = remaining.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
    }
}

/// Splits one stream into lines as bytes arrive.
private struct StreamReader {
    let descriptor: Int32
    let stream: ChildProcess.Stream
    var closed = false
    private var pending: [UInt8] = []

    init(descriptor: Int32, stream: ChildProcess.Stream) {
        self.descriptor = descriptor
        self.stream = stream
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
        var start = 0
        for index in 0..<count where bytes[index] == 0x0A {
            pending.append(contentsOf: bytes[start..<index])
            flush(emit: emit)
            start = index + 1
        }
        pending.append(contentsOf: bytes[start..<count])
        while pending.count >= ChildProcess.maximumLineLength {
            let piece = pending.prefix(ChildProcess.maximumLineLength)
            emit(ChildProcess.Line(stream: stream, text: String(decoding: piece, as: UTF8.self)))
            pending.removeFirst(piece.count)
        }
    }

    /// Hands over a last line that had no newline.
    mutating func finish(emit: (ChildProcess.Line) -> Void) {
        if !pending.isEmpty { flush(emit: emit) }
    }

    private mutating func flush(emit: (ChildProcess.Line) -> Void) {
        emit(ChildProcess.Line(stream: stream, text: String(decoding: pending, as: UTF8.self)))
        pending.removeAll(keepingCapacity: true)
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

/// A self-pipe the cancellation handler writes to, so the runner's `poll`
/// wakes and kills the group itself (it alone knows whether the child has
/// been reaped).
final class WakePipe: Sendable {
    let readEnd: Int32
    private let writeEnd: Int32

    init() throws(ChildProcessError) {
        let ends = try GlibcExtensions.closeOnExecPipe()
        readEnd = ends.read
        writeEnd = ends.write
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)
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
        let ends = try GlibcExtensions.closeOnExecPipe()
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

        try SpawnRequest.check("posix_spawn_file_actions_addopen",
                               posix_spawn_file_actions_addopen(actions, 0, process.standardInput, O_RDONLY, 0))
        try SpawnRequest.check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(actions, standardOutput, 1))
        try SpawnRequest.check("posix_spawn_file_actions_adddup2", posix_spawn_file_actions_adddup2(actions, standardError, 2))
        // Descriptors other threads opened without close-on-exec must not
        // reach the child: an inherited pipe would hold another command's
        // output open.
        try SpawnRequest.check("posix_spawn_file_actions_addclosefrom_np", GlibcExtensions.addClosefrom(actions, 3))
        if let directory = process.workingDirectory {
            try SpawnRequest.check("posix_spawn_file_actions_addchdir_np", GlibcExtensions.addChdir(actions, directory))
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

    deinit {
        if initialized {
            posix_spawn_file_actions_destroy(actions)
            posix_spawnattr_destroy(attributes)
        }
        actions.deallocate()
        attributes.deallocate()
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
}

/// glibc functions Swift's Glibc module does not import (they are declared
/// only under `_GNU_SOURCE`), looked up by name at run time.
enum GlibcExtensions {
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32

    static func addChdir(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ path: String) throws(ChildProcessError) -> Int32 {
        let function = try lookup("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
        return function(actions, path)
    }

    static func addClosefrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) throws(ChildProcessError) -> Int32 {
        let function = try lookup("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)
        return function(actions, lowest)
    }

    /// A pipe created close-on-exec atomically, so a concurrent spawn on
    /// another thread cannot inherit it.
    static func closeOnExecPipe() throws(ChildProcessError) -> (read: Int32, write: Int32) {
        let function = try lookup("pipe2", as: Pipe2.self)
        var ends: [Int32] = [-1, -1]
        guard function(&ends, O_CLOEXEC) == 0 else { throw .systemCallFailed(call: "pipe2", errno: errno) }
        return (ends[0], ends[1])
    }

    private static func lookup<Function>(_ name: String, as type: Function.Type) throws(ChildProcessError) -> Function {
        // A nil handle is RTLD_DEFAULT: the global symbol scope.
        guard let symbol = dlsym(nil, name) else { throw .missingLibraryFunction(name) }
        return unsafeBitCast(symbol, to: type)
    }
}
