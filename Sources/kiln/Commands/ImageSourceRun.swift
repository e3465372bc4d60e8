import Foundation
import Kiln
import KilnCore
import Plan
import Registry

/// What `kiln export` and `kiln sbom` share: `--platform` parsed (a bad
/// one is a usage error), a private scratch directory removed afterwards,
/// a registry session for a source that is a reference, ^C honored, and
/// any failure reported as `kiln: error: …` with exit code 1.
enum ImageSourceRun {
    static func run<Result: Sendable>(
        platform: String?, registry: RegistryFlags, scratchPrefix: String,
        _ body: @escaping @Sendable (Platform?, String, ImagePuller) async throws -> Result
    ) async throws -> Result {
        let wanted: Platform?
        do {
            wanted = try platform.map { try Platform(parsing: $0) }
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: \(error)")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("\(scratchPrefix)-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let options = registry.options(environment: ProcessEnvironment.current)
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            return try await Interruptible.run {
                try await RegistryClient.session(options) { client in
                    try await body(wanted, scratch, ImagePuller(client: client, jobs: ProcessInfo.processInfo.activeProcessorCount))
                }
            }
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}
