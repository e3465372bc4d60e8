import Foundation
import Kiln
import Layers
import Plan
import Testing

/// Helpers shared by the `kiln diff` suites: scratch directories, outside
/// tools, digests from `sha256sum`, and the loader every plan goes through.
enum DiffFixtures {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A directory under the system's temporary directory, removed when the
    /// value goes away; `path` is its real path, as kiln reports paths.
    final class Scratch {
        let path: String

        init() throws {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-diff-tests-" + UUID().uuidString)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            path = url.resolvingSymlinksInPath().path
        }

        deinit {
            TreeRemoval.remove(path)
        }

        /// Writes `text` at `relative`, creating parent directories.
        @discardableResult
        func write(_ relative: String, _ text: String, executable: Bool = false) throws -> String {
            let file = path + "/" + relative
            try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            try FileManager.default.setAttributes([.posixPermissions: executable ? 0o755 : 0o644], ofItemAtPath: file)
            return file
        }

        @discardableResult
        func directory(_ relative: String) throws -> String {
            try FileManager.default.createDirectory(atPath: path + "/" + relative, withIntermediateDirectories: true)
            return path + "/" + relative
        }
    }

    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func hasTool(_ name: String) -> Bool {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    /// Runs `executable` (a path, or a name looked up in PATH) and waits;
    /// output goes through files so a large one cannot block the child.
    static func execute(_ executable: String, _ arguments: [String], in directory: String? = nil, input: String = "", path: String? = nil) throws -> Outcome {
        let scratch = try Scratch()
        let files = ["in", "out", "err"].map { scratch.path + "/" + $0 }
        for (index, file) in files.enumerated() {
            _ = FileManager.default.createFile(atPath: file, contents: index == 0 ? Data(input.utf8) : nil)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable.hasPrefix("/") ? executable : "/usr/bin/env")
        process.arguments = executable.hasPrefix("/") ? arguments : [executable] + arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var environment = ProcessInfo.processInfo.environment
        environment["NO_COLOR"] = nil
        environment["SOURCE_DATE_EPOCH"] = nil
        if let path { environment["PATH"] = path }
        process.environment = environment
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: files[0]))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: files[1]))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: files[2]))
        try process.run()
        process.waitUntilExit()
        func text(_ file: String) throws -> String { String(decoding: try Data(contentsOf: URL(fileURLWithPath: file)), as: UTF8.self) }
        return Outcome(status: process.terminationStatus, stdout: try text(files[1]), stderr: try text(files[2]))
    }

    /// Runs a tool that must succeed; returns its stdout.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil, input: String = "") throws -> String {
        let outcome = try execute(executable, arguments, in: directory, input: input)
        guard outcome.status == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited with \(outcome.status): \(outcome.stderr)")
        }
        return outcome.stdout
    }

    /// `sha256:<hex>` of `text`, as `sha256sum` computes it.
    static func sha256(_ text: String) throws -> String {
        "sha256:" + (try run("sha256sum", [], input: text)).prefix(64)
    }

    /// `sha256:<hex>` of a file, as `sha256sum` computes it.
    static func sha256(file: String) throws -> String {
        "sha256:" + (try run("sha256sum", [file])).prefix(64)
    }

    /// A digest as the text and markdown forms show it: 12 hex digits, then `…`.
    static func short(_ digest: String) -> String {
        String(digest.prefix(19)) + "…"
    }

    /// Loads plans for linux/amd64 with an empty environment, so neither the
    /// host nor `SOURCE_DATE_EPOCH` changes a default.
    static let differ = ImageDiffer(loader: PlanLoader(environment: [:], hostPlatform: Plan.Platform(os: "linux", architecture: "amd64")))

    /// The `kiln` executable beside the test product (`swift build
    /// --build-tests` builds both into one directory); `KILN_BINARY`
    /// overrides it.
    static var kilnBinary: String {
        if let override = ProcessInfo.processInfo.environment["KILN_BINARY"], !override.isEmpty { return override }
        let candidates = [
            Bundle.main.executableURL?.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        for directory in candidates.compactMap({ $0 }) {
            let binary = directory.appendingPathComponent("kiln").path
            if FileManager.default.isExecutableFile(atPath: binary) { return binary }
        }
        return "kiln"
    }
}
