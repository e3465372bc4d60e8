import Foundation
import KilnCore
import OCI
import Registry
import Synchronization
import Testing
import TestSupport

/// Pulling what skopeo pushed: manifests by tag and digest, blobs to disk
/// and in memory, and downloads that resume.
@Suite(.registryPeers) struct PullTests {
    @Test func manifestByTagAndByDigest() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("pull", layerSizes: [3000], seed: 1)
        let client = try RegistryClient(options: harness.options())
        let repository = Repository(try RegistryReference(parsing: "\(harness.registry.host)/team/app:v1"))

        let byTag = try await client.fetchManifest(repository, reference: "v1")
        #expect(byTag.bytes == image.manifest)
        #expect(byTag.digest == image.manifestDigest)
        #expect(byTag.mediaType == MediaType.imageManifest)
        let byDigest = try await client.fetchManifest(repository, reference: image.manifestDigest.description)
        #expect(byDigest.bytes == image.manifest)

        let head = try await client.manifestDescriptor(repository, reference: "v1")
        #expect(head == Descriptor(mediaType: MediaType.imageManifest, digest: image.manifestDigest, size: Int64(image.manifest.count)))
        #expect(try await client.manifestDescriptor(repository, reference: "absent") == nil)
        #expect(harness.registry.requests(method: "HEAD", pathContains: "/v2/team/app/manifests/") == 2)
        await client.shutdown()
    }

    @Test func blobsToDiskAndToMemory() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("blobs", layerSizes: [2_500_000], seed: 2)
        let client = try RegistryClient(options: harness.options())
        let repository = Repository(registry: harness.registry.host, path: "team/app")
        let layer = image.layers[0]
        let target = harness.work.path("pulled/layer")
        try FileManager.default.createDirectory(atPath: harness.work.path("pulled"), withIntermediateDirectories: true)

        let seen = Mutex<[Int64]>([])
        try await client.fetchBlob(repository, descriptor: layer.descriptor, to: target, progress: { done, total in
            #expect(total == layer.descriptor.size)
            seen.withLock { $0.append(done) }
        })
        #expect(try Files.bytes(target) == layer.bytes)
        #expect(!FileManager.default.fileExists(atPath: target + ".partial"))
        let progress = seen.withLock { $0 }
        #expect(progress.last == layer.descriptor.size)
        #expect(progress == progress.sorted())

        #expect(try await client.fetchBlobBytes(repository, descriptor: image.config.descriptor, limit: 4096) == image.config.bytes)
        let error = await RegistryHarness.error {
            _ = try await client.fetchBlobBytes(repository, descriptor: layer.descriptor, limit: 1 << 20)
        }
        #expect(error?.kind == .tooLarge)
        #expect(error?.description == "pulling \(harness.registry.host)/team/app blob \(layer.digest): the blob is 2500000 bytes, more than the 1048576 kiln reads into memory")
        await client.shutdown()
    }

    /// The proxy resets the connection a megabyte into the blob: the client
    /// asks again for the rest with Range and gets all of it, verified.
    @Test func aDroppedDownloadResumesWithRange() async throws {
        let harness = try RegistryHarness(proxied: true)
        defer { harness.stop() }
        let proxy = harness.proxy
        let image = try harness.seededImage("resume", layerSizes: [3_000_000], seed: 3)
        let layer = image.layers[0]
        try proxy.inject([.init("GET", "/blobs/\(layer.digest)", .dropAfter(bytes: 1_000_000))])
        let client = try RegistryClient(options: harness.options(host: proxy.host))
        let target = harness.work.path("layer")
        try await client.fetchBlob(Repository(registry: proxy.host, path: "team/app"), descriptor: layer.descriptor, to: target, progress: nil)
        #expect(try Files.bytes(target) == layer.bytes)
        #expect(proxy.hits(method: "GET", pathContains: "/blobs/\(layer.digest)", fault: "dropAfter") == 1)
        let gets = harness.registry.accessLog().filter { $0.method == "GET" && $0.path.contains(layer.digest.hex) }
        #expect(gets.map(\.status) == [200, 206])
        #expect(gets.last.map { $0.bytes < 3_000_000 } == true)
        await client.shutdown()
    }

    /// A partial file left by an earlier run is continued, not fetched again.
    @Test func aPartialFileFromAnEarlierRunIsContinued() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("partial", layerSizes: [1_000_000], seed: 4)
        let layer = image.layers[0]
        let target = harness.work.path("layer")
        try Files.write(Array(layer.bytes[..<400_000]), to: target + ".partial")
        let client = try RegistryClient(options: harness.options())
        try await client.fetchBlob(Repository(registry: harness.registry.host, path: "team/app"), descriptor: layer.descriptor, to: target, progress: nil)
        #expect(try Files.bytes(target) == layer.bytes)
        // Only the rest was asked for (in one request, or more when a slow
        // machine timed one out).
        let gets = harness.registry.accessLog().filter { $0.method == "GET" && $0.path.contains(layer.digest.hex) }
        #expect(!gets.isEmpty && gets.allSatisfy { $0.status == 206 })
        #expect(gets.first?.bytes == 600_000)

        // A partial file of other bytes fails the digest; the client starts
        // over once and gets it right.
        try Files.write([UInt8](repeating: 7, count: 300_000), to: target + ".partial")
        try await client.fetchBlob(Repository(registry: harness.registry.host, path: "team/app"), descriptor: layer.descriptor, to: target, progress: nil)
        #expect(try Files.bytes(target) == layer.bytes)
        await client.shutdown()
    }

    /// Two downloads of one blob to one file at once (two builds filling
    /// one cache): the second writes a file of its own instead of the
    /// locked partial one; both succeed and nothing is left over.
    @Test func concurrentDownloadsOfOneBlob() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("twice", layerSizes: [2_000_000], seed: 5)
        let layer = image.layers[0]
        let client = try RegistryClient(options: harness.options())
        let repository = Repository(registry: harness.registry.host, path: "team/app")
        let directory = try harness.work.directory("cache")
        let target = directory + "/" + layer.digest.hex
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask { try await client.fetchBlob(repository, descriptor: layer.descriptor, to: target, progress: nil) }
            }
            try await group.waitForAll()
        }
        #expect(try Files.bytes(target) == layer.bytes)
        #expect(try Files.entries(directory) == [layer.digest.hex])
        await client.shutdown()
    }

    /// A client freed without shutdown() (its caller threw) closes its
    /// connections by itself; async-http-client would stop the process
    /// (in a debug build) if it did not.
    @Test func aClientDroppedWithoutShutdown() async throws {
        let harness = try RegistryHarness()
        defer { harness.stop() }
        let image = try harness.seededImage("dropped", layerSizes: [10], seed: 6)
        weak var freed: RegistryClient?
        do {
            let client = try RegistryClient(options: harness.options())
            freed = client
            #expect(try await client.blobExists(Repository(registry: harness.registry.host, path: "team/app"), digest: image.config.digest))
        }
        #expect(freed == nil)
        try await Task.sleep(for: .milliseconds(300))
    }
}
