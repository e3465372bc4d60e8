import Foundation
import KilnCore
import KilnProcess

/// How a finished process ended and what it printed.
public struct ProcessResult: Sendable {
    /// The exit status, or the signal number when ``signal`` is set.
    public var status: Int32
    /// Set when the process died of a signal (a crash, a kill), with its number.
    public var signal: Int32?
    /// Everything written to stdout.
    public var output: [UInt8]
    /// Everything written to stderr.
    public var errorOutput: [UInt8]

    /// stdout as UTF-8 text (invalid bytes replaced).
    public var stdout: String { String(decoding: output, as: UTF8.self) }
    /// stderr as UTF-8 text (invalid bytes replaced).
    public var stderr: String { String(decoding: errorOutput, as: UTF8.self) }
    /// stderr split into lines, without the empty one after a final newline.
    public var stderrLines: [String] { lines(stderr) }
    /// stdout split into lines, without the empty one after a final newline.
    public var stdoutLines: [String] { lines(stdout) }
    /// Exit status as a shell reports it: 128+N for a death by signal N.
    public var shellStatus: Int32 { signal.map { 128 + $0 } ?? status }
    /// Exited with status 0.
    public var succeeded: Bool { signal == nil && status == 0 }
}

/// `text` split at newlines, without the empty string after a final newline.
public func lines(_ text: String) -> [String] {
    var result = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if result.last == "" { result.removeLast() }
    return result
}

/// Outside programs the tests drive: finding them, running them, and what
/// the tests derive from them (digests from `sha256sum`).
public enum Tools {
    /// The first executable `name` on `PATH`, or nil.
    public static func path(_ name: String) -> String? {
        let search = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in search.split(separator: ":") {
            let candidate = directory + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `arguments` (the first a path, or a name looked up in `PATH`)
    /// to completion through ``ChildProcess/capture()``, which reads both
    /// pipes as the child writes, so a chatty child never blocks.
    /// - Parameters:
    ///   - directory: the working directory (default: the test's).
    ///   - environment: the child's whole environment (default: the test
    ///     process's; see ``environment(setting:removing:)``).
    ///   - stdin: bytes on the child's standard input (then end of file).
    /// - Throws: ``TestSupportError`` when the program cannot be started.
    public static func execute(_ arguments: [String], in directory: String? = nil,
                               environment: [String: String]? = nil, stdin: [UInt8] = []) throws -> ProcessResult {
        guard let first = arguments.first else { throw TestSupportError("no program to run") }
        guard let executable = first.contains("/") ? first : path(first) else {
            throw TestSupportError("\(first) is not on PATH")
        }
        // argv[0] is the path, as Foundation's Process gave it.
        let child = ChildProcess(
            executable: executable, arguments: [executable] + arguments.dropFirst(),
            environment: environment ?? ProcessInfo.processInfo.environment,
            workingDirectory: directory, standardInput: .bytes(stdin))
        let captured: ChildProcess.Captured
        do {
            captured = try child.capture()
        } catch {
            throw TestSupportError("cannot run \(executable): \(error)")
        }
        let status: Int32
        var signal: Int32?
        switch captured.termination {
        case .exited(let code): status = code
        case .signaled(let number): status = number; signal = number
        case .timedOut: status = SIGKILL; signal = SIGKILL  // no timeout is set
        }
        return ProcessResult(status: status, signal: signal,
                             output: captured.standardOutput, errorOutput: captured.standardError)
    }

    /// ``execute(_:in:environment:stdin:)`` for a program that must succeed.
    /// - Returns: its stdout as text.
    /// - Throws: ``TestSupportError`` with the command, its status and stderr
    ///   when it exits non-zero or dies of a signal.
    @discardableResult
    public static func run(_ arguments: [String], in directory: String? = nil,
                           environment: [String: String]? = nil, stdin: [UInt8] = []) throws -> String {
        try succeeded(arguments, in: directory, environment: environment, stdin: stdin).stdout
    }

    /// ``run(_:in:environment:stdin:)`` returning stdout's bytes.
    public static func output(_ arguments: [String], in directory: String? = nil,
                              environment: [String: String]? = nil, stdin: [UInt8] = []) throws -> [UInt8] {
        try succeeded(arguments, in: directory, environment: environment, stdin: stdin).output
    }

    /// Runs `script` with `sh -euc` in `directory`; it must succeed.
    /// - Returns: its stdout as text.
    @discardableResult
    public static func shell(_ script: String, in directory: String, environment: [String: String]? = nil) throws -> String {
        try run(["sh", "-euc", script], in: directory, environment: environment)
    }

    /// Runs a Python 3 program with `python3 -c`; it must succeed.
    /// - Returns: its stdout's bytes.
    @discardableResult
    public static func python(_ program: String, _ arguments: [String] = [], in directory: String? = nil,
                              stdin: [UInt8] = []) throws -> [UInt8] {
        try output(["python3", "-c", program] + arguments, in: directory, stdin: stdin)
    }

    /// The test process's environment with `setting` applied and the
    /// `removing` variables taken out.
    public static func environment(setting: [String: String] = [:], removing: [String] = []) -> [String: String] {
        var result = ProcessInfo.processInfo.environment
        for name in removing { result[name] = nil }
        result.merge(setting) { _, new in new }
        return result
    }

    /// `arguments` run as the unprivileged user and group 65534 (nobody)
    /// with no supplementary groups, through `setpriv`: how a test that
    /// runs as root (CI does) still meets permission checks.
    public static func asNobody(_ arguments: [String]) -> [String] {
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"] + arguments
    }

    /// `sha256:<hex>` of a file, as `sha256sum` computes it: an outside
    /// check on kiln's own digests.
    public static func sha256(file: String) throws -> String {
        "sha256:" + (try run(["sha256sum", "--", file])).prefix(64)
    }

    /// `sha256:<hex>` of `bytes`, as `sha256sum` computes it.
    public static func sha256(_ bytes: [UInt8]) throws -> String {
        "sha256:" + (try run(["sha256sum"], stdin: bytes)).prefix(64)
    }

    private static func succeeded(_ arguments: [String], in directory: String?,
                                  environment: [String: String]?, stdin: [UInt8]) throws -> ProcessResult {
        let result = try execute(arguments, in: directory, environment: environment, stdin: stdin)
        guard result.succeeded else {
            let ending = result.signal.map { "died of signal \($0)" } ?? "exited with \(result.status)"
            throw TestSupportError("\(arguments.joined(separator: " ")) \(ending): \(result.stderr)\(result.stdout)")
        }
        return result
    }
}

extension Tools {
    /// Runs `kiln` (``KilnBinary/path``) with `arguments`, in an
    /// environment without `SOURCE_DATE_EPOCH` and `NO_COLOR` unless
    /// `environment` sets them, so the host running the tests changes no
    /// default.
    public static func kiln(_ arguments: [String], in directory: String? = nil,
                            environment: [String: String]? = nil, stdin: [UInt8] = []) throws -> ProcessResult {
        let base = environment ?? Tools.environment(removing: ["SOURCE_DATE_EPOCH", "NO_COLOR"])
        return try execute([KilnBinary.path] + arguments, in: directory, environment: base, stdin: stdin)
    }
}

/// Where the `kiln` executable under test is.
public enum KilnBinary {
    /// `KILN_BINARY` from the environment when set; otherwise `kiln` beside
    /// the test bundle: SwiftPM puts products and test bundles in one
    /// directory (`swift build --show-bin-path`), and
    /// `swift build --build-tests` builds both.
    public static var path: String {
        if let override = ProcessInfo.processInfo.environment["KILN_BINARY"], !override.isEmpty { return override }
        return binDirectory + "/kiln"
    }

    /// The build products directory: the one holding the test bundle.
    public static var binDirectory: String {
        // On Linux the test bundle is the test executable itself; where it is
        // a loaded `.xctest` bundle, its directory is the products directory.
        let loaded = Bundle.allBundles.first { $0.bundlePath.hasSuffix(".xctest") }?.bundleURL
        let candidates = [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0]), loaded]
            .compactMap { $0?.resolvingSymlinksInPath().deletingLastPathComponent().path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0 + "/kiln") } ?? candidates[0]
    }

    /// Whether ``path`` names an executable file.
    public static var exists: Bool { FileManager.default.isExecutableFile(atPath: path) }
}
