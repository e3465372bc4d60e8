import ArgumentParser
import Foundation
import Kiln
import KilnCore
import Plan
import Registry

struct PullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Fetch an image from a registry into an OCI layout, blobs as served.",
        discussion: "Example: kiln pull 127.0.0.1:5000/team/base:1 -o base --platform all"
    )

    @Argument(help: "The image: [host[:port]/]path[:tag][@sha256:…].")
    var reference: String

    @Option(name: [.customShort("o"), .long], help: "The OCI layout directory to write (replaced atomically).")
    var output: String

    // Like podman and skopeo, an index gives the image for the machine's
    // platform unless asked otherwise; `all` keeps the whole index.
    @Option(help: "The platform to take from an index, os/arch[/variant], or all (default: this machine's, linux/amd64 here).")
    var platform: String?

    @OptionGroup var registry: RegistryFlags

    @Option(help: "Blobs fetched at once (default: the number of cores).")
    var jobs: Int?

    @Flag(help: "Print one machine-readable result on stdout.")
    var json = false

    @Option(help: "Progress on stderr: auto (live lines on a terminal, else none), tty, plain (a line per blob), none.")
    var progress: ProgressMode = .auto

    func run() async throws {
        let parsed: RegistryReference
        let selection: ImagePuller.Selection
        do {
            parsed = try RegistryReference(parsing: reference)
            if platform == "all" {
                selection = .all
            } else {
                selection = .platform(try platform.map { try Platform(parsing: $0) } ?? Platform.host)
            }
        } catch {
            throw CommandFailure(code: 2, message: "kiln: error: \(error)")
        }
        let view = TransferProgressView(mode: progress.resolved(terminal: Terminal.isInteractive && !json))
        let options = registry.options(environment: ProcessEnvironment.current)
        let (jobs, output) = (jobs ?? ProcessInfo.processInfo.activeProcessorCount, output)
        do {
            let report = try await Interruptible.run {
                try await RegistryClient.session(options) { client in
                    let puller = ImagePuller(client: client, jobs: jobs, observer: view)
                    return try await LayoutPull.pull(parsed, selection: selection, output: output, puller: puller)
                }
            }
            view.clear()
            Terminal.line("pulled \(report.reference)@\(report.digest) into \(report.output) (\(report.downloaded) blobs)")
            if json { FileHandleWriter.stdout.write(String(decoding: try CanonicalJSONEncoder().encode(report), as: UTF8.self) + "\n") }
        } catch let failure as CommandFailure {
            view.clear()
            throw failure
        } catch {
            view.clear()
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }
}
