import ArgumentParser
import Foundation
import Synchronization
import Kiln
import KilnCore
import OCI
import Plan
import Registry
import KilnProcess

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build the image a plan describes into an OCI image layout.",
        discussion: "Example: kiln build app.yaml -o out/app --locked   (then: kiln inspect out/app)"
    )

    @Argument(help: "The plan file.")
    var plan: String

    // Neither -o nor --tar is allowed (SPEC §4 shows both as optional): the
    // image is built and checked, its layers cached, and nothing published,
    // which is what a CI step that warms the cache or wants the manifest
    // digest (`--json`) asks for. The summary says that nothing was written.
    @Option(name: [.customShort("o"), .long], help: "The OCI layout directory to write (replaced atomically). Without -o and --tar the image is built and checked but not written.")
    var output: String?

    @Option(help: "Also write the layout as one tar archive (docker load, podman load, skopeo oci-archive:).")
    var tar: String?

    @Flag(help: "Packages layers must come from a fresh lock file (kiln lock).")
    var locked = false

    @Option(help: "Layers built at once and compression threads (default: the number of cores). Never changes the output bytes.")
    var jobs: Int?

    @Flag(help: "Build every layer again; the output is byte-identical either way.")
    var noCache = false

    @Option(help: "The layer cache (default: $XDG_CACHE_HOME/kiln).")
    var cacheDir: String?

    @Option(help: "A directory wider than the plan's own that host paths may reach into.")
    var context: String?

    @Flag(help: "Keep build layers' scratch directories and print where they are.")
    var keepScratch = false

    @Option(help: ArgumentHelp("Build only this one of the plan's platforms (os/arch[/variant]), as a single image.", valueName: "platform"))
    var platform: String?

    @Flag(help: "Print one machine-readable result on stdout.")
    var json = false

    @Flag(help: "Make warnings (file:line:col: warning: …) errors: exit 1 and leave the previous output as it was. For CI.")
    var strict = false

    // `--push` alone pushes to the plan's name:tag, `--push REF` elsewhere
    // (see normalizingPush: ArgumentParser has no option with an optional
    // value, so the command line is rewritten to `--push=REF`, or to the
    // hidden flag for a bare `--push`).
    @Option(name: .customLong("push"), help: ArgumentHelp("After a successful build, push the image to REF (with --push alone: the plan's name:tag).", valueName: "ref"))
    var pushReference: String?

    @Flag(name: .customLong("push-to-plan-name"), help: .hidden)
    var pushToPlanName = false

    /// `--push`: nil for no push, "" for the plan's name:tag, else the reference.
    var push: String? { pushReference ?? (pushToPlanName ? "" : nil) }

    @OptionGroup var registry: RegistryFlags

    @Option(help: ArgumentHelp("A registry repository holding the layer cache a CI fleet shares (also $KILN_CACHE_REGISTRY), asked after the local cache.", valueName: "ref"))
    var cacheRegistry: String?

    @Option(help: "read: only look layers up in --cache-registry; readwrite (default, or $KILN_CACHE_REGISTRY_MODE): also upload the layers this build makes, once it succeeded.")
    var cacheRegistryMode: CacheRegistryMode?

    @Option(help: ArgumentHelp("Attach an SBOM of this format to the image, overriding the plan's sbom: (spdx or cyclonedx).", valueName: "format"))
    var sbom: SBOMFormatArgument?

    @Option(help: "Progress on stderr: auto (live lines on a terminal, else none), tty (live lines), plain (a line as each layer starts), none. Layer summaries print in every mode.")
    var progress: ProgressMode = .auto

    /// `--push` followed by a word that is no flag and no existing file
    /// becomes `--push=WORD`; a bare `--push` becomes `--push-to-plan-name`. `kiln build app.yaml --push` and `kiln build --push
    /// 127.0.0.1:5000/team/app app.yaml` both read as meant.
    static func normalizingPush(_ arguments: [String]) -> [String] {
        guard arguments.first == "build" else { return arguments }
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            guard argument == "--push" else {
                result.append(argument)
                continue
            }
            if index < arguments.count, !arguments[index].hasPrefix("-"), !FileManager.default.fileExists(atPath: arguments[index]) {
                result.append("--push=" + arguments[index])
                index += 1
            } else {
                result.append("--push-to-plan-name")
            }
        }
        return result
    }

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        let environment = ProcessEnvironment.current
        var loaded: ImageBuildPlan
        do {
            loaded = try PlanLoader(environment: environment, context: context).load(file: plan)
        } catch {
            for problem in error.errors { Terminal.line(problem.description) }
            throw CommandFailure(code: 1, error: error)
        }
        if let sbom { loaded.sbom = sbom.format }
        // --push without -o or --tar: the layout is written to a temporary
        // directory, pushed from there and removed.
        let pushLayout = push != nil && output == nil && tar == nil
            ? FileManager.default.temporaryDirectory.appendingPathComponent("kiln-push-\(UUID().uuidString)").path : nil
        defer { if let pushLayout { try? FileManager.default.removeItem(atPath: pushLayout) } }
        var options = BuildOptions(
            output: output ?? pushLayout.map { $0 + "/layout" }, tarOutput: tar, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount,
            locked: locked, useCache: !noCache,
            cacheDirectory: cacheDir ?? BuildOptions.defaultCacheDirectory(environment: environment),
            keepScratch: keepScratch, registry: registry.options(environment: environment))
        options.strict = strict
        if let platform {
            do {
                options.platform = try Platform(parsing: platform)
            } catch {
                throw CommandFailure(code: 2, message: "kiln: error: --platform: \(error)")
            }
            if !loaded.targetPlatforms.contains(where: { $0.satisfies(options.platform!) }) {
                throw CommandFailure(code: 2, message: "kiln: error: \(ImageBuildError.platform(requested: platform, planned: loaded.targetPlatforms.map(\.description)))")
            }
        }
        if let text = cacheRegistry ?? environment["KILN_CACHE_REGISTRY"].flatMap({ $0.isEmpty ? nil : $0 }) {
            do {
                options.cacheRegistry = try RegistryReference(parsing: text)
            } catch {
                throw CommandFailure(code: 2, message: "kiln: error: --cache-registry: \(error)")
            }
        }
        if let mode = cacheRegistryMode ?? environment["KILN_CACHE_REGISTRY_MODE"].flatMap(CacheRegistryMode.init(rawValue:)) {
            options.cacheRegistryMode = mode.mode
        } else if let text = environment["KILN_CACHE_REGISTRY_MODE"], !text.isEmpty {
            throw CommandFailure(code: 2, message: "kiln: error: KILN_CACHE_REGISTRY_MODE=\(text): expected read or readwrite")
        }
        // A build that only pushes, to the shared cache's registry, leaves
        // the cached layers there: the push mounts them, so they are never
        // downloaded at all (SPEC §5.1).
        if pushLayout != nil, let cache = options.cacheRegistry, let push,
           let target = try? RegistryReference(parsing: push.isEmpty ? loaded.name + ":" + loaded.tag : push),
           target.registry == cache.registry {
            options.sharedBlobsMayStayRemote = true
        }
        if let seconds = environment["KILN_CACHE_REGISTRY_TIMEOUT"].flatMap(Double.init), seconds > 0 {
            options.cacheRegistryTimeout = .milliseconds(Int64(seconds * 1000))
        }
        let progress = BuildProgress(mode: self.progress.resolved(terminal: Terminal.isInteractive && !json))
        // ^C or SIGTERM cancels the build (and its push): running commands'
        // process groups are killed and staging and scratch are removed as
        // it unwinds; then kiln exits 128 + the signal. A second signal
        // exits at once. Descendants of build commands that leave their
        // process group (setsid) are reparented to kiln and killed when
        // their layer's command ends (see Orphans), not left running after
        // the build.
        try? Orphans.becomeSubreaper()
        let builder = ImageBuilder(plan: loaded, options: options, observer: progress)
        let (push, registry, jobs) = (push, registry, jobs)
        let pushProgress = self.progress.resolved(terminal: Terminal.isInteractive && !json)
        let built = LayoutWritten()
        let pushSource = options.output ?? options.tarOutput
        let outcome = try await Interruptible.outcome { () -> BuildReport in
            var report = try await builder.build()
            built.set()
            // A push-only build's layout is temporary: nothing is written.
            if pushLayout != nil { report.output = nil }
            progress.finish(report)
            if let push {
                // Layers the shared cache holds are mounted from it when the
                // push goes to the same registry.
                var extraMounts: [ContentDigest: Repository] = [:]
                if let shared = report.sharedCache, let reference = try? RegistryReference(parsing: shared.repository) {
                    for blob in shared.blobs { extraMounts[blob] = Repository(reference) }
                }
                report.push = try await PushCommand.push(
                    source: pushSource!, to: push.isEmpty ? nil : push, registry: registry, jobs: jobs,
                    progress: pushProgress, extraMounts: extraMounts)
                PushCommand.report(report.push!, json: false)
            }
            return report
        }
        Orphans.sweep()
        // A signal that came after the work was done stopped nothing: it is
        // reported as the success it was.
        if case .failure = outcome.result, let (signal, code) = outcome.interruption {
            progress.abandon()
            let message = "interrupted by \(Interrupts.name(of: signal)); "
                + (built.isSet && pushLayout == nil ? "the image is written, its push is not complete" : "the previous output is as it was")
            throw CommandFailure(code: code, message: "kiln: " + message, extra: ["signal": .integer(Int64(signal))])
        }
        do {
            let report = try outcome.result.get()
            if json { FileHandleWriter.stdout.write(String(decoding: try CanonicalJSONEncoder().encode(report), as: UTF8.self) + "\n") }
        } catch {
            progress.abandon()
            let located = (error as? ImageBuildError)?.startsWithPlanLocation == true
            throw CommandFailure(code: 1, message: (located ? "" : "kiln: error: ") + "\(error)", error: error, plan: loaded)
        }
    }
}

/// Set once the build has published its output (so an interrupt during
/// the push that follows does not claim the previous output stayed).
final class LayoutWritten: Sendable {
    private let flag = Mutex(false)
    func set() { flag.withLock { $0 = true } }
    var isSet: Bool { flag.withLock { $0 } }
}

/// `--progress`: how a running build shows itself on stderr. The summary
/// lines and build commands' output are printed in every mode.
enum ProgressMode: String, ExpressibleByArgument, CaseIterable {
    case auto, tty, plain, none

    /// `auto` decided: live lines on a terminal; elsewhere (a CI log, a
    /// pipe) only the lines every mode prints — the layer summaries as
    /// layers finish, which are the plain record of the build.
    func resolved(terminal: Bool) -> ProgressMode {
        self == .auto ? (terminal ? .tty : .none) : self
    }
}

/// `--cache-registry-mode`, as the library's ``SharedLayerCache/Mode``.
enum CacheRegistryMode: String, ExpressibleByArgument, CaseIterable {
    case read, readwrite

    var mode: SharedLayerCache.Mode { self == .read ? .read : .readwrite }
}

/// `--sbom FORMAT` (build) and `--format FORMAT` (sbom), as the library's
/// ``SBOMFormat``.
enum SBOMFormatArgument: String, ExpressibleByArgument, CaseIterable {
    case spdx, cyclonedx

    var format: SBOMFormat { self == .spdx ? .spdx : .cyclonedx }
}
