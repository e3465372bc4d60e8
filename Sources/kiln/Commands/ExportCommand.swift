import ArgumentParser
import Foundation
import Kiln
import KilnCore
import Plan
import Registry

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an image's file system (layers applied with whiteouts) as a directory or one tar."
    )

    @Argument(help: "An OCI layout directory, an oci-archive, or a registry reference.")
    var source: String

    @Option(help: ArgumentHelp("A new directory to write the file system into (as umoci unpack's rootfs).", valueName: "dir"))
    var rootfs: String?

    @Option(help: ArgumentHelp("A tar file to write the file system into, flattened and deterministic.", valueName: "file"))
    var tar: String?

    @Option(help: ArgumentHelp("The platform to take from a multi-platform image, os/arch[/variant].", valueName: "platform"))
    var platform: String?

    @OptionGroup var registry: RegistryFlags

    func validate() throws {
        guard (rootfs == nil) != (tar == nil) else {
            throw ValidationError("name exactly one of --rootfs DIR and --tar FILE")
        }
    }

    func run() async throws {
        let wanted: Platform?
        do {
            wanted = try platform.map { try Platform(parsing: $0) }
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: \(error)")
        }
        let destination: ImageExporter.Destination = rootfs.map { .rootfs($0) } ?? .tar(tar!)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-export-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let options = registry.options(environment: ProcessEnvironment.current)
        let source = self.source
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let report = try await Interruptible.run {
                try await RegistryClient.session(options) { client in
                    let puller = ImagePuller(client: client, jobs: ProcessInfo.processInfo.activeProcessorCount)
                    return try await ImageExporter.export(source, to: destination, platform: wanted, scratch: scratch, puller: puller)
                }
            }
            let target = rootfs ?? tar!
            Terminal.line("exported \(report.summary.entries) entries (\(report.summary.bytes) bytes of files) from \(report.layers) layers of \(source) into \(target)")
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}
