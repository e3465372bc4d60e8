import Foundation
import Archive
import KilnCore
public import Plan
import KilnProcess

/// The `build` strategy: runs the layer's command in a private scratch
/// directory and turns what it wrote under `$KILN_OUT` into the layer.
///
/// The command sees only its inputs (copied, see ``BuildScratch``), runs
/// with umask 022, `stdin` from `/dev/null`, in its own process group, and
/// with exactly this environment (the layer's `env:` added, and free to
/// replace `PATH`, `LC_ALL` and `TZ` but not ``reservedVariables``):
///
/// | variable | value |
/// |---|---|
/// | `PATH` | ``defaultSearchPath`` |
/// | `HOME`, `TMPDIR` | fresh empty directories in the scratch |
/// | `LC_ALL`, `TZ` | `C`, `UTC` |
/// | `SOURCE_DATE_EPOCH` | the plan's `created` |
/// | `KILN_OUT` | a fresh empty directory |
/// | `KILN_PLATFORM`, `KILN_OS`, `KILN_ARCH` | the image's platform (`linux/arm64`), os, architecture |
/// | `TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`, `TARGETVARIANT` | the same, as buildx names them (the variant empty where the platform has none) |
///
/// `sandbox: isolated` adds bubblewrap: no network, the host read-only,
/// fresh `/proc`, `/dev` and `/tmp`, only the scratch writable.
///
/// The provenance records the command's argv and its inputs with their
/// content digests (from the context), for the whole output tree.
public struct BuildStrategy: LayerPreparing {
    /// The plan's layer.
    public var build: BuildLayer
    /// Where `bwrap` is looked up: kiln's own `PATH` (tests change it).
    var toolSearchPath: String

    /// The strategy for one build layer.
    public init(_ build: BuildLayer) {
        self.build = build
        toolSearchPath = ProcessInfo.processInfo.environment["PATH"] ?? Self.defaultSearchPath
    }

    /// The strategy for one build layer, `bwrap` looked up in `toolSearchPath`.
    init(_ build: BuildLayer, toolSearchPath: String) {
        self.build = build
        self.toolSearchPath = toolSearchPath
    }

    /// The command's `PATH` unless the layer's `env:` sets one.
    public static let defaultSearchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Variables the layer's `env:` cannot set (the plan loader refuses
    /// them too): they point at the scratch, carry the plan's time or the
    /// platform (kiln's names and buildx's, so a command cross-compiles
    /// from them as it would in a Dockerfile).
    public static let reservedVariables = BuildLayer.reservedEnvironment

    /// Whatever kiln's own umask, so the modes of what the command writes
    /// are reproducible.
    static let commandUmask: UInt16 = 0o022

    /// Lines of output kept for the failure message.
    static let tailLineCount = 20

    /// Runs the layer's command and returns what it wrote under `$KILN_OUT`.
    ///
    /// The returned layer lists the scratch directory among its temporary
    /// directories (its files are read while the layer streams), unless
    /// `context.keepScratch`, in which case the scratch stays and the log
    /// says where.
    /// - Throws: ``BuildError``.
    public func prepare(_ context: StrategyContext) async throws(BuildError) -> PreparedLayer {
        let scratch = try await Self.run(build, context: context, toolSearchPath: toolSearchPath)
        let tree: LayerTree
        do {
            tree = try Self.outputTree(scratch, layer: context.layer.name)
        } catch {
            Self.discard(scratch, context: context)
            throw error
        }
        var provenance = Provenance()
        provenance.assignTree("", to: provenance.add(.build(Self.origin(of: build, context: context))))
        if context.keepScratch {
            context.log("scratch directory kept at \(scratch.root)")
            return PreparedLayer(tree: tree, provenance: provenance)
        }
        scratch.removeAllButOutput()
        return PreparedLayer(tree: tree, temporaryDirectories: [scratch.root], provenance: provenance)
    }

    /// The command as run and the inputs, relative to the context, with
    /// the digests the context has for them.
    static func origin(of layer: BuildLayer, context: StrategyContext) -> Provenance.Build {
        let command: [String]
        switch layer.command {
        case .shell(let script): command = ["/bin/sh", "-c", script]
        case .argv(let argv): command = argv
        }
        let inputs = layer.inputs.map { input in
            Provenance.Build.Input(path: input.relativePath.isEmpty ? "." : input.relativePath, digest: context.inputDigests[input.hostPath])
        }
        return Provenance.Build(command: command, inputs: inputs)
    }

    /// `$KILN_OUT` as the layer's root: modes as the command left them,
    /// owners 0:0, symlinks verbatim, hardlinks kept.
    static func outputTree(_ scratch: BuildScratch, layer: String) throws(BuildError) -> LayerTree {
        var tree = LayerTree()
        do {
            try HostTree.walk(scratch.output, at: "", options: HostTreeOptions(modes: .preserved)) { entry in
                try tree.insert(entry)
            }
        } catch let error as HostTreeError {
            if case .unsupportedFileType(let path, let kind) = error, path.hasPrefix(scratch.output + "/") {
                throw BuildError(layer: layer, reason: .unsupportedOutput(path: String(path.dropFirst(scratch.output.count + 1)), kind: kind))
            }
            throw BuildError(layer: layer, reason: .unreadableOutput(error))
        } catch {
            // One walk yields each path once, so the tree never refuses an entry.
            preconditionFailure("a single walk of \(scratch.output) produced a duplicate path: \(error)")
        }
        return tree
    }

    /// Runs the command of `layer` in a fresh scratch directory.
    ///
    /// Output lines go to `context.log` as they arrive. On success the
    /// scratch is returned with `$KILN_OUT` filled; on failure it is
    /// removed, or kept when `context.keepScratch` (the error says where).
    /// - Parameter toolSearchPath: where `bwrap` is looked up (kiln's own `PATH`).
    /// - Throws: ``BuildError``.
    static func run(_ layer: BuildLayer, context: StrategyContext, toolSearchPath: String) async throws(BuildError) -> BuildScratch {
        let name = context.layer.name
        if let reserved = reservedVariables.first(where: { layer.env[$0] != nil }) {
            throw BuildError(layer: name, reason: .reservedVariable(reserved))
        }
        let arguments: [String]
        // The command as the plan spells it, for the live line.
        let commandText: String
        switch layer.command {
        case .shell(let script):
            arguments = ["/bin/sh", "-c", script]
            commandText = script
        case .argv(let argv):
            guard !argv.isEmpty else { throw BuildError(layer: name, reason: .emptyCommand) }
            arguments = argv
            commandText = argv.joined(separator: " ")
        }
        let sandboxTool: String?
        switch layer.sandbox {
        case .none:
            sandboxTool = nil
        case .isolated:
            guard let bwrap = ChildProcess.locate("bwrap", searchPath: toolSearchPath, relativeTo: "/") else {
                throw BuildError(layer: name, reason: .sandboxToolMissing(searchPath: toolSearchPath))
            }
            sandboxTool = bwrap
        }

        let scratch = try BuildScratch.create(for: layer, context: context)
        // What the command sees: the scratch itself, or in the sandbox the
        // same directories at one fixed path.
        let seen = sandboxTool == nil ? scratch : scratch.relocated(to: BuildScratch.sandboxRoot)
        let environment = BuildStrategy.environment(layer: layer, scratch: seen, created: context.plan.created, platform: context.plan.platform)
        let searchPath = environment["PATH"] ?? ""
        guard let found = ChildProcess.locate(arguments[0], searchPath: searchPath, relativeTo: scratch.workingDirectory) else {
            BuildStrategy.discard(scratch, context: context)
            throw BuildError(layer: name, reason: .commandNotFound(name: arguments[0], searchPath: searchPath))
        }
        let program = scratch.relocating(found, to: seen.root)
        var child = ChildProcess(
            executable: program, arguments: arguments, environment: environment,
            workingDirectory: scratch.workingDirectory, umask: commandUmask, timeout: layer.timeout,
            tailLineCount: tailLineCount
        )
        if let bwrap = sandboxTool {
            // bwrap exports its own PWD, so the umask shell, which drops it,
            // runs inside the sandbox.
            child.executable = bwrap
            child.arguments = BuildStrategy.sandboxArguments(bwrap: bwrap, scratch: scratch, seenAs: seen)
                + ChildProcess.umaskWrapper(commandUmask, environment: environment) + [program] + arguments.dropFirst()
            child.umask = nil
        }
        let log = context.log
        context.activity(.running(command: commandText))
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await child.run { line in log(line.text) }
        } catch {
            BuildStrategy.discard(scratch, context: context)
            throw BuildError(layer: name, reason: .cannotRun(error))
        }
        guard outcome.termination.isSuccess else {
            let kept = context.keepScratch ? scratch.root : nil
            BuildStrategy.discard(scratch, context: context)
            throw BuildError(
                layer: name,
                reason: .commandFailed(termination: outcome.termination, lastLines: outcome.lastLines, keptScratch: kept)
            )
        }
        return scratch
    }

    /// The command's complete environment.
    static func environment(layer: BuildLayer, scratch: BuildScratch, created: Timestamp, platform: Platform) -> [String: String] {
        var environment = ["PATH": defaultSearchPath, "LC_ALL": "C", "TZ": "UTC"]
        environment.merge(layer.env) { _, declared in declared }
        environment["HOME"] = scratch.home
        environment["TMPDIR"] = scratch.temporary
        environment["SOURCE_DATE_EPOCH"] = String(created.secondsSinceEpoch)
        environment["KILN_OUT"] = scratch.output
        let values = [platform.description, platform.os, platform.architecture]
        for (names, value) in zip([("KILN_PLATFORM", "TARGETPLATFORM"), ("KILN_OS", "TARGETOS"), ("KILN_ARCH", "TARGETARCH")], values) {
            environment[names.0] = value
            environment[names.1] = value
        }
        environment["TARGETVARIANT"] = platform.variant ?? ""
        return environment
    }

    /// bubblewrap's options, in the order it applies them: the host
    /// read-only, then fresh `/dev`, `/proc` and `/tmp`, then the scratch
    /// bound writable at its fixed place in the new `/tmp`.
    static func sandboxArguments(bwrap: String, scratch: BuildScratch, seenAs seen: BuildScratch) -> [String] {
        [
            bwrap,
            "--ro-bind", "/", "/",
            "--dev", "/dev",
            "--proc", "/proc",
            "--tmpfs", "/tmp",
            "--bind", scratch.root, seen.root,
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
            // A new session keeps the command off kiln's terminal; the pid
            // namespace and --die-with-parent still end it with bwrap.
            "--new-session", "--die-with-parent",
            "--chdir", seen.workingDirectory,
            "--",
        ]
    }

    private static func discard(_ scratch: BuildScratch, context: StrategyContext) {
        if !context.keepScratch { scratch.remove() }
    }
}
