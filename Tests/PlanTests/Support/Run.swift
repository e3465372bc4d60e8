import Foundation

/// The outcome of a finished process.
struct ProcessResult {
    var status: Int32
    /// Set when the process died of a signal (a crash), with its number.
    var signal: Int32?
    var stdout: String
    var stderr: String

    /// Exit status as a shell reports it: 128+N for a death by signal N.
    var shellStatus: Int32 { signal.map { 128 + $0 } ?? status }

    /// stderr split into lines, without the final empty one.
    var stderrLines: [String] { lines(stderr) }
}

/// `text` split at newlines, without the empty string after a final newline.
func lines(_ text: String) -> [String] {
    var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if result.last == "" { result.removeLast() }
    return result
}

/// Bytes read on another thread; set once before `group.wait()` returns.
private final class Collected: @unchecked Sendable {
    var data = Data()
}

/// Runs `executable` with `arguments` in `directory` and waits for it.
/// - Parameter environment: replaces the process environment when given.
func run(_ executable: URL, _ arguments: [String], in directory: String? = nil,
         environment: [String: String]? = nil, stdin: [UInt8] = []) throws -> ProcessResult {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    if let environment { process.environment = environment }
    let input = Pipe(), output = Pipe(), errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    // Drain stderr concurrently so a chatty child never blocks on a full pipe.
    let collected = Collected()
    let group = DispatchGroup()
    let errorHandle = errors.fileHandleForReading
    DispatchQueue.global().async(group: group) { collected.data = errorHandle.readDataToEndOfFile() }
    if !stdin.isEmpty { input.fileHandleForWriting.write(Data(stdin)) }
    try input.fileHandleForWriting.close()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    process.waitUntilExit()
    let signaled = process.terminationReason == .uncaughtSignal
    return ProcessResult(
        status: process.terminationStatus,
        signal: signaled ? process.terminationStatus : nil,
        stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: collected.data, as: UTF8.self))
}

/// Whether `python3` can import `jsonschema` (CI installs it from PyPI).
let jsonschemaAvailable: Bool = {
    guard let python = findExecutable("python3") else { return false }
    return (try? run(python, ["-c", "import jsonschema"]).status) == 0
}()

/// The first `name` on `PATH`.
func findExecutable(_ name: String) -> URL? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
}
