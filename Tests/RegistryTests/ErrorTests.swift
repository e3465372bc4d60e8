import Foundation
import KilnCore
import OCI
import Registry
import Testing
import TestSupport

/// What the registry (or a fault between) says no with, and how the client
/// words it: the status and code, the operation, registry and repository.
@Suite(.registryPeers) struct ErrorTests {
    @Test func notFoundNamesWhatWasAsked() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let client = try RegistryClient(options: harness.options())
        let host = harness.registry.host
        let repository = Repository(registry: host, path: "team/app")
        let manifest = await RegistryHarness.error { _ = try await client.fetchManifest(repository, reference: "v9") }
        #expect(manifest?.isNotFound == true)
        #expect(manifest?.status == 404)
        #expect(manifest?.code == "MANIFEST_UNKNOWN")
        #expect(manifest?.description == "404 manifest unknown: pulling \(host)/team/app:v9")

        let blob = try harness.blob("missing", size: 100, seed: 20)
        let target = harness.work.path("out")
        let download = await RegistryHarness.error {
            try await client.fetchBlob(repository, descriptor: blob.descriptor, to: target, progress: nil)
        }
        #expect(download?.isNotFound == true)
        #expect(download?.code == "BLOB_UNKNOWN")
        #expect(download?.description == "404 blob unknown: pulling \(host)/team/app blob \(blob.digest): blob unknown to registry")
        #expect(!FileManager.default.fileExists(atPath: target) && !FileManager.default.fileExists(atPath: target + ".partial"))

        // A manifest naming a blob the registry lacks.
        let image = try harness.image("orphan", layerSizes: [10], seed: 21)
        let put = await RegistryHarness.error {
            _ = try await client.putManifest(repository, reference: "v1", bytes: image.manifest, mediaType: MediaType.imageManifest)
        }
        #expect(put?.status == 400)
        #expect(put?.code == "MANIFEST_BLOB_UNKNOWN")
        #expect(put?.isNotFound == false)
        #expect(put?.description.hasPrefix("400 manifest blob unknown: pushing \(host)/team/app:v1: blob unknown to registry") == true)
        await client.shutdown()
    }

    @Test func unauthorizedWithoutCredentials() async throws {
        let harness = try RegistryHarness(.basic(user: RegistryHarness.user, password: RegistryHarness.password))
        defer { harness.stop() }
        let client = try RegistryClient(options: harness.options())
        let host = harness.registry.host
        let blob = try harness.blob("b", size: 10, seed: 22)
        let error = await RegistryHarness.error {
            try await client.uploadBlob(Repository(registry: host, path: "team/app"), descriptor: blob.descriptor, from: blob.path, progress: nil)
        }
        #expect(error?.kind == .unauthorized)
        #expect(error?.description == "401 unauthorized: pushing \(host)/team/app blob \(blob.digest): authentication required "
            + "(no credentials for \(host) in \(harness.work.path("home"))/.config/containers/auth.json, \(harness.work.path("home"))/.docker/config.json; "
            + "log in with podman login or docker login, or pass --authfile)")
        await client.shutdown()
    }

    /// A byte flipped on the way: the digest does not match, the error says
    /// expected and actual, and nothing of the blob is kept.
    @Test func aCorruptBlobIsRefusedAndNotKept() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        let image = try harness.seededImage("corrupt", layerSizes: [100_000], seed: 23)
        let layer = image.layers[0]
        try proxy.inject([.init("GET", "/blobs/", .corrupt, count: 10)])
        let client = try RegistryClient(options: harness.options(host: proxy.host))
        let repository = Repository(registry: proxy.host, path: "team/app")
        let target = harness.work.path("layer")
        let error = await RegistryHarness.error {
            try await client.fetchBlob(repository, descriptor: layer.descriptor, to: target, progress: nil)
        }
        // The proxy flips the middle byte of each answer (of a resumed
        // one too, so the digest got is not foretold here).
        #expect(error?.kind == .digestMismatch)
        let message = try #require(error?.description)
        #expect(message.hasPrefix("pulling \(proxy.host)/team/app blob \(layer.digest): expected \(layer.digest) (100000 bytes), got sha256:"))
        #expect(message.hasSuffix(" (100000 bytes); nothing was kept"))
        #expect(message.components(separatedBy: layer.digest.description).count == 3)
        #expect(!FileManager.default.fileExists(atPath: target) && !FileManager.default.fileExists(atPath: target + ".partial"))

        let config = await RegistryHarness.error {
            _ = try await client.fetchBlobBytes(repository, descriptor: image.config.descriptor, limit: 1 << 20)
        }
        #expect(config?.kind == .digestMismatch)

        try proxy.inject([.init("GET", "/manifests/", .corrupt, count: 10)])
        let manifest = await RegistryHarness.error {
            _ = try await client.fetchManifest(repository, reference: image.manifestDigest.description)
        }
        #expect(manifest?.kind == .digestMismatch)
        await client.shutdown()
    }

    @Test func tooManyRequestsWaitsAsRetryAfterSays() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        let image = try harness.seededImage("busy", layerSizes: [10], seed: 24)
        try proxy.inject([.init("GET", "/manifests/", .status(429, retryAfter: 1), count: 1)])
        var options = harness.options(host: proxy.host)
        options.retry = RetryPolicy(attempts: 3, baseDelay: .milliseconds(1), maxDelay: .seconds(5))
        let client = try RegistryClient(options: options)
        let repository = Repository(registry: proxy.host, path: "team/app")
        let clock = ContinuousClock()
        let start = clock.now
        let manifest = try await client.fetchManifest(repository, reference: "v1")
        #expect(clock.now - start >= .seconds(1))
        #expect(manifest.digest == image.manifestDigest)
        #expect(proxy.hits(method: "GET", pathContains: "/manifests/") == 2)

        // A Retry-After past the policy's longest wait is cut to it.
        try proxy.inject([.init("GET", "/manifests/", .status(429, retryAfter: 3600), count: 1)])
        options.retry.maxDelay = .milliseconds(200)
        let impatient = try RegistryClient(options: options)
        let again = clock.now
        _ = try await impatient.fetchManifest(repository, reference: "v1")
        #expect(clock.now - again < .seconds(60))  // not the hour asked for
        await client.shutdown()
        await impatient.shutdown()
    }

    @Test func unavailableIsRetriedThenReported() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        let image = try harness.seededImage("down", layerSizes: [10], seed: 25)
        let client = try RegistryClient(options: harness.options(host: proxy.host))
        let repository = Repository(registry: proxy.host, path: "team/app")
        try proxy.inject([.init(nil, "/blobs/", .status(503), count: 2)])
        #expect(try await client.fetchBlobBytes(repository, descriptor: image.config.descriptor, limit: 4096) == image.config.bytes)
        #expect(proxy.hits(pathContains: "/blobs/") == 3)

        try proxy.inject([.init(nil, "/blobs/", .status(503), count: 100)])
        let error = await RegistryHarness.error {
            _ = try await client.fetchBlobBytes(repository, descriptor: image.config.descriptor, limit: 4096)
        }
        #expect(error?.status == 503)
        #expect(error?.description.hasPrefix("503 unavailable: pulling \(proxy.host)/team/app blob \(image.config.digest)") == true)
        #expect(proxy.hits(pathContains: "/blobs/", fault: "status") == 4 + 2)  // 4 attempts, after the first 2
        await client.shutdown()
    }

    @Test func htmlAndOversizedManifestsAreRefused() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        let client = try RegistryClient(options: harness.options(host: proxy.host))
        let repository = Repository(registry: proxy.host, path: "team/app")
        try proxy.inject([.init("GET", "/manifests/", .html, count: 1)])
        let html = await RegistryHarness.error { _ = try await client.fetchManifest(repository, reference: "v1") }
        #expect(html?.kind == .invalidResponse)
        #expect(html?.description.hasPrefix("pulling \(proxy.host)/team/app:v1: the registry's answer is not a JSON manifest (Content-Type text/html): the server answered with an HTML page") == true)
        #expect((html?.description.count ?? 0) < 300)

        for chunked in [false, true] {
            try proxy.inject([.init("GET", "/manifests/", .hugeJSON(bytes: 50_000_000, chunked: chunked), count: 1)])
            let huge = await RegistryHarness.error { _ = try await client.fetchManifest(repository, reference: "v1") }
            #expect(huge?.kind == .tooLarge)
            #expect(huge?.description == (chunked
                ? "pulling \(proxy.host)/team/app:v1: the manifest is larger than the 4194304 bytes kiln accepts"
                : "pulling \(proxy.host)/team/app:v1: the registry says the manifest is 50000000 bytes, more than the 4194304 kiln accepts"))
        }
        await client.shutdown()
    }

    /// Waiting to retry ends as soon as the task is cancelled.
    @Test func cancellationEndsTheRetries() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        try proxy.inject([.init(nil, "/manifests/", .status(503, retryAfter: 60), count: 100)])
        var options = harness.options(host: proxy.host)
        options.retry = RetryPolicy(attempts: 5, baseDelay: .seconds(60), maxDelay: .seconds(60))
        let client = try RegistryClient(options: options)
        let repository = Repository(registry: proxy.host, path: "team/app")
        let task = Task { try await client.fetchManifest(repository, reference: "v1") }
        // Cancel once the client is waiting to retry (the 503 has arrived).
        for _ in 0..<200 where proxy.hits(fault: "status") == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let clock = ContinuousClock()
        let cancelled = clock.now
        task.cancel()
        let error = await RegistryHarness.error { _ = try await task.value }
        #expect(error?.kind == .cancelled)
        #expect(error?.description == "pulling \(proxy.host)/team/app:v1: cancelled")
        #expect(clock.now - cancelled < .seconds(10))  // not the 60 s wait
        #expect(proxy.hits(fault: "status") == 1)
        await client.shutdown()
    }
}
