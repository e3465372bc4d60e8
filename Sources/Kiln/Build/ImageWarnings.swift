import Crypto
import Foundation
import KilnCore
import OCI
import Plan

/// The warnings a build gives (SPEC §4, issue 20), beside those the plan
/// alone gives (``ImageBuildPlan/warnings``): silent mistakes that build an
/// image nobody meant.
/// - A `build` layer whose command wrote nothing to `$KILN_OUT`.
/// - An `entrypoint` (or `cmd[0]` when the image has no entrypoint) the
///   plan sets that is no executable regular file in the final image (a
///   symlink is followed; a name without `/` is looked up in the config's
///   `PATH`, or the default PATH runtimes use when it has none).
enum ImageWarnings {
    /// The PATH runc, crun and docker use when the image sets none.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// A build layer that holds no entry: its command wrote nothing.
    static func emptyBuildOutput(plan: ImageBuildPlan, layer: LayerSpec, entries: Int) -> PlanWarning? {
        guard case .build = layer.strategy, entries == 0 else { return nil }
        let location = plan.valueLocations[ValueLocations.command(ofLayer: layer.name)] ?? layer.location
        return PlanWarning(location, "layer \(PlanWarning.quote(layer.name)): the command wrote nothing to $KILN_OUT, so the layer is empty; "
            + "write the layer's files under \"$KILN_OUT\" (make install DESTDIR=\"$KILN_OUT\", cp app \"$KILN_OUT/usr/local/bin/\")", layer: layer.name)
    }

    /// The program the image runs, if the plan names it and it is not an
    /// executable file in the image; nil when it is, or when the plan
    /// leaves the program to the base.
    /// - Parameters:
    ///   - config: the image's composed config.
    ///   - layers: every layer of the image, base first, all on disk.
    ///   - memo: where the answer for this image is remembered (nil without the cache).
    static func missingProgram(plan: ImageBuildPlan, config: ContainerConfig, layers: [LayoutLayer], memo: ProgramCheckMemo?) throws -> PlanWarning? {
        guard let (program, key) = program(plan: plan, config: config), let location = plan.valueLocations[key, item: 0] else { return nil }
        if let known = memo?.load() { return known.isEmpty ? nil : PlanWarning(location, known) }
        let found = try problem(with: program, key: key, config: config, layers: layers)
        memo?.store(found ?? "")
        return found.map { PlanWarning(location, $0) }
    }

    /// What is wrong with `program` in the image of `layers`, or nil.
    private static func problem(with program: String, key: String, config: ContainerConfig, layers: [LayoutLayer]) throws -> String? {
        let system = ImageFileSystem()
        for layer in layers { try system.apply(layer) }
        let environment = config.env ?? []
        let path = environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) } ?? defaultPath
        let workdir = config.workingDir ?? "/"
        let candidates: [String]
        if program.contains("/") {
            candidates = [absolute(program, in: workdir)]
        } else {
            candidates = path.split(separator: ":", omittingEmptySubsequences: false)
                .map { absolute(($0.isEmpty ? "." : String($0)) + "/" + program, in: workdir) }
        }
        var found: [String] = []
        for candidate in candidates {
            switch check(candidate, in: system) {
            case .executable: return nil
            case .notExecutable(let what): found.append("\(candidate) is \(what)")
            case .missing: continue
            }
        }
        let what = key == "cmd" ? "cmd[0]" : "entrypoint"
        let problem: String
        if !found.isEmpty {
            problem = found.joined(separator: "; ")
        } else if program.contains("/") {
            problem = "the image has no \(candidates[0])"
        } else {
            problem = "no directory of the image's PATH (\(path)) holds it"
        }
        return "\(what) \(PlanWarning.quote(program)) is not an executable file in the image: \(problem)"
            + suggestion(for: program, candidates: candidates, in: system)
    }

    /// The program the plan sets and where: `entrypoint[0]`, else `cmd[0]`
    /// when the image has no entrypoint.
    private static func program(plan: ImageBuildPlan, config: ContainerConfig) -> (String, String)? {
        if let entrypoint = plan.config.entrypoint, let first = entrypoint.first {
            return first.isEmpty ? nil : (first, "entrypoint")
        }
        guard (config.entrypoint ?? []).isEmpty, plan.config.cmd != nil, let first = config.cmd?.first, !first.isEmpty else { return nil }
        return (first, "cmd")
    }

    private static func absolute(_ path: String, in workdir: String) -> String {
        path.hasPrefix("/") ? path : (workdir.hasSuffix("/") ? workdir : workdir + "/") + path
    }

    enum Found { case executable, notExecutable(String), missing }

    /// What `path` is once every symlink (the last one too) is followed
    /// inside the image, as execve sees it.
    static func check(_ path: String, in system: ImageFileSystem) -> Found {
        var current = String(path.drop { $0 == "/" })
        var firstTarget: String?
        for _ in 0...40 {
            let resolved: String
            do {
                resolved = try system.resolve(current)
            } catch {
                return .notExecutable("a symlink loop")
            }
            guard let node = system.node(at: resolved) else { return firstTarget.map { .notExecutable("a dangling symlink (to \($0))") } ?? .missing }
            switch node.kind {
            case .symlink(let target):
                firstTarget = firstTarget ?? target
                let parent = resolved.split(separator: "/").dropLast().joined(separator: "/")
                current = target.hasPrefix("/") ? String(target.drop { $0 == "/" }) : (parent.isEmpty ? target : parent + "/" + target)
            case .regular, .hardlink:
                return node.mode & 0o111 != 0 ? .executable : .notExecutable("a file without execute permission (mode \(String(node.mode, radix: 8)))")
            case .directory: return .notExecutable("a directory")
            default: return .notExecutable("a device or fifo")
            }
        }
        return .notExecutable("a symlink loop")
    }

    /// ` (did you mean "/usr/local/bin/hello"?)`: an executable in the
    /// directory the program was looked for in with a close name.
    private static func suggestion(for program: String, candidates: [String], in system: ImageFileSystem) -> String {
        let name = String(program.split(separator: "/").last ?? "")
        let directories = candidates.map { $0.split(separator: "/").dropLast().joined(separator: "/") }
        var names: [String: String] = [:]
        for (entry, _) in system.entries() {
            let parent = entry.split(separator: "/").dropLast().joined(separator: "/")
            guard directories.contains(parent), case .executable = check(entry, in: system) else { continue }
            let base = String(entry.split(separator: "/").last ?? "")
            names[base] = names[base] ?? (program.contains("/") ? "/" + entry : base)
        }
        guard let best = KeySuggestion.closest(to: name, in: names.keys.sorted()) else { return "" }
        return " (did you mean \(PlanWarning.quote(names[best]!))?)"
    }
}

extension ImageBuilder {
    /// The warnings of one platform's image, once its layers are built and
    /// staged. The program check reads every layer's metadata (base layers
    /// included, whiteouts applied); when a layer is not on this machine
    /// (a shared-cache hit left in the registry) it says nothing rather
    /// than guess.
    func imageWarnings(_ platform: PlatformBuild, staging: LayoutStaging) throws -> [PlanWarning] {
        let target = platform.plan
        var warnings = zip(target.layers, platform.built).compactMap { spec, built in
            ImageWarnings.emptyBuildOutput(plan: target, layer: spec, entries: built.report.entries)
        }
        guard target.layers.allSatisfy(\.strategy.isTar) else { return warnings }
        let base = platform.loaded.base
        let diffIDs = platform.baseReports.map(\.diffID) + platform.built.map(\.report.diffID)
        let config = ImageConfigComposer.compose(plan: target, base: base?.image.config, layers: [], diffIDs: diffIDs).config ?? ContainerConfig()
        let built = platform.built.map { layer in
            LayoutLayer(
                descriptor: layer.descriptor, diffID: layer.report.diffID, path: staging.blobPath(layer.descriptor.digest),
                compression: MediaType.layerCompression(layer.descriptor.mediaType) ?? .none)
        }
        let layers = (base?.image.layers ?? []) + built
        guard layers.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) else { return warnings }
        do {
            let memo = options.useCache ? ProgramCheckMemo(cacheDirectory: options.cacheDirectory, diffIDs: diffIDs, config: config) : nil
            if let missing = try ImageWarnings.missingProgram(plan: target, config: config, layers: layers, memo: memo) { warnings.append(missing) }
        } catch {
            throw ImageBuildError.output(error)
        }
        return warnings
    }
}

/// Reports a build's warnings in plan order, each once (a `platforms:`
/// build finds the same one per image): the observer prints them, or,
/// with `--strict`, they fail the build before anything is published. The
/// plan's own are reported before any layer runs (a list-form command
/// with `$VAR` usually fails, and the warning says why); the images' once
/// their layers are built.
enum BuildWarnings {
    static func report(_ found: [PlanWarning], strict: Bool, observer: any BuildObserver) throws(ImageBuildError) -> [PlanWarning] {
        var seen = Set<PlanWarning>()
        let warnings = found
            .filter { seen.insert($0).inserted }
            .sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        if strict, !warnings.isEmpty { throw .strict(StrictWarnings(warnings)) }
        for warning in warnings { observer.warning(warning) }
        return warnings
    }
}

/// The program check's answer for one image, remembered in the cache
/// (`<cache>/checks/<key>`: empty when the program is there, else the
/// warning's message), so a rebuild of the same image does not read its
/// layers again. The key covers everything the answer depends on: the
/// layers' diff_ids and the config's entrypoint, cmd, env and workdir.
struct ProgramCheckMemo {
    /// Bumped when the check's answer for the same image could change.
    static let version = 1
    let path: String

    init(cacheDirectory: String, diffIDs: [ContentDigest], config: ContainerConfig) {
        func list(_ items: [String]?) -> JSONValue { items.map { .array($0.map { .string($0) }) } ?? .null }
        let document = JSONValue.object([
            "check": .string("program"), "version": .integer(Int64(Self.version)),
            "diff_ids": .array(diffIDs.map { .string($0.description) }),
            "entrypoint": list(config.entrypoint), "cmd": list(config.cmd), "env": list(config.env),
            "workdir": config.workingDir.map { .string($0) } ?? .null,
        ])
        let bytes = (try? CanonicalJSONEncoder.serialize(document)) ?? []
        path = cacheDirectory + "/checks/" + ContentDigest(sha256Bytes: SHA256.hash(data: bytes)).hex
    }

    /// The remembered message ("" when the program is there), or nil.
    func load() -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Remembers `message`; a failure only costs the next build a check.
    func store(_ message: String) {
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? AtomicFile.write(Array(message.utf8), to: path)
    }
}
