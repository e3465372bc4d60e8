import KilnProcess

/// Runs a command's work so that ^C, SIGTERM or SIGHUP cancels it: the
/// task unwinds (transfers stop, build commands are killed, staging
/// directories are removed) and kiln exits 128 + the signal.
enum Interruptible {
    /// What the work came to, and the signal that interrupted it, if any.
    struct Outcome<Value: Sendable>: Sendable {
        var result: Result<Value, any Error>
        /// The first signal and the exit code it asks for.
        var interruption: (signal: Int32, code: Int32)?
    }

    /// Runs `work`, cancelled by the first signal.
    /// - Throws: ``CommandFailure`` when the signals cannot be watched.
    static func outcome<Value: Sendable>(_ work: @escaping @Sendable () async throws -> Value) async throws -> Outcome<Value> {
        let task = Task { try await work() }
        let interrupts: Interrupts
        do {
            interrupts = try Interrupts.watch { _ in task.cancel() }
        } catch {
            task.cancel()
            _ = await task.result
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
        let result = await task.result
        return Outcome(result: result, interruption: interrupts.signal.flatMap { signal in interrupts.exitCode.map { (signal, $0) } })
    }

    /// Runs `work`; a signal that stopped it is exit 128 + the signal with
    /// the previous output as it was.
    static func run<Value: Sendable>(_ work: @escaping @Sendable () async throws -> Value) async throws -> Value {
        let outcome = try await outcome(work)
        if case .failure = outcome.result, let (signal, code) = outcome.interruption {
            throw CommandFailure(code: code, message: "kiln: interrupted by \(Interrupts.name(of: signal)); the previous output is as it was")
        }
        return try outcome.result.get()
    }
}
