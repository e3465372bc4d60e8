import KilnProcess

/// Runs a command's work so that ^C, SIGTERM or SIGHUP cancels it: the
/// task unwinds (transfers stop, staging directories are removed) and kiln
/// exits 128 + the signal, the previous output as it was. `kiln build` has
/// its own version of this, which also sweeps orphaned build processes.
enum Interruptible {
    static func run<Result: Sendable>(_ work: @escaping @Sendable () async throws -> Result) async throws -> Result {
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
        if case .failure = result, let signal = interrupts.signal, let code = interrupts.exitCode {
            throw CommandFailure(code: code, message: "kiln: interrupted by \(Interrupts.name(of: signal)); the previous output is as it was")
        }
        return try result.get()
    }
}
