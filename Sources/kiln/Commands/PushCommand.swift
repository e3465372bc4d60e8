import ArgumentParser
import Foundation
import Kiln
import KilnCore
import Plan
import Registry

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push a built layout (or oci-archive) to a registry; prints host/path:tag@sha256:….",
        discussion: "Example: kiln push out/app 127.0.0.1:5000/team/app:v1"
    )

    @Argument(help: "An OCI layout directory, or a tar of one.")
    var source: String

    @Argument(help: "Where to push: [host[:port]/]path[:tag] (default: the image's name:tag; without a tag, the image's tag).")
    var reference: String?

    @OptionGroup var registry: RegistryFlags

    @Option(help: "Blobs sent at once (default: the number of cores).")
    var jobs: Int?

    @Option(help: ArgumentHelp("Push only this platform's image of a multi-platform layout, os/arch[/variant] (default: the whole index).", valueName: "platform"))
    var platform: String?

    @Flag(help: "Print one machine-readable result on stdout: {\"reference\",\"digest\",\"uploaded\",\"mounted\",\"existing\"}.")
    var json = false

    @Option(help: "Progress on stderr: auto (live lines on a terminal, else none), tty, plain (a line per blob), none.")
    var progress: ProgressMode = .auto

    func validate() throws {
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        // A reference that cannot be one is a usage error (exit 2).
        if let reference {
            do {
                _ = try RegistryReference(parsing: reference)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if let platform {
            do {
                _ = try Platform(parsing: platform)
            } catch {
                throw ValidationError("--platform: \(error)")
            }
        }
    }

    func run() async throws {
        let (source, reference, registry, jobs) = (source, reference, registry, jobs)
        let platform = try self.platform.map { try Platform(parsing: $0) }
        let progress = progress.resolved(terminal: Terminal.isInteractive && !json)
        do {
            let result = try await Interruptible.run {
                try await Self.push(source: source, to: reference, registry: registry, jobs: jobs, progress: progress, platform: platform)
            }
            Self.report(result, json: json)
        } catch let failure as CommandFailure {
            throw failure
        } catch {
            throw CommandFailure(code: 1, message: "kiln: error: \(error)")
        }
    }

    /// Pushes, reporting transfers on stderr; `build --push` shares it.
    static func push(
        source: String, to reference: String?, registry: RegistryFlags, jobs: Int?, progress: ProgressMode, extraMounts: [ContentDigest: Repository] = [:],
        platform: Platform? = nil
    ) async throws -> PushResult {
        let view = TransferProgressView(mode: progress)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-push-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        defer { view.clear() }
        return try await RegistryClient.session(registry.options(environment: ProcessEnvironment.current)) { client in
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
            let pusher = ImagePusher(client: client, jobs: jobs ?? ProcessInfo.processInfo.activeProcessorCount, observer: view)
            return try await LayoutPush.push(
                source: source, to: reference, pusher: pusher, scratch: scratch, extraMounts: extraMounts, platform: platform)
        }
    }

    /// The pushed reference on stderr, and `--json`'s document on stdout.
    static func report(_ result: PushResult, json: Bool) {
        Terminal.line("pushed \(result.reference) (\(result.uploaded) uploaded, \(result.mounted) mounted, \(result.existing) existing)")
        for referrer in result.referrers ?? [] {
            let how = referrer.via == "referrers-api" ? "the referrers API" : "the referrers tag sha256-\(referrer.subject.hex)"
            Terminal.line("pushed \(referrer.artifactType) \(referrer.digest) referring to \(referrer.subject), listed by \(how)")
        }
        if json, let bytes = try? CanonicalJSONEncoder().encode(result) {
            FileHandleWriter.stdout.write(String(decoding: bytes, as: UTF8.self) + "\n")
        }
    }
}
