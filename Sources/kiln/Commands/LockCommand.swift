import ArgumentParser
import Debian
import Kiln
import KilnCore
import Plan
import Foundation

struct LockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lock",
        abstract: "Resolve the plan's packages layers and write the lock file beside it (app.yaml → app.lock.json)."
    )

    @Argument(help: "The plan file.")
    var plan: String

    @Option(help: "Downloads cache (default: $XDG_CACHE_HOME/kiln).")
    var cacheDir: String?

    @Option(help: "A directory wider than the plan's own that host paths may reach into.")
    var context: String?

    func run() async throws {
        let environment = ProcessEnvironment.current
        let loaded: ImageBuildPlan
        do {
            loaded = try PlanLoader(environment: environment, context: context).load(file: plan)
        } catch {
            for problem in error.errors { Terminal.line(problem.description) }
            throw CommandFailure(code: 1)
        }
        let path = LockFile.path(for: loaded)
        let layers = loaded.layers.filter { if case .packages = $0.strategy { true } else { false } }
        guard !layers.isEmpty else {
            Terminal.line("\(plan): no packages layers; nothing to lock")
            return
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-lock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let lock = try await PackagesStrategy.lock(
                plan: loaded, scratchRoot: scratch,
                cacheDirectory: cacheDir ?? BuildOptions.defaultCacheDirectory(environment: environment),
                log: { line in Terminal.line(line) })
            try lock.write(to: path)
            for layer in layers {
                let packages = lock.layers[layer.name]?.packages ?? []
                Terminal.line("layer \(layer.name): \(packages.count) package\(packages.count == 1 ? "" : "s") pinned")
            }
            Terminal.line("wrote \(path)")
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}
