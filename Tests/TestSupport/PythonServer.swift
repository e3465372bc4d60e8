public import Foundation
import Glibc

/// A Python server the tests start on 127.0.0.1 (`python3 -u ARGUMENTS`),
/// once it has printed its first line (which tells its port). Run through
/// Foundation's `Process` because it lives on while the test talks to it:
/// ``ChildProcess`` runs programs to completion.
public final class PythonServer {
    private let process = Process()
    /// The first line the server printed, without its newline.
    public let firstLine: String

    /// Starts `python3 -u` with `arguments` and waits for its first line.
    /// - Throws: ``TestSupportError`` when it printed none.
    public init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-u"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let data = output.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first else {
            process.terminate()
            throw TestSupportError("python3 \(arguments.first ?? "") printed nothing; it did not start")
        }
        firstLine = String(line)
    }

    /// SIGKILL: a Python server may not see SIGTERM when the test runner
    /// blocks it in the signal mask children inherit.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
