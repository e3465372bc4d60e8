import Foundation
import KilnCore
import Plan
import Strategies
import KilnProcess

/// The files of a git working copy as committed at a revision, written into
/// a private temporary directory without touching the repository: its
/// index, worktree list and checkout stay as they were.
///
/// The tree is read into a temporary index (`git read-tree`), and only the
/// paths below `scope` (the plan's directory or context) are checked out
/// (`git checkout-index`), so git's own rules apply: symlinks, the execute
/// bit, attributes and filters, as a checkout of that commit would give.
///
/// The copy sits at `<scratch>/fs<root>`, mirroring the absolute path of
/// the working copy, so relative paths that climb out of the repository
/// (`oci:../base`) still land inside the scratch directory.
struct GitCheckout {
    /// The working copy's top directory, real path.
    let root: String
    /// Where `root`'s files as of the revision are.
    let mirror: String
    let scratch: ScratchDirectory

    /// Checks out `scope` (an absolute real path below `root`) as of `revision`.
    /// - Throws: ``DiffError`` when git is missing, the revision is unknown,
    ///   or a git command fails.
    static func make(revision: String, scope: String, root: String) throws -> GitCheckout {
        guard let relative = HostPaths.below(scope, root: root) else { throw DiffError.outsideRepository(path: scope, root: root) }
        let scratch = try ScratchDirectory(prefix: "kiln-diff")
        do {
            let real = HostPathResolver.realPath(scratch.path) ?? scratch.path
            let mirror = real + "/fs" + (root == "/" ? "" : root)
            try FileManager.default.createDirectory(atPath: mirror, withIntermediateDirectories: true)
            let git = try Git(directory: root)
            guard (try? git.run(["rev-parse", "--verify", "--quiet", revision + "^{commit}"])) != nil else {
                throw DiffError.unknownRevision(revision: revision, root: root)
            }
            let index = ["GIT_INDEX_FILE": real + "/index"]
            try git.run(["read-tree", revision], environment: index)
            let paths = try git.run(["ls-files", "-z", "--"] + (relative.isEmpty ? [] : [relative]), environment: index)
            try git.run(["checkout-index", "-z", "--stdin", "--prefix=" + mirror + "/"], environment: index, input: paths)
            return GitCheckout(root: root, mirror: mirror, scratch: scratch)
        } catch {
            scratch.remove()
            throw error
        }
    }

    /// Where `path` (absolute, in the working copy or above it) is in the copy.
    func counterpart(of path: String) -> String {
        (HostPathResolver.realPath(scratch.path) ?? scratch.path) + "/fs" + path
    }

    /// The top directory of the git working copy holding `directory`.
    /// - Throws: ``DiffError/notInRepository(path:)``.
    static func root(of directory: String) throws -> String {
        let output: [UInt8]
        do {
            output = try Git(directory: directory).run(["rev-parse", "--show-toplevel"])
        } catch DiffError.git {
            throw DiffError.notInRepository(path: directory)
        }
        let text = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .newlines)
        return HostPathResolver.realPath(text) ?? text
    }
}

/// Runs `git -C <directory>` through ``ChildProcess``, which reads both
/// pipes as git writes, so neither a large output nor a chatty error stream
/// can block it.
private struct Git {
    let executable: String
    let directory: String

    init(directory: String) throws {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        guard let found = ChildProcess.locate("git", searchPath: path, relativeTo: "/") else { throw DiffError.gitMissing }
        self.executable = found
        self.directory = directory
    }

    /// Runs one git command and returns its standard output.
    /// - Throws: ``DiffError/git(command:detail:)`` with git's own message
    ///   when it exits non-zero or cannot be started.
    @discardableResult
    func run(_ arguments: [String], environment: [String: String] = [:], input: [UInt8] = []) throws -> [UInt8] {
        let command = "git " + arguments.joined(separator: " ")
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        // Messages in English, whatever the user's locale: they are quoted
        // in kiln's own.
        variables["LC_ALL"] = "C"
        let child = ChildProcess(executable: executable, arguments: [executable, "-C", directory] + arguments,
                                 environment: variables, standardInput: .bytes(input))
        let captured: ChildProcess.Captured
        do {
            captured = try child.capture()
        } catch {
            throw DiffError.git(command: command, detail: error.description)
        }
        guard captured.termination.isSuccess else {
            let message = String(decoding: captured.standardError, as: UTF8.self)
            throw DiffError.git(command: command, detail: message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return captured.standardOutput
    }
}
