import ArgumentParser
import Debian
import Kiln
import KilnCore
import Plan
import Foundation

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Pin the plan's registry base and packages layers in the lock file beside it (app.yaml → app.lock.json).",
        discussion: "Example: kiln lock app.yaml && git add app.lock.json   (then build with --locked)"
    )

    @Argument(help: "The plan file.")
    var plan: String

    @Option(help: "Downloads cache (default: $XDG_CACHE_HOME/kiln).")
    var cacheDir: String?

    @Option(help: "A directory wider than the plan's own that host paths may reach into.")
    var context: String?

    @OptionGroup var registry: RegistryFlags

    @Flag(help: "Print one machine-readable result on stdout: {\"lock\", \"layers\": [{\"layer\", \"packages\"}], \"base\"}.")
    var json = false

    func run() async throws {
        let environment = ProcessEnvironment.current
        let loaded: ImageBuildPlan
        do {
            loaded = try PlanLoader(environment: environment, context: context).load(file: plan)
        } catch {
            for problem in error.errors { Terminal.line(problem.description) }
            throw CommandFailure(code: 1, error: error)
        }
        let path = LockFile.path(for: loaded)
        let layers = loaded.layers.filter { if case .packages = $0.strategy { true } else { false } }
        var registryBase = false
        if case .registry = loaded.base { registryBase = true }
        guard registryBase || !layers.isEmpty else {
            Terminal.line("\(plan): no registry base and no packages layers; nothing to lock")
            if json { Self.writeResult(["lock": .null, "layers": .array([])]) }
            return
        }
        try await write(loaded, layers: layers, to: path)
    }

    private func write(_ loaded: ImageBuildPlan, layers: [LayerSpec], to path: String) async throws {
        let environment = ProcessEnvironment.current
        let cacheDirectory = cacheDir ?? BuildOptions.defaultCacheDirectory(environment: environment)
        let cacheHold = LayerCache.holdShared(cacheDirectory)
        defer { withExtendedLifetime(cacheHold) {} }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-lock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            var lock = layers.isEmpty ? LockFile() : try await PackagesStrategy.lock(
                plan: loaded, scratchRoot: scratch, cacheDirectory: cacheDirectory, log: { line in Terminal.line(line) })
            if case .registry(let reference) = loaded.base {
                let options = registry.options(environment: environment)
                var pin = try await BaseLock.resolve(reference, platform: loaded.platform, registry: options, cacheDirectory: cacheDirectory)
                Terminal.line("base \(pin.reference): \(pin.digest)" + (pin.manifest == pin.digest ? "" : " (\(loaded.platform): \(pin.manifest))"))
                if loaded.isMultiPlatform {
                    // Every platform from the index the tag named for the
                    // first, so the pins agree even if the tag moves meanwhile.
                    pin.platforms[loaded.platform.description] = pin.manifest
                    for platform in loaded.targetPlatforms.dropFirst() {
                        let other = try await BaseLock.resolve(
                            reference.with(digest: pin.digest), platform: platform, registry: options, cacheDirectory: cacheDirectory)
                        pin.platforms[platform.description] = other.manifest
                        Terminal.line("base \(pin.reference): \(pin.digest) (\(platform): \(other.manifest))")
                    }
                }
                lock.base = pin
            }
            try lock.write(to: path)
            var pinned: [JSONValue] = []
            for target in loaded.targetPlatforms.map(loaded.forPlatform) {
                for layer in layers {
                    let key = LockFile.key(layer: layer.name, plan: target)
                    let packages = lock.layers[key]?.packages ?? []
                    Terminal.line("layer \(key): \(packages.count) package\(packages.count == 1 ? "" : "s") pinned")
                    pinned.append(.object(["layer": .string(key), "packages": .integer(Int64(packages.count))]))
                }
            }
            Terminal.line("wrote \(path)")
            if json {
                var document: [String: JSONValue] = ["lock": .string(path), "layers": .array(pinned)]
                if let base = lock.base { document["base"] = .object(["reference": .string(base.reference), "digest": .string(base.digest.description)]) }
                Self.writeResult(document)
            }
        } catch let failure as LockFailure {
            // Every layer that failed, each error at its place in the plan.
            for line in failure.lines { Terminal.line(line) }
            throw CommandFailure(code: 1, error: failure, plan: loaded)
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)", error: error, plan: loaded)
        }
    }

    private static func writeResult(_ document: [String: JSONValue]) {
        guard let bytes = try? CanonicalJSONEncoder.serialize(.object(document)) else { return }
        FileHandleWriter.stdout.write(String(decoding: bytes, as: UTF8.self) + "\n")
    }
}
