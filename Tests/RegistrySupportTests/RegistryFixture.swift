import Foundation
import Testing
import TestSupport

/// A registry started in a mode, a work directory, and a ``TinyImage`` to
/// push to it as `x/y:t` with skopeo.
struct RegistryFixture {
    let registry: RegistryServer
    let work: TemporaryDirectory
    let image: TinyImage

    init(_ mode: RegistryServer.Mode = .plain) throws {
        registry = try RegistryServer(mode: mode)
        work = try TemporaryDirectory()
        image = try TinyImage(at: work.path("image"), tag: "t")
    }

    func stop() {
        registry.stop()
        work.remove()
    }

    /// `docker://HOST/x/y:t` on `host` (default: the registry's).
    func destination(on host: String? = nil) -> String { "docker://\(host ?? registry.host)/x/y:t" }

    /// skopeo, with an empty auth file of the test's own so credentials
    /// stored on the machine change nothing.
    func skopeo(_ arguments: [String]) throws -> ProcessResult {
        let authFile = try work.write("auth.json", #"{"auths":{}}"#)
        return try Tools.execute(["skopeo", "--insecure-policy"] + arguments,
                                 environment: Tools.environment(setting: ["REGISTRY_AUTH_FILE": authFile]))
    }

    /// `skopeo copy OPTIONS` of the image to `destination(on: host)`.
    func push(_ options: [String], to host: String? = nil) throws -> ProcessResult {
        try skopeo(["copy"] + options + [image.reference("t"), destination(on: host)])
    }

    /// The manifest digest `skopeo inspect OPTIONS` reads back, or why it could not.
    func inspectedDigest(_ options: [String]) throws -> String {
        let inspect = try skopeo(["inspect"] + options + ["--format", "{{.Digest}}", destination()])
        return inspect.succeeded ? inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : "inspect failed: \(inspect.stderr)"
    }

    /// Pushes with `options`, which must succeed, and expects the digest
    /// read back with `inspectOptions` to be the image's.
    func expectRoundTrip(push options: [String], inspect inspectOptions: [String],
                         sourceLocation: SourceLocation = #_sourceLocation) throws {
        let push = try push(options)
        #expect(push.succeeded, "\(push.stderr)", sourceLocation: sourceLocation)
        #expect(try inspectedDigest(inspectOptions) == image.manifestDigest, sourceLocation: sourceLocation)
    }
}
