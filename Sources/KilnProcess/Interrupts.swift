internal import CLinux
internal import Glibc
internal import Synchronization

/// What kiln does when it is told to stop (SIGINT from ^C, SIGTERM from a CI
/// runner or `kill`, SIGHUP from a closed terminal).
///
/// The first signal calls the handler given to ``watch(_:)`` — `kiln build`
/// cancels its build task there, and cancellation kills every running
/// build command's process group, stops layer writes and downloads, and
/// unwinds through the code that removes staging and scratch directories —
/// so the caller exits with ``exitCode`` once that is done. A second signal
/// means "now": kiln exits at once with the same code, leaving whatever
/// debris the unwinding had not reached.
///
/// The C handler only writes the signal number to a pipe; a dedicated
/// thread reads it, so nothing but `write(2)` runs in signal context.
public final class Interrupts: Sendable {
    private let received = Atomic<Int32>(0)
    private let handler: @Sendable (Int32) -> Void

    private init(handler: @escaping @Sendable (Int32) -> Void) {
        self.handler = handler
    }

    /// Installs the handlers and starts the thread that reports signals to
    /// `handler` (called once, on that thread). Call once per process.
    /// - Throws: ``ChildProcessError/systemCallFailed(call:errno:)`` when
    ///   the pipe, the handlers or the thread cannot be set up.
    public static func watch(_ handler: @escaping @Sendable (Int32) -> Void) throws(ChildProcessError) -> Interrupts {
        var ends: [Int32] = [-1, -1]
        guard clinux_pipe2(&ends, O_CLOEXEC) == 0 else { throw .systemCallFailed(call: "pipe2", errno: errno) }
        let interrupts = Interrupts(handler: handler)
        let context = Unmanaged.passRetained(Box(interrupts: interrupts, readEnd: ends[0])).toOpaque()
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.interrupts.loop(readEnd: box.readEnd)
            return nil
        }, context)
        guard started == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw .systemCallFailed(call: "pthread_create", errno: started)
        }
        pthread_detach(thread)
        guard clinux_forward_interrupts(ends[1]) == 0 else { throw .systemCallFailed(call: "sigaction", errno: errno) }
        return interrupts
    }

    /// The first signal received, or nil.
    public var signal: Int32? {
        let value = received.load(ordering: .acquiring)
        return value == 0 ? nil : value
    }

    /// The shell's convention: 128 + the signal (130 for SIGINT, 143 for
    /// SIGTERM), or nil when no signal came.
    public var exitCode: Int32? { signal.map { 128 + $0 } }

    /// `SIGINT`, `SIGTERM`, `SIGHUP`, for messages.
    public static func name(of signal: Int32) -> String {
        switch signal {
        case SIGINT: "SIGINT"
        case SIGTERM: "SIGTERM"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    /// What the starting thread hands to the new one.
    private final class Box: Sendable {
        let interrupts: Interrupts
        let readEnd: Int32
        init(interrupts: Interrupts, readEnd: Int32) {
            self.interrupts = interrupts
            self.readEnd = readEnd
        }
    }

    private func loop(readEnd: Int32) {
        var byte: UInt8 = 0
        while true {
            let count = read(readEnd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return }
            let signal = Int32(byte)
            let (first, _) = received.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing)
            if first {
                handler(signal)
            } else {
                _exit(128 + received.load(ordering: .acquiring))
            }
        }
    }
}
