import ArgumentParser
import Foundation
import Kiln
import KilnCore
import Plan
import Registry

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write an image's file system (layers applied with whiteouts) as a directory or one tar.",
        discussion: "Example: kiln export out/app --rootfs /tmp/rootfs"
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
        let destination: ImageExporter.Destination = rootfs.map { .rootfs($0) } ?? .tar(tar!)
        let source = self.source
        let report = try await ImageSourceRun.run(platform: platform, registry: registry, scratchPrefix: "kiln-export") { wanted, scratch, puller in
            try await ImageExporter.export(source, to: destination, platform: wanted, scratch: scratch, puller: puller)
        }
        let target = rootfs ?? tar!
        Terminal.line("exported \(report.summary.entries) entries (\(report.summary.bytes) bytes of files) from \(report.layers) layers of \(source) into \(target)")
    }
}
