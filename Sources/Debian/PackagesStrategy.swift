internal import Crypto
internal import Foundation
import Archive
public import KilnCore
public import Plan
public import Strategies

/// The `packages` layer strategy: Debian packages resolved from verified
/// repositories and unpacked without running anything.
///
/// The pipeline calls it in two steps so a layer's cache key can cover
/// exactly the `.deb`s it installs:
/// 1. ``resolve(context:)`` (or a fresh ``LockedLayer`` from the plan's
///    lock file, see ``LockFile/layer(_:plan:)``) gives the pinned packages;
/// 2. ``prepare(_:)``, with that resolution as ``lock``, fetches them
///    (cache first), checks each against its SHA-256 and size, and unpacks
///    them into a layer tree whose provenance maps every path to the
///    package that shipped it.
///
/// `kiln lock` calls ``lock(plan:aptRoot:scratchRoot:cacheDirectory:log:)``
/// and writes the result with ``LockFile/write(to:)``.
public struct PackagesStrategy: LayerPreparing {
    /// The plan's layer.
    public var layer: PackagesLayer
    /// The layer's fresh locked resolution, or nil to resolve while
    /// preparing.
    public var lock: LockedLayer?
    /// The root `etc/apt` is read under for `sources: system` (`/`; a
    /// fixture tree in tests).
    public var aptRoot: String
    /// `.deb`s fetched at the same time.
    public var parallelDownloads: Int

    /// The strategy for one packages layer.
    /// - Parameters:
    ///   - lock: the layer's fresh locked resolution, if the lock file has one.
    ///   - aptRoot: the directory holding `etc/apt` for `sources: system`.
    ///   - parallelDownloads: concurrent `.deb` fetches; values below 1 count
    ///     as 1.
    public init(_ layer: PackagesLayer, lock: LockedLayer? = nil, aptRoot: String = "/", parallelDownloads: Int = 4) {
        self.layer = layer
        self.lock = lock
        self.aptRoot = aptRoot
        self.parallelDownloads = max(1, parallelDownloads)
    }

    // MARK: Inputs

    /// The digest of what decides a layer's resolution: names, sources,
    /// `resolve`, `exclude` and the Debian architecture. Host paths inside
    /// the plan's directory enter relative to it, so the digest does not
    /// depend on where the checkout lives.
    /// - Throws: ``UnsupportedPlatform``.
    public static func inputsDigest(of layer: PackagesLayer, plan: ImageBuildPlan) throws -> ContentDigest {
        let architecture = try DebianArchitecture.name(for: plan.platform)
        let sources: [JSONValue] = layer.sources.map { source in
            switch source {
            case .system:
                return .string("system")
            case .directory(let path):
                return .object(["dir": .string(portable(path, plan: plan))])
            case .repository(let repository):
                var members: [String: JSONValue] = [
                    "uri": .string(repository.uri), "suite": .string(repository.suite),
                    "components": .array(repository.components.map { .string($0) }),
                    "allow_unsigned": .bool(repository.allowUnsigned),
                ]
                if let signedBy = repository.signedBy { members["signed_by"] = .string(portable(signedBy, plan: plan)) }
                return .object(members)
            }
        }
        let document = JSONValue.object([
            "architecture": .string(architecture),
            "names": .array(layer.names.map { .string($0) }),
            "exclude": .array(layer.exclude.map { .string($0) }),
            "resolve": .string(layer.resolve.rawValue),
            "sources": .array(sources),
        ])
        return ContentDigest(sha256Bytes: SHA256.hash(data: LockFile.bytes(document)))
    }

    /// A host path relative to the plan directory when inside it.
    static func portable(_ path: String, plan: ImageBuildPlan) -> String {
        let directory = plan.directory.trimmingTrailingSlash + "/"
        return path.hasPrefix(directory) ? String(path.dropFirst(directory.count)) : path
    }

    // MARK: Resolve

    /// Reads the layer's sources and resolves its names.
    /// - Throws: ``SourcesError``, ``RepositoryError``, ``IndexError``,
    ///   ``ResolutionError``, ``UnsupportedPlatform``, ``DebArchiveError``
    ///   (a `dir:` package that cannot be read).
    public func resolve(context: StrategyContext) async throws -> LockedLayer {
        let plan = context.plan
        let architecture = try DebianArchitecture.name(for: plan.platform)
        let work = try makeDirectory(in: context.scratchRoot, prefix: "packages-index-\(context.layer.name)")
        defer { if !context.keepScratch { try? FileManager.default.removeItem(atPath: work) } }
        let fetcher = Fetcher(cacheDirectory: context.cacheDirectory, log: context.log, activity: context.activity)
        let client = RepositoryClient(fetcher: fetcher, workDirectory: work, architecture: architecture)

        var aptSources: [(index: Int, source: AptSource)] = []
        var directories: [(index: Int, path: String)] = []
        for source in layer.sources {
            switch source {
            case .system:
                for system in try SystemSources(root: aptRoot).sources() { aptSources.append((aptSources.count + directories.count, system)) }
            case .repository(let repository):
                let origin = "\(plan.file): layer \"\(context.layer.name)\": source \(repository.uri) \(repository.suite)"
                let keyring: Keyring = repository.signedBy.map { .files([$0]) } ?? .none
                aptSources.append((aptSources.count + directories.count, AptSource(
                    uri: repository.uri, suite: repository.suite, components: repository.components,
                    keyring: keyring, allowUnsigned: repository.allowUnsigned, origin: origin)))
            case .directory(let path):
                directories.append((aptSources.count + directories.count, path))
            }
        }
        // Release files first, all at once: when every one is what it was
        // at an earlier resolution of the same layer (the same verified
        // text, however it came: a 304 or the same bytes again), that
        // resolution is the answer and no index is read (ResolutionMemo).
        let releases = try await withThrowingTaskGroup(of: (Int, (file: ReleaseFile, sha256: String)?).self) { group in
            for (index, source) in aptSources {
                group.addTask { (index, try await client.verifiedRelease(of: source)) }
            }
            var results: [Int: (file: ReleaseFile, sha256: String)?] = [:]
            for try await (index, release) in group { results[index] = release }
            return results
        }
        let inputs = try PackagesStrategy.inputsDigest(of: layer, plan: plan)
        let memo = directories.isEmpty
            ? ResolutionMemo(
                cacheDirectory: context.cacheDirectory, inputs: inputs,
                releases: aptSources.map { ($0.source, releases[$0.index]!?.sha256) })
            : nil
        if let remembered = memo?.load() { return remembered }
        // Indexes are fetched and parsed concurrently; source order (which
        // breaks ties between equal versions) is restored afterwards.
        let perSource = try await withThrowingTaskGroup(of: (Int, [PackageRecord]).self) { group in
            for (index, source) in aptSources {
                guard let release = releases[index]! else { continue }
                group.addTask { (index, try await client.records(from: source, release: release.file)) }
            }
            for (index, path) in directories {
                group.addTask { (index, try LocalDirectory(path: path, context: plan.context).records()) }
            }
            var results: [Int: [PackageRecord]] = [:]
            for try await (index, records) in group { results[index] = records }
            return results
        }
        let records = perSource.keys.sorted().flatMap { perSource[$0]! }
        let resolver = Resolver(packages: records, architecture: architecture)
        let chosen = try resolver.resolve(layer.names, exclude: layer.exclude, transitive: layer.resolve == .transitive)
        let locked = LockedLayer(
            inputs: inputs,
            packages: chosen.map { record in
                LockedPackage(
                    name: record.name, version: record.version.text, architecture: record.architecture,
                    url: PackagesStrategy.lockURL(record.url, plan: plan), size: record.size, sha256: record.sha256)
            })
        memo?.store(locked)
        return locked
    }

    /// Resolves every packages layer of `plan`: the content of its lock file.
    /// - Parameter aptRoot: the directory holding `etc/apt` for `sources: system`.
    /// - Throws: ``LockFailure`` naming every layer that failed and how
    ///   (what ``resolve(context:)`` throws); a cancellation as it is.
    public static func lock(
        plan: ImageBuildPlan, aptRoot: String = "/", scratchRoot: String, cacheDirectory: String, log: @escaping @Sendable (String) -> Void
    ) async throws -> LockFile {
        var lock = LockFile()
        var failures: [LockFailure.Layer] = []
        // A `platforms:` plan resolves each layer once per platform, under
        // its own key (``LockFile/key(layer:plan:)``).
        for target in plan.targetPlatforms.map(plan.forPlatform) {
            for spec in target.layers {
                guard case .packages(let layer) = spec.strategy else { continue }
                let context = StrategyContext(plan: target, layer: spec, scratchRoot: scratchRoot, cacheDirectory: cacheDirectory, log: log)
                let key = LockFile.key(layer: spec.name, plan: target)
                do {
                    lock.layers[key] = try await PackagesStrategy(layer, aptRoot: aptRoot).resolve(context: context)
                } catch is CancellationError {
                    throw CancellationError()
                } catch {
                    // Every layer is tried, so one run names every failure.
                    failures.append(LockFailure.Layer(spec: spec, key: key, error: error))
                }
            }
        }
        guard failures.isEmpty else { throw LockFailure(layers: failures) }
        return lock
    }

    /// `file://` URLs inside the plan directory become relative paths.
    static func lockURL(_ url: String, plan: ImageBuildPlan) -> String {
        guard url.hasPrefix("file://"), let path = URL(string: url)?.path else { return url }
        let portablePath = portable(path, plan: plan)
        return portablePath == path ? url : portablePath
    }

    /// The fetchable URL of a locked package.
    static func fetchURL(_ url: String, plan: ImageBuildPlan) -> String {
        guard !url.contains("://") else { return url }
        return URL(fileURLWithPath: (plan.directory as NSString).appendingPathComponent(url)).absoluteString
    }

    // MARK: Prepare

    /// Fetches, verifies and unpacks the layer's packages.
    ///
    /// With a ``lock`` no index is read: only the pinned `.deb`s, from the
    /// cache or their URL, each checked against its SHA-256 and size;
    /// without one the layer is resolved first.
    /// - Returns: the tree (files in a scratch directory the pipeline removes
    ///   after writing the blob), a note naming the packages whose
    ///   maintainer scripts were not run, and the provenance.
    /// - Throws: what ``resolve(context:)`` throws, ``RepositoryError`` for a
    ///   package that cannot be fetched or does not match, ``DebArchiveError``.
    public func prepare(_ context: StrategyContext) async throws -> PreparedLayer {
        let locked: LockedLayer
        if let lock {
            locked = lock
        } else {
            locked = try await resolve(context: context)
        }
        let plan = context.plan
        let fetcher = Fetcher(cacheDirectory: context.cacheDirectory, log: context.log, activity: context.activity)
        fetcher.expect(files: locked.packages.count, bytes: locked.packages.reduce(Int64(0)) { $0 + Int64($1.size) })
        let files = try await fetch(locked.packages, fetcher: fetcher, plan: plan)
        let unpacked = try makeDirectory(in: context.scratchRoot, prefix: "packages-\(context.layer.name)")
        do {
            var assembler = LayerAssembler(scratch: unpacked)
            for (package, file) in zip(locked.packages, files) {
                try assembler.add(
                    package: package.name, version: package.version, architecture: package.architecture, sha256: package.sha256, debPath: file)
            }
            try assembler.finish(addUsrMergeLinks: plan.base == .scratch)
            var notes: [String] = []
            if !assembler.skippedScripts.isEmpty {
                let list = assembler.skippedScripts.map { "\($0.package) (\($0.scripts.joined(separator: ", ")))" }
                notes.append("maintainer scripts not run: " + list.joined(separator: ", "))
            }
            return PreparedLayer(tree: assembler.tree, temporaryDirectories: [unpacked], notes: notes, provenance: assembler.provenance)
        } catch {
            if !context.keepScratch { try? FileManager.default.removeItem(atPath: unpacked) }
            throw error
        }
    }

    /// Fetches every package, at most ``parallelDownloads`` at a time.
    /// - Returns: the cached paths, in the packages' order.
    /// - Throws: the failure of the first package (in install order) that
    ///   failed, so the error does not depend on which download ended first.
    private func fetch(_ packages: [LockedPackage], fetcher: Fetcher, plan: ImageBuildPlan) async throws -> [String] {
        let limit = parallelDownloads
        let results = await withTaskGroup(of: Download.self) { group in
            var results = [Download?](repeating: nil, count: packages.count)
            for (index, package) in packages.enumerated() {
                if index >= limit {
                    // One in for each one out.
                    guard let download = await group.next() else { break }
                    results[download.index] = download
                    if download.failure != nil { break }
                }
                let url = PackagesStrategy.fetchURL(package.url, plan: plan)
                group.addTask {
                    await Download(index: index, url: url, package: package, fetcher: fetcher)
                }
            }
            while let download = await group.next() { results[download.index] = download }
            return results
        }
        var paths: [String] = []
        for download in results {
            // A slot is empty only after an earlier failure stopped new downloads.
            guard let download else { break }
            if let failure = download.failure { throw failure }
            paths.append(download.path)
        }
        return paths
    }

    /// One package fetched into the cache, or why not.
    private struct Download: Sendable {
        var index: Int
        var path = ""
        var failure: RepositoryError?

        init(index: Int, url: String, package: LockedPackage, fetcher: Fetcher) async {
            self.index = index
            do {
                path = try await fetcher.verifiedFile(url: url, sha256: package.sha256, size: package.size)
            } catch {
                failure = error
            }
        }
    }

    private func makeDirectory(in root: String, prefix: String) throws -> String {
        let path = (root as NSString).appendingPathComponent("\(prefix)-\(UUID().uuidString.prefix(8).lowercased())")
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw RepositoryError.io(path: path, message: "cannot create the directory: \(error.localizedDescription)")
        }
        return path
    }
}

extension LockFile {
    /// The lock file of a plan: beside the plan file, `.lock.json` in place
    /// of its extension.
    public static func path(for plan: ImageBuildPlan) -> String {
        path(forPlan: (plan.directory as NSString).appendingPathComponent((plan.file as NSString).lastPathComponent))
    }

    /// The layer's locked resolution, or nil when the lock has none or it is
    /// stale (the layer's inputs changed since `kiln lock`).
    /// - Throws: ``UnsupportedPlatform``.
    public func layer(_ spec: LayerSpec, plan: ImageBuildPlan) throws -> LockedLayer? {
        guard case .packages(let layer) = spec.strategy, let locked = layers[LockFile.key(layer: spec.name, plan: plan)] else { return nil }
        return try locked.inputs == PackagesStrategy.inputsDigest(of: layer, plan: plan) ? locked : nil
    }

    /// Checks that the lock covers exactly the plan's packages layers, each
    /// fresh, as `kiln build --locked` requires.
    /// - Parameter path: the lock file's path, for the message.
    /// - Throws: ``LockFileError/stale(path:layers:)`` naming every layer
    ///   missing, stale or no longer in the plan; ``UnsupportedPlatform``.
    public func verify(plan: ImageBuildPlan, path: String) throws {
        var stale: [String] = []
        var names: Set<String> = []
        for target in plan.targetPlatforms.map(plan.forPlatform) {
            for spec in target.layers {
                guard case .packages = spec.strategy else { continue }
                let key = LockFile.key(layer: spec.name, plan: target)
                names.insert(key)
                if try layer(spec, plan: target) == nil { stale.append(key) }
            }
        }
        stale += layers.keys.filter { !names.contains($0) }.sorted()
        guard stale.isEmpty else { throw LockFileError.stale(path: path, layers: stale) }
    }
}

/// `kiln lock` could not resolve some packages layers: each one, in plan
/// order (and platform order in a `platforms:` plan), and why.
public struct LockFailure: Error, CustomStringConvertible {
    /// At least one.
    public var layers: [Layer]

    /// One layer that failed.
    public struct Layer: Sendable {
        /// The plan's layer.
        public var spec: LayerSpec
        /// Its key in the lock file (`runtime`, or `runtime@linux/arm64`).
        public var key: String
        /// What ``PackagesStrategy/resolve(context:)`` threw.
        public var error: any Error
    }

    /// `layer "KEY": …` for each failure, one line each.
    public var description: String {
        layers.flatMap { layer in "\(layer.error)".split(separator: "\n").map { "layer \"\(layer.key)\": \($0)" } }.joined(separator: "\n")
    }
}
