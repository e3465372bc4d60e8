import ArgumentParser
import Foundation
import Kiln
import KilnCore
import Plan
import Registry

struct SBOMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sbom",
        abstract: "Print an image's SBOM: the one attached to it, else one computed from its layers.",
        discussion: "Example: kiln sbom out/app --format cyclonedx > sbom.json"
    )

    @Argument(help: "An OCI layout directory, an oci-archive, or a registry reference.")
    var source: String

    @Option(help: "spdx (SPDX 2.3 JSON) or cyclonedx (CycloneDX 1.5 JSON); default: the attached document's format, else spdx.")
    var format: SBOMFormatArgument?

    @Option(help: ArgumentHelp("The platform to take from a multi-platform image, os/arch[/variant].", valueName: "platform"))
    var platform: String?

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        let (source, format) = (self.source, self.format?.format)
        let found = try await ImageSourceRun.run(platform: platform, registry: registry, scratchPrefix: "kiln-sbom") { wanted, scratch, puller in
            try await ImageSBOM.read(source, format: format, platform: wanted, scratch: scratch, puller: puller)
        }
        if found.attached {
            Terminal.line("the \(found.format.rawValue) SBOM attached to \(found.manifestDigest)")
        } else if let original = found.convertedFrom {
            Terminal.line("the \(original.rawValue) SBOM attached to \(found.manifestDigest), converted to \(found.format.rawValue)"
                + (found.coverage.map { ": " + $0.summary } ?? ""))
        } else {
            let asked = format.map { $0.rawValue + " " } ?? ""
            Terminal.line("no \(asked)SBOM attached to \(found.manifestDigest); computed from its layers" + (found.coverage.map { ": " + $0.summary } ?? ""))
        }
        // The document exactly as stored: its digest is the blob's.
        FileHandleWriter.stdout.write(String(decoding: found.bytes, as: UTF8.self))
    }
}
