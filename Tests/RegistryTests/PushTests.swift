import Foundation
import KilnCore
import OCI
import Registry
import Synchronization
import Testing
import TestSupport

/// Pushing with the client and reading back with skopeo: whole and chunked
/// uploads, mounts, HEAD checks, and uploads cut off midway.
@Suite(.registryPeers) struct PushTests {
    @Test func smallBlobsGoUpInOnePut() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.image("mono", layerSizes: [200_000, 0], seed: 10)
        let client = try RegistryClient(options: harness.options())
        let repository = Repository(registry: harness.registry.host, path: "team/app")
        for blob in image.blobs {
            #expect(try await client.blobExists(repository, digest: blob.digest) == false)
        }
        let digest = try await harness.push(image, to: repository, tag: "v1", with: client)
        #expect(digest == image.manifestDigest)
        #expect(try harness.skopeoDigest("team/app:v1") == image.manifestDigest.description)
        for blob in image.blobs {
            #expect(try await client.blobExists(repository, digest: blob.digest))
        }
        #expect(harness.registry.requests(method: "PATCH") == 0)
        #expect(harness.registry.requests(method: "POST", pathContains: "/v2/team/app/blobs/uploads/") == 3)
        #expect(harness.registry.requests(method: "PUT", pathContains: "/v2/team/app/blobs/uploads/") == 3)
        await client.shutdown()
    }

    @Test func largeBlobsGoUpInChunks() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        var options = harness.options()
        options.chunkSize = 256 << 10
        let client = try RegistryClient(options: options)
        let image = try harness.image("chunks", layerSizes: [(1 << 20) + 1], seed: 11)
        let repository = Repository(registry: harness.registry.host, path: "team/chunked")
        let layer = image.layers[0]
        let seen = Mutex<[Int64]>([])
        try await client.uploadBlob(repository, descriptor: layer.descriptor, from: layer.path, progress: { done, total in
            #expect(total == layer.descriptor.size)
            seen.withLock { $0.append(done) }
        })
        #expect(seen.withLock { $0 } == [262_144, 524_288, 786_432, 1_048_576, 1_048_577, 1_048_577])
        try await client.uploadBlob(repository, descriptor: image.config.descriptor, from: image.config.path, progress: nil)
        _ = try await client.putManifest(repository, reference: "v1", bytes: image.manifest, mediaType: MediaType.imageManifest)
        #expect(harness.registry.requests(method: "PATCH", pathContains: "/v2/team/chunked/blobs/uploads/") == 5)
        #expect(try harness.skopeoDigest("team/chunked:v1") == image.manifestDigest.description)
        let copy = harness.work.path("copy")
        try await client.fetchBlob(repository, descriptor: layer.descriptor, to: copy, progress: nil)
        #expect(try Files.bytes(copy) == layer.bytes)
        await client.shutdown()
    }

    @Test func blobsMountAcrossRepositories() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let client = try RegistryClient(options: harness.options())
        let image = try harness.image("mount", layerSizes: [100_000], seed: 12)
        let base = Repository(registry: harness.registry.host, path: "team/base")
        let app = Repository(registry: harness.registry.host, path: "team/app")
        try await harness.push(image, to: base, tag: "v1", with: client)
        for blob in image.blobs {
            #expect(try await client.mountBlob(app, digest: blob.digest, from: "team/base"))
        }
        _ = try await client.putManifest(app, reference: "v1", bytes: image.manifest, mediaType: MediaType.imageManifest)
        #expect(try harness.skopeoDigest("team/app:v1") == image.manifestDigest.description)
        #expect(harness.registry.requests(method: "PUT", pathContains: "/v2/team/app/blobs/") == 0)

        // A blob the source does not have: the registry opens an upload
        // instead, which the client cancels.
        let stray = try harness.blob("stray", size: 10, seed: 13)
        #expect(try await client.mountBlob(app, digest: stray.digest, from: "team/base") == false)
        #expect(harness.registry.requests(method: "DELETE", pathContains: "/v2/team/app/blobs/uploads/") == 1)
        #expect(try await client.blobExists(app, digest: stray.digest) == false)
        await client.shutdown()
    }

    /// The proxy cuts the second chunk off: the client asks the registry
    /// how much it has (GET of the session) and goes on from there.
    @Test func aDroppedChunkResumesFromTheRegistrysRange() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        var options = harness.options(host: proxy.host)
        options.chunkSize = 300_000
        let client = try RegistryClient(options: options)
        let image = try harness.image("drop", layerSizes: [1_000_000], seed: 14)
        let repository = Repository(registry: proxy.host, path: "team/app")
        // The first PATCH passes (a delay of nothing), the second is cut.
        try proxy.inject([
            .init("PATCH", "/blobs/uploads/", .delay(seconds: 0), count: 1),
            .init("PATCH", "/blobs/uploads/", .dropUploadAfter(bytes: 100_000), count: 1),
        ])
        try await harness.push(image, to: repository, tag: "v1", with: client)
        #expect(proxy.hits(method: "PATCH", fault: "dropUploadAfter") == 1)
        #expect(proxy.hits(method: "GET", pathContains: "/blobs/uploads/") == 1)
        #expect(proxy.hits(method: "PATCH", fault: "pass") == 3)
        #expect(proxy.hits(method: "PATCH", fault: "delay") == 1)
        #expect(harness.registry.requests(method: "POST", pathContains: "/v2/team/app/blobs/uploads/") == 2)
        #expect(try harness.skopeoDigest("team/app:v1") == image.manifestDigest.description)
        await client.shutdown()
    }

    /// A whole-blob PUT cut off is sent again from the file.
    @Test func aDroppedPutIsSentAgain() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        let client = try RegistryClient(options: harness.options(host: proxy.host))
        let image = try harness.image("put", layerSizes: [500_000], seed: 15)
        let repository = Repository(registry: proxy.host, path: "team/app")
        try proxy.inject([.init("PUT", "/blobs/uploads/", .dropUploadAfter(bytes: 200_000), count: 1)])
        try await harness.push(image, to: repository, tag: "v1", with: client)
        #expect(proxy.hits(method: "PUT", fault: "dropUploadAfter") == 1)
        #expect(try harness.skopeoDigest("team/app:v1") == image.manifestDigest.description)
        await client.shutdown()
    }
}
