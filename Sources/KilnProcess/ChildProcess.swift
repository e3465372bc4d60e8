internal import Glibc

/// A command to run as a child process in its own process group: kiln's one
/// way of running another program.
///
/// ``run(onLine:)`` streams the output line by line to a callback (build
/// commands, gpgv); ``capture()`` collects each stream's bytes whole (git,
/// the tests' tools). Neither starts a thread per child: the synchronous
/// ``capture()`` polls the pipes on the calling thread, and every async run
/// waits on one shared polling thread.
///
/// Nothing of kiln's own environment reaches the child: it gets exactly
/// ``environment``, the working directory it is given, `stdin` from
/// ``standardInput``, and only file descriptors 0, 1 and 2. On a timeout or
/// when the calling task is cancelled the whole process group is killed, and
/// so is whatever the command left running in its group when it exits (so
/// a background process cannot hold the output open or keep writing).
///
/// Linux with glibc 2.34 or later (for `posix_spawn_file_actions_addchdir_np`
/// and `..._addclosefrom_np`, linked through the CLinux shim).
public struct ChildProcess: Sendable {
    /// Absolute path of the program to execute (see ``locate(_:searchPath:relativeTo:)``).
    public var executable: String
    /// The argument vector, `argv[0]` included.
    public var arguments: [String]
    /// The complete environment of the child.
    public var environment: [String: String]
    /// Directory the child starts in, or nil for kiln's own.
    public var workingDirectory: String?
    /// What the child reads on its standard input.
    public var standardInput: Input
    /// File-creation mask for the child, or nil to inherit kiln's. Applied
    /// by a `/bin/sh` that sets it and then `exec`s the program, because
    /// `posix_spawn` has no umask attribute and changing kiln's own would
    /// race with every other thread creating files.
    public var umask: UInt16?
    /// Seconds before the process group is killed, or nil for no limit.
    public var timeout: Int?
    /// How many of the last output lines ``Outcome/lastLines`` keeps.
    public var tailLineCount: Int

    /// Describes a child process; nothing runs until ``run(onLine:)`` or
    /// ``capture()``.
    public init(
        executable: String, arguments: [String], environment: [String: String],
        workingDirectory: String? = nil, standardInput: Input = .file("/dev/null"),
        umask: UInt16? = nil, timeout: Int? = nil, tailLineCount: Int = 20
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.umask = umask
        self.timeout = timeout
        self.tailLineCount = tailLineCount
    }

    /// The child's standard input.
    public enum Input: Sendable, Hashable {
        /// This file, opened read-only (`/dev/null` by default).
        case file(String)
        /// These bytes, then end of file. They sit in an anonymous file in
        /// memory, so the child reads them at its own pace and kiln never
        /// blocks writing to a child that stopped reading.
        case bytes([UInt8])
    }

    /// Which of the child's streams a line came from.
    public enum Stream: Sendable, Hashable {
        /// File descriptor 1.
        case standardOutput
        /// File descriptor 2.
        case standardError
    }

    /// One complete line of output, without its newline. Lines longer than
    /// ``maximumLineLength`` bytes arrive in pieces of that size; a last
    /// line without a newline arrives when the stream closes. Invalid UTF-8
    /// is replaced, never dropped.
    public struct Line: Sendable, Hashable {
        /// The stream the line came from.
        public var stream: Stream
        /// The line, without its newline.
        public var text: String

        /// A line as the runner hands it over.
        public init(stream: Stream, text: String) {
            self.stream = stream
            self.text = text
        }
    }

    /// Longest line handed over whole; longer ones are split.
    public static let maximumLineLength = 16 * 1024

    /// How the child ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it (not kiln's timeout).
        case signaled(Int32)
        /// Kiln killed the process group after ``ChildProcess/timeout`` seconds.
        case timedOut(seconds: Int)

        /// True for `exited(0)` only.
        public var isSuccess: Bool { self == .exited(0) }

        /// `exited with status 2`, `was killed by SIGSEGV`, `timed out after 5 s`.
        public var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signaled(let signal): "was killed by \(ChildProcess.signalName(signal))"
            case .timedOut(let seconds): "timed out after \(seconds) s"
            }
        }
    }

    /// What a finished run reports.
    public struct Outcome: Sendable, Hashable {
        /// How the child ended.
        public var termination: Termination
        /// The last ``ChildProcess/tailLineCount`` lines of output, both
        /// streams, in arrival order.
        public var lastLines: [String]

        /// An outcome as the runner reports it.
        public init(termination: Termination, lastLines: [String]) {
            self.termination = termination
            self.lastLines = lastLines
        }
    }

    /// What ``capture()`` returns.
    public struct Captured: Sendable, Hashable {
        /// How the child ended.
        public var termination: Termination
        /// Every byte the child wrote to its standard output.
        public var standardOutput: [UInt8]
        /// Every byte the child wrote to its standard error.
        public var standardError: [UInt8]

        /// A capture as the runner reports it.
        public init(termination: Termination, standardOutput: [UInt8], standardError: [UInt8]) {
            self.termination = termination
            self.standardOutput = standardOutput
            self.standardError = standardError
        }
    }

    /// Runs the child to its end, calling `onLine` for each line as it
    /// arrives. The task is suspended, not blocked, while the child runs:
    /// its pipes are watched by one polling thread shared by every run.
    ///
    /// - Parameter onLine: called on the calling task, one call at a time,
    ///   always with whole lines.
    /// - Returns: the termination and the tail of the output; a non-zero
    ///   exit is an outcome, not an error.
    /// - Throws: ``ChildProcessError`` when the child cannot be started, or
    ///   `.cancelled` when the calling task was cancelled (the group was killed).
    public func run(onLine: @escaping @Sendable (Line) -> Void) async throws(ChildProcessError) -> Outcome {
        let wake = try WakePipe()
        // withTaskCancellationHandler rethrows untyped; a Result keeps the type.
        let result: Result<Outcome, ChildProcessError> = await withTaskCancellationHandler {
            do throws(ChildProcessError) {
                return .success(try await streamLines(wake: wake, onLine: onLine))
            } catch {
                return .failure(error)
            }
        } onCancel: {
            // The run's own loop kills the group when it sees this: it alone
            // knows whether the child has been reaped (and its pid freed).
            wake.signal()
        }
        return try result.get()
    }

    private func streamLines(wake: WakePipe, onLine: @escaping @Sendable (Line) -> Void) async throws(ChildProcessError) -> Outcome {
        let watcher = try PollThread.shared.get()
        let run = try ChildProcessRun(process: self, wake: wake, output: .lines(onLine))
        run.watch(on: watcher)
        while let wait = run.nextWait() {
            switch await watcher.wait(wait) {
            case .success(let events): run.handle(events)
            case .failure(let error): try run.abandon(error)
            }
        }
        return try run.finish().outcome
    }

    /// Runs the child to its end on the calling thread, which it blocks,
    /// and returns everything the child wrote, byte for byte.
    ///
    /// For short commands whose output is data (git, the tests' tools);
    /// ``timeout`` applies, ``tailLineCount`` does not. Both pipes are read
    /// as the child writes, so a chatty error stream cannot block it.
    /// - Throws: ``ChildProcessError`` when the child cannot be started.
    public func capture() throws(ChildProcessError) -> Captured {
        let run = try ChildProcessRun(process: self, wake: nil, output: .capture)
        while let wait = run.nextWait() {
            var descriptors = wait.descriptors.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if poll(&descriptors, nfds_t(descriptors.count), wait.milliseconds) < 0 {
                if errno == EINTR { continue }
                try run.abandon(.systemCallFailed(call: "poll", errno: errno))
            }
            run.handle(descriptors.map(\.revents))
        }
        let finished = try run.finish()
        return Captured(termination: finished.outcome.termination,
                        standardOutput: finished.standardOutput, standardError: finished.standardError)
    }

    /// Finds a program the way `execvp` would with `searchPath` as `PATH`.
    ///
    /// A name containing `/` is taken as a path (relative ones against
    /// `directory`); a bare name is looked up in each directory of
    /// `searchPath` in order (empty entries mean `directory`).
    /// - Returns: the absolute path of an executable regular file, or nil.
    public static func locate(_ name: String, searchPath: String, relativeTo directory: String) -> String? {
        guard !name.isEmpty else { return nil }
        if name.contains("/") {
            let path = name.hasPrefix("/") ? name : directory + "/" + name
            return isExecutableFile(path) ? path : nil
        }
        for entry in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let base = entry.isEmpty ? directory : String(entry)
            let candidate = base.hasPrefix("/") ? base + "/" + name : directory + "/" + base + "/" + name
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// The `/bin/sh -c` prefix that sets `mask` and then `exec`s the
    /// program that follows it (as `$0`, so the program's `argv[0]` becomes
    /// its path) with the remaining arguments.
    ///
    /// Also for callers that must apply the mask inside another launcher
    /// (bubblewrap). The shell would export a `PWD` of its own, so it drops
    /// it unless `environment` sets one.
    package static func umaskWrapper(_ mask: UInt16, environment: [String: String]) -> [String] {
        let unsetPWD = environment["PWD"] == nil ? "unset PWD; " : ""
        return ["/bin/sh", "-c", unsetPWD + "umask 0" + String(mask & 0o777, radix: 8) + " && exec \"$0\" \"$@\""]
    }

    private static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// The conventional name of a Linux signal (`SIGKILL`), or `signal N`.
    public static func signalName(_ signal: Int32) -> String {
        let names: [Int32: String] = [
            SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL",
            SIGTRAP: "SIGTRAP", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE",
            SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1", SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2",
            SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGSTKFLT: "SIGSTKFLT",
            SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP",
            SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU",
            SIGXFSZ: "SIGXFSZ", SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH",
            SIGIO: "SIGIO", SIGPWR: "SIGPWR", SIGSYS: "SIGSYS",
        ]
        return names[signal] ?? "signal \(signal)"
    }
}

/// Why a child process could not be run.
public enum ChildProcessError: Error, Hashable, Sendable, CustomStringConvertible {
    /// `posix_spawn` failed (the program is missing, not executable, …).
    case spawnFailed(executable: String, errno: Int32)
    /// A system call kiln needs around the child failed.
    case systemCallFailed(call: String, errno: Int32)
    /// This C library lacks a function kiln needs. No longer raised: the
    /// CLinux shim links every such function at build time, so a C library
    /// without one fails to load kiln at all. Kept so code that matches on
    /// it still compiles.
    case missingLibraryFunction(String)
    /// The calling task was cancelled; the process group was killed.
    case cancelled(executable: String)

    /// What failed and why, with the C library's wording for `errno`.
    public var description: String {
        switch self {
        case .spawnFailed(let executable, let code):
            "cannot run \(executable): \(ChildProcessError.message(code))"
        case .systemCallFailed(let call, let code):
            "\(call) failed: \(ChildProcessError.message(code))"
        case .missingLibraryFunction(let name):
            "the C library has no \(name) (kiln needs glibc 2.34 or later to run commands)"
        case .cancelled(let executable):
            "\(executable) was cancelled and its process group killed"
        }
    }

    package static func message(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
