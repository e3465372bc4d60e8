import ArgumentParser
import Kiln
import KilnCore
import Plan
import Glibc

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what changes between two plans (or a plan and its git history), or two built layouts.",
        discussion: "Exit status: 0 when both sides describe the same image, 1 when they differ, 2 on errors.\n\nExample: kiln diff --git origin/main app.yaml --format markdown"
    )

    @Argument(help: "OLD and NEW: two plans, or two OCI layouts (directories or oci-archive tars); with --git, one plan.")
    var paths: [String] = []

    @Option(name: .customLong("git"), help: ArgumentHelp("Compare the plan as committed at REV (inputs included) with the working copy.", valueName: "REV"))
    var revision: String?

    @Option(help: ArgumentHelp("text (colored on a terminal), markdown (for a pull-request comment) or json.", valueName: "text|markdown|json"),
            transform: { text in
                guard let format = DiffFormat(rawValue: text) else { throw ValidationError("--format must be text, markdown or json (got \"\(text)\")") }
                return format
            })
    var format: DiffFormat = .text

    @Option(help: "A directory wider than the plans' own that host paths may reach into.")
    var context: String?

    @Flag(help: "Resolve the packages layers whose lock file does not say what they install (no lock, or a stale entry), on both sides, from their sources (network), and show the package-level change.")
    var resolve = false

    @Option(help: "Downloads cache for --resolve (default: $XDG_CACHE_HOME/kiln).")
    var cacheDir: String?

    // With a shared cache, layers a build would make are checked there:
    // the diff says which a build would fetch instead of building.
    @OptionGroup var sharedCache: SharedCacheFlags

    @Option(help: ArgumentHelp("For multi-platform layouts: the platform's images to compare, os/arch[/variant] (default: this machine's).", valueName: "platform"))
    var platform: String?

    func validate() throws {
        if revision != nil {
            guard paths.count == 1 else { throw ValidationError("--git REV takes exactly one plan (got \(paths.count))") }
        } else {
            guard paths.count == 2 else { throw ValidationError("give OLD and NEW (got \(paths.count) path\(paths.count == 1 ? "" : "s")), or --git REV PLAN") }
        }
    }

    func run() async throws {
        var differ = ImageDiffer(loader: PlanLoader(environment: ProcessEnvironment.current, context: context))
        do {
            differ.platform = try platform.map { try Platform(parsing: $0) }
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: --platform: \(error)")
        }
        var diff: ImageDiff
        do {
            if resolve {
                let environment = ProcessEnvironment.current
                let cacheDirectory = cacheDir ?? BuildOptions.defaultCacheDirectory(environment: environment)
                let cacheHold = LayerCache.holdShared(cacheDirectory)
                defer { withExtendedLifetime(cacheHold) {} }
                let resolver = PackageResolver(cacheDirectory: cacheDirectory, log: { line in Terminal.line(line) })
                if let revision {
                    diff = try await differ.compare(plan: paths[0], atRevision: revision, resolving: resolver)
                } else {
                    diff = try await differ.compare(old: paths[0], new: paths[1], resolving: resolver)
                }
            } else if let revision {
                diff = try differ.compare(plan: paths[0], atRevision: revision)
            } else {
                diff = try differ.compare(old: paths[0], new: paths[1])
            }
        } catch let errors as PlanErrors {
            for problem in errors.errors { Terminal.line(problem.description) }
            throw CommandFailure(code: 2, error: errors)
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: \(error)")
        }
        if let shared = try sharedCache.open(environment: ProcessEnvironment.current), !diff.keysToBuild.isEmpty {
            do {
                diff = diff.markingShared(Set(try await shared.entries(for: diff.keysToBuild).keys))
            } catch {
                Terminal.line("kiln: warning: cache registry \(shared.repository) not asked: \(error)")
            }
            await shared.shutdown()
        }
        let color = format == .text && isatty(1) == 1 && (ProcessEnvironment.current["NO_COLOR"] ?? "").isEmpty
        do {
            FileHandleWriter.stdout.write(try diff.render(format, color: color))
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: \(error)")
        }
        if !diff.isEqual { throw CommandFailure(code: 1) }
    }
}
