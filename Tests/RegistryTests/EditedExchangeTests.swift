import Foundation
import KilnCore
import KilnHTTP
import OCI
import Registry
import Synchronization
import Testing
import TestSupport

/// Cases docker-registry never produces (it honours every Range and always
/// sends Docker-Content-Digest), made by a transport that edits what passes
/// between the client and the real registry.
@Suite(.registryPeers) struct EditedExchangeTests {
    /// The real transport, with request headers left out and response
    /// headers dropped as told; counts what it sent.
    final class EditingTransport: HTTPTransport {
        let inner: AsyncHTTPClientTransport
        let dropRequestHeaders: [String]
        let dropResponseHeaders: [String]
        /// Requests whose answer is lost once, after the registry acted.
        let loseAnswer: @Sendable (HTTPRequest) -> Bool
        let lost = Mutex(0)
        let sent = Mutex<[String]>([])

        init(dropRequestHeaders: [String] = [], dropResponseHeaders: [String] = [],
             loseAnswer: @escaping @Sendable (HTTPRequest) -> Bool = { _ in false }) throws {
            inner = try AsyncHTTPClientTransport(configuration: .init())
            self.dropRequestHeaders = dropRequestHeaders
            self.dropResponseHeaders = dropResponseHeaders
            self.loseAnswer = loseAnswer
        }

        func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
            var request = request
            for name in dropRequestHeaders { request.headers[name] = nil }
            sent.withLock { $0.append(request.method + " " + request.url.path) }
            var response = try await inner.send(request)
            for name in dropResponseHeaders { response.headers[name] = nil }
            if loseAnswer(request), lost.withLock({ count in count += 1; return count == 1 }) {
                _ = try await response.body.collect(upTo: 1 << 20)
                throw HTTPTransportError(.connectionLost, "the connection was lost")
            }
            return response
        }
    }

    /// A registry that ignores Range answers 200 with the whole blob: the
    /// partial file is dropped and the download starts over.
    @Test func aRangeIgnoredStartsOver() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("norange", layerSizes: [700_000], seed: 50)
        let layer = image.layers[0]
        let target = harness.work.path("layer")
        try Files.write(Array(layer.bytes[..<300_000]), to: target + ".partial")
        let transport = try EditingTransport(dropRequestHeaders: ["Range"])
        let client = try RegistryClient(options: harness.options(), transport: transport)
        try await client.fetchBlob(Repository(registry: harness.registry.host, path: "team/app"), descriptor: layer.descriptor, to: target, progress: nil)
        #expect(try Files.bytes(target) == layer.bytes)
        // Whole answers only (one, or more when a slow machine timed one out).
        let gets = harness.registry.accessLog().filter { $0.method == "GET" && $0.path.contains(layer.digest.hex) }
        #expect(!gets.isEmpty && gets.allSatisfy { $0.status == 200 })
        await client.shutdown()
        try await transport.inner.shutdown()
    }

    /// Without Docker-Content-Digest, a HEAD cannot tell the digest: the
    /// client fetches the manifest and computes it.
    @Test func aHeadWithoutDigestFallsBackToTheManifest() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("nodigest", layerSizes: [10], seed: 51)
        let transport = try EditingTransport(dropResponseHeaders: ["Docker-Content-Digest"])
        let client = try RegistryClient(options: harness.options(), transport: transport)
        let descriptor = try await client.manifestDescriptor(Repository(registry: harness.registry.host, path: "team/app"), reference: "v1")
        #expect(descriptor == Descriptor(mediaType: MediaType.imageManifest, digest: image.manifestDigest, size: Int64(image.manifest.count)))
        #expect(transport.sent.withLock { $0 } == ["HEAD /v2/team/app/manifests/v1", "GET /v2/team/app/manifests/v1"])
        await client.shutdown()
        try await transport.inner.shutdown()
    }

    /// The answer to the closing PUT is lost after the registry stored the
    /// blob: the PUT sent again finds the session gone, and the client
    /// sees the blob is there instead of uploading it again.
    @Test func aLostAnswerToTheClosingPut() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let blob = try harness.blob("lost", size: 50_000, seed: 52)
        let transport = try EditingTransport(loseAnswer: { $0.method == "PUT" && ($0.url.query ?? "").contains("digest=") })
        let client = try RegistryClient(options: harness.options(), transport: transport)
        let app = Repository(registry: harness.registry.host, path: "team/app")
        try await client.uploadBlob(app, descriptor: blob.descriptor, from: blob.path, progress: nil)
        #expect(transport.lost.withLock { $0 } == 2)
        let log = harness.registry.accessLog().filter { $0.path.hasPrefix("/v2/team/app/") }.map { "\($0.method) \($0.status)" }
        #expect(log == ["POST 202", "PUT 201", "PUT 404", "HEAD 200"])
        await client.shutdown()
        try await transport.inner.shutdown()
    }
}
