import ArgumentParser
import Foundation
import Kiln
import KilnCore
import OCI

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Summarize a built layout (or oci-archive): tag, digests, platform, layers, config.",
        discussion: "Example: kiln inspect out/app --json"
    )

    @Argument(help: "An OCI layout directory, or a tar of one.")
    var layout: String

    @Flag(help: "Print one machine-readable result on stdout.")
    var json = false

    func run() throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-inspect-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        do {
            let summary = try LayoutSummary.read(layout, scratch: scratch)
            if json {
                FileHandleWriter.stdout.write(String(decoding: try CanonicalJSONEncoder().encode(summary), as: UTF8.self) + "\n")
            } else {
                FileHandleWriter.stdout.write(summary.text)
            }
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}
