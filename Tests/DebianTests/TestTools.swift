import Foundation
@testable import Debian

/// Outside programs the integration tests drive.
enum Tool {
    /// The first `name` on PATH, if any.
    static func path(_ name: String) -> String? {
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Whether every tool is installed.
    static func available(_ names: String...) -> Bool { names.allSatisfy { path($0) != nil } }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a program to completion; throws when it exits non-zero.
    @discardableResult
    static func run(_ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) throws -> String {
        var env = ProcessInfo.processInfo.environment
        env["LC_ALL"] = "C"
        for (key, value) in environment { env[key] = value }
        let result = try Executable.run("/usr/bin/env", arguments, environment: env, directory: directory)
        guard result.status == 0 else {
            throw Failure(description: "\(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
        }
        return result.stdout
    }

    /// A fresh directory under the system temporary directory.
    static func temporaryDirectory(_ prefix: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
    }
}
