import ArgumentParser
import Foundation
import Kiln
import KilnCore
import OCI

/// `kiln cache info` and `kiln cache prune`.
struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Show or trim the layer cache.",
        subcommands: [Info.self, Prune.self]
    )

    struct Location: ParsableArguments {
        @Option(help: "The layer cache (default: $XDG_CACHE_HOME/kiln).")
        var cacheDir: String?

        var path: String { cacheDir ?? BuildOptions.defaultCacheDirectory(environment: ProcessEnvironment.current) }
    }

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Where the cache is, its entries and size, and when entries were last used.")

        @OptionGroup var location: Location

        @Flag(help: "Print one machine-readable result on stdout.")
        var json = false

        func run() throws {
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
            lines.append("packages \(summary.packageFiles) downloaded .deb files, \(ByteCount.format(summary.packageBytes))")
            lines.append("registry \(summary.registryBlobs) blobs of registry bases, \(ByteCount.format(summary.registryBytes))")
            FileHandleWriter.stdout.write(lines.joined(separator: "\n") + "\n")
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove least recently used layers until the cache fits --max-size; without it, empty the cache.")

        @OptionGroup var location: Location

        @Option(help: "Keep the most recently used layers up to this size (bytes, or 500M, 2G, 1.5GiB).")
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
            FileHandleWriter.stdout.write(
                "removed \(result.removedEntries) entries, \(result.removedBlobs) blobs (\(ByteCount.format(result.removedBytes))); "
                    + "kept \(result.keptEntries) entries (\(ByteCount.format(result.keptBytes)))\n")
        }
    }
}
