public import KilnCore
import Synchronization
public import KilnProcess

/// Collects a child process's lines from the runner thread, for tests that
/// check what a command printed.
public final class BuildLineRecorder: Sendable {
    private let stored = Mutex<[ChildProcess.Line]>([])

    public init() {}

    /// Appends one line; called from any thread.
    public func record(_ line: ChildProcess.Line) {
        stored.withLock { $0.append(line) }
    }

    /// Every line recorded so far, in order.
    public var lines: [ChildProcess.Line] { stored.withLock { $0 } }
    /// The text of every line recorded so far.
    public var texts: [String] { lines.map(\.text) }
}
