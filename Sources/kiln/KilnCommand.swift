import ArgumentParser
import Kiln
import KilnCore
import Plan
import Glibc
import CLinux

/// `kiln`: a declarative image build-plan compiler.
@main
struct KilnCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Compile declarative image build plans into reproducible OCI image layouts.",
        discussion: """
            Shell completions: kiln --generate-completion-script bash|zsh|fish (scripts/install and the .deb install them, with man kiln).
            Exit codes: 0 success, 1 the plan or the build failed (or diff found differences), 2 usage errors.
            """,
        version: Kiln.versionDescription,
        subcommands: [BuildCommand.self, PushCommand.self, PullCommand.self, LockCommand.self, ValidateCommand.self, PlanCommand.self, DiffCommand.self, InspectCommand.self, ExportCommand.self, SBOMCommand.self, SchemaCommand.self, CacheCommand.self]
    )

    /// `kiln` alone is a usage error: it names no command.
    func run() throws {
        Terminal.line(KilnCommand.helpMessage())
        throw CommandFailure(code: 2, message: "kiln: error: name a command (kiln --help lists them)")
    }

    /// Runs the command line with kiln's exit codes: 0 success, 1 the plan
    /// or the build failed, 2 usage errors (ArgumentParser's own default is 64).
    static func main() async {
        // glibc raises its mmap threshold to the largest block freed so far
        // (up to 32 MiB): after the first large temporary is freed, later
        // ones (entry arrays of a big tree, 1 MiB gzip blocks) come from the
        // heap, whose freed pages stay resident. A fixed threshold gives
        // them back when freed: a first build of 100,000 files peaks at
        // 76 MiB instead of 96 (issue 19), at no measurable CPU cost.
        // MALLOC_MMAP_THRESHOLD_ in the environment still wins.
        if getenv("MALLOC_MMAP_THRESHOLD_") == nil { _ = clinux_fix_mmap_threshold(128 * 1024) }
        // A mistyped command is named with the closest one, instead of
        // ArgumentParser's "2 unexpected arguments".
        let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
        if let word = CommandLine.arguments.dropFirst().first, !word.hasPrefix("-"), !names.contains(word) {
            let hint = KeySuggestion.closest(to: word, in: names).map { " (did you mean \"\($0)\"?)" } ?? ""
            // ArgumentParser's form, like every other usage error.
            Terminal.error("Error: unknown command \"\(word)\"\(hint); the commands are \(names.dropLast().joined(separator: ", "))")
            Terminal.error("Usage: kiln <subcommand>\n  See 'kiln --help' for more information.")
            Glibc.exit(2)
        }
        var jsonRequested = false
        do {
            var command = try parseAsRoot(BuildCommand.normalizingPush(Array(CommandLine.arguments.dropFirst())))
            jsonRequested = JSONFailure.isRequested(by: command)
            if var async = command as? any AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch let failure as CommandFailure {
            if !failure.message.isEmpty { Terminal.error(failure.message) }
            if jsonRequested { JSONFailure.write(failure) }
            Glibc.exit(failure.code)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            Terminal.error(fullMessage(for: error))
            Glibc.exit(2)
        }
    }
}

/// A command that failed and wants `code`: `message` is printed on stderr
/// (empty when the command printed its errors itself); `error`, the
/// failure itself, and `plan` give `--json`'s document its places and
/// layers (``JSONFailure``), `extra` more members for it.
struct CommandFailure: Error {
    var code: Int32
    var message: String = ""
    var error: (any Error)?
    var plan: ImageBuildPlan?
    var extra: [String: JSONValue] = [:]
}
