import ArgumentParser
import Foundation
import Kiln
import KilnCore
import OCI
import Plan

/// `kiln cache info` and `kiln cache prune`.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show or trim the layer cache.",
        discussion: "Example: kiln cache prune --max-size 2G",
        subcommands: [Info.self, Prune.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "The layer cache (default: $XDG_CACHE_HOME/kiln).")
        var cacheDir: String?

        var path: String { cacheDir ?? BuildOptions.defaultCacheDirectory(environment: ProcessEnvironment.current) }
    }

    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Where the cache is, its entries and size, and when entries were last used; with PLAN and --cache-registry, what the shared cache holds of the plan's layers.")

        @Argument(help: "A plan whose layers to look up in --cache-registry.")
        var plan: String?

        @OptionGroup var location: Location

        @OptionGroup var sharedCache: SharedCacheFlags

        @Flag(help: "Print one machine-readable result on stdout.")
        var json = false

        func run() async throws {
            let environment = ProcessEnvironment.current
            if let plan {
                return try await shared(plan: plan, environment: environment)
            }
            let summary: CacheSummary
            do {
                summary = try LayerCache(directory: location.path, access: .shared).summary()
            } catch {
                throw CommandFailure(code: 1, message: "kiln: error: \(error)")
            }
            if json {
                FileHandleWriter.stdout.write(String(decoding: try CanonicalJSONEncoder().encode(summary), as: UTF8.self) + "\n")
                return
            }
            var lines = [
                "cache \(summary.directory)",
                "layers \(summary.entries) entries, \(summary.blobs) blobs, \(ByteCount.format(summary.blobBytes))",
            ]
            if let oldest = summary.oldestUse, let newest = summary.newestUse {
                lines.append("last used oldest \(oldest), newest \(newest)")
            }
            lines.append("inputs \(summary.indexedInputs) files in the stat index")
            lines.append("packages \(summary.packageFiles) downloaded files (.debs and indexes), \(ByteCount.format(summary.packageBytes))")
            lines.append("registry \(summary.registryBlobs) blobs of registry bases, \(ByteCount.format(summary.registryBytes))")
            FileHandleWriter.stdout.write(lines.joined(separator: "\n") + "\n")
        }

        /// `kiln cache info PLAN --cache-registry REF`: one line per layer,
        /// then the count and bytes the registry holds for the plan.
        private func shared(plan file: String, environment: [String: String]) async throws {
            guard let shared = try sharedCache.open(environment: environment) else {
                throw CommandFailure(code: 2, message: "kiln: error: a PLAN is looked up in the shared cache: give --cache-registry REF (or set KILN_CACHE_REGISTRY)")
            }
            let plan: ImageBuildPlan
            do {
                plan = try PlanLoader(environment: environment).load(file: file)
            } catch {
                for problem in error.errors { Terminal.line(problem.description) }
                await shared.shutdown()
                throw CommandFailure(code: 1, error: error)
            }
            let holdings: [(layer: String, key: ContentDigest?, size: Int64?)]
            do {
                holdings = try await shared.holdings(of: plan)
                await shared.shutdown()
            } catch {
                await shared.shutdown()
                throw CommandFailure(code: 1, message: "kiln: error: cache registry \(shared.repository): \(error)")
            }
            let held = holdings.compactMap(\.size)
            let total = held.reduce(0, +)
            if json {
                let document = JSONValue.object([
                    "repository": .string(shared.repository.description), "layers": .integer(Int64(holdings.count)),
                    "entries": .integer(Int64(held.count)), "bytes": .integer(total),
                    "held": .array(holdings.map { item in
                        .object(["layer": .string(item.layer), "key": item.key.map { .string($0.description) } ?? .null,
                                 "size": item.size.map { .integer($0) } ?? .null])
                    }),
                ])
                FileHandleWriter.stdout.write(String(decoding: try CanonicalJSONEncoder.serialize(document), as: UTF8.self) + "\n")
                return
            }
            var lines = ["cache registry \(shared.repository)"]
            for item in holdings {
                let state = item.key == nil ? "not keyed (packages layer not pinned by the lock)" : item.size.map { "held, \(ByteCount.format($0))" } ?? "missing"
                lines.append("  \(item.layer): \(state)")
            }
            lines.append("\(held.count) of \(holdings.count) layers of \(file) held, \(ByteCount.format(total))")
            FileHandleWriter.stdout.write(lines.joined(separator: "\n") + "\n")
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove what was used least recently (layers, downloaded packages and indexes, registry blobs) until the cache fits --max-size; without it, empty the cache. Waits for running builds.")

        @OptionGroup var location: Location

        @Option(help: "Keep the most recently used content up to this size, every kind counted (bytes, or 500M, 2G, 1.5GiB).")
        var maxSize: String?

        @Flag(help: "Print one machine-readable result on stdout.")
        var json = false

        func validate() throws {
            if let maxSize {
                do {
                    _ = try ByteSize.parse(maxSize)
                } catch {
                    throw ValidationError("--max-size: \(error)")
                }
            }
        }

        func run() throws {
            let result: PruneResult
            do {
                let limit = try maxSize.map { try ByteSize.parse($0) }
                result = try LayerCache(directory: location.path, access: .exclusive).prune(maxSize: limit)
            } catch {
                throw CommandFailure(code: 1, message: "kiln: error: \(error)")
            }
            if json {
                FileHandleWriter.stdout.write(String(decoding: try CanonicalJSONEncoder().encode(result), as: UTF8.self) + "\n")
                return
            }
            let lines = [
                "layers    removed \(result.removedEntries) entries, \(result.layers.removedFiles) blobs (\(ByteCount.format(result.layers.removedBytes))); "
                    + "kept \(result.keptEntries) entries, \(result.layers.keptFiles) blobs (\(ByteCount.format(result.layers.keptBytes)))",
                "packages  removed \(result.packages.removedFiles) files (\(ByteCount.format(result.packages.removedBytes))); "
                    + "kept \(result.packages.keptFiles) files (\(ByteCount.format(result.packages.keptBytes)))",
                "registry  removed \(result.registry.removedFiles) blobs (\(ByteCount.format(result.registry.removedBytes))); "
                    + "kept \(result.registry.keptFiles) blobs (\(ByteCount.format(result.registry.keptBytes)))",
                "total     removed \(ByteCount.format(result.removedBytes)); kept \(ByteCount.format(result.keptBytes))",
            ]
            FileHandleWriter.stdout.write(lines.joined(separator: "\n") + "\n")
        }
    }
}
