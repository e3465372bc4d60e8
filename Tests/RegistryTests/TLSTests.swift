import Foundation
import KilnCore
import OCI
import Registry
import Testing
import TestSupport

/// HTTPS with a private CA: trusted from --cert-dir or certs.d, refused
/// clearly otherwise; plain HTTP only for registries named insecure.
@Suite(.registryPeers) struct TLSTests {
    @Test func trustedThroughTheCertDirectory() async throws {
        let harness = try RegistryHarness(.tokenTLS(user: RegistryHarness.user, password: RegistryHarness.password))
        defer { harness.stop() }
        var options = try harness.authenticatedOptions()
        options.insecureRegistries = []
        options.certDirectory = harness.registry.certDirectory
        let client = try RegistryClient(options: options)
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("tls", layerSizes: [50_000], seed: 40)
        try await harness.push(image, to: app, tag: "v1", with: client)
        #expect(try await client.fetchManifest(app, reference: "v1").digest == image.manifestDigest)
        let inspect = try harness.skopeo(["inspect", "--cert-dir", harness.registry.certDirectory!, "--creds", "\(RegistryHarness.user):\(RegistryHarness.password)",
                                          "--format", "{{.Digest}}", "docker://\(harness.registry.host)/team/app:v1"])
        #expect(inspect.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == image.manifestDigest.description, "\(inspect.stderr)")
        await client.shutdown()
    }

    @Test func trustedThroughCertsD() async throws {
        let harness = try RegistryHarness(.tls)
        defer { harness.stop() }
        let certsD = try harness.work.directory("certs.d/\(harness.registry.host)")
        try FileManager.default.copyItem(atPath: harness.registry.caCertificatePath!, toPath: certsD + "/ca.crt")
        var options = harness.options(insecure: false)
        options.certsDirectories = [harness.work.path("empty.d"), harness.work.path("certs.d")]
        let client = try RegistryClient(options: options)
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let image = try harness.image("certsd", layerSizes: [10], seed: 41)
        try await harness.push(image, to: app, tag: "v1", with: client)
        #expect(try await client.blobExists(app, digest: image.layers[0].digest))
        await client.shutdown()

        // Without the CA the handshake fails, and the error says where a CA goes.
        let untrusted = try RegistryClient(options: harness.options(insecure: false))
        let error = await RegistryHarness.error { _ = try await untrusted.fetchManifest(app, reference: "v1") }
        #expect(error?.kind == .tls)
        #expect(error?.description.hasPrefix("pulling \(harness.registry.host)/team/app:v1: TLS handshake failed") == true)
        #expect(error?.description.hasSuffix("put the CA in --cert-dir or /etc/containers/certs.d/\(harness.registry.host)/)") == true)
        await untrusted.shutdown()
    }

    @Test func plainHTTPOnlyForInsecureRegistries() async throws {
        let harness = try RegistryHarness(.plain)
        defer { harness.stop() }
        let image = try harness.image("plain", layerSizes: [10], seed: 42)
        try harness.seed(image, as: "team/app:v1")
        let app = Repository(registry: harness.registry.host, path: "team/app")
        let seeded = harness.registry.requests(pathContains: "/v2/team/")
        let secure = try RegistryClient(options: harness.options(insecure: false))
        let error = await RegistryHarness.error { _ = try await secure.fetchManifest(app, reference: "v1") }
        #expect(error?.kind == .tls)
        #expect(error?.description.contains("(if \(harness.registry.host) serves plain HTTP, name it with --insecure-registry \(harness.registry.host);") == true)
        #expect(harness.registry.requests(pathContains: "/v2/team/") == seeded)
        await secure.shutdown()

        var environment = harness.options().environment
        environment["KILN_INSECURE_REGISTRIES"] = "other.example:5000," + harness.registry.host
        let insecure = try RegistryClient(options: RegistryOptions(environment: environment))
        #expect(try await insecure.fetchManifest(app, reference: "v1").digest == image.manifestDigest)
        await insecure.shutdown()
    }
}
