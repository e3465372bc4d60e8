import Crypto
import Foundation
import KilnCore
import OCI
import Registry
import Testing
import TestSupport

/// A blob the tests push and pull: its bytes on disk and its descriptor.
struct TestBlob {
    let path: String
    let bytes: [UInt8]
    let descriptor: Descriptor
    var digest: ContentDigest { descriptor.digest }
}

/// A small image: config, layers, and an OCI manifest over them.
struct TestImage {
    let config: TestBlob
    let layers: [TestBlob]
    let manifest: [UInt8]
    var manifestDigest: ContentDigest { ContentDigest(sha256Bytes: SHA256.hash(data: manifest)) }
    var blobs: [TestBlob] { layers + [config] }
}

/// A real registry (``RegistryServer``) in some mode, a work directory, and
/// what the tests need around them: options that reach the registry, blobs
/// and images on disk, skopeo as the independent peer, and the checks that
/// no credential reaches an error or a file.
final class RegistryHarness: @unchecked Sendable {
    let registry: RegistryServer
    let work: TemporaryDirectory
    /// The user and password the authenticating modes accept.
    static let user = "kiln-user"
    static let password = "pw-Zq8x!secret"

    /// With `proxied`, a ``FaultProxy`` in front of the registry.
    let faults: FaultProxy?

    init(_ mode: RegistryServer.Mode = .plain, proxied: Bool = false) throws {
        registry = try RegistryServer(mode: mode)
        work = try TemporaryDirectory(prefix: "kiln-registry-client")
        faults = proxied ? try FaultProxy(in: registry) : nil
    }

    /// The fault proxy (the harness must be `proxied`).
    var proxy: FaultProxy { faults! }

    func stop() {
        faults?.stop()
        registry.stop()
        work.remove()
    }

    /// An image of `layerSizes` random layers that skopeo pushed as `team/app:v1`.
    func seededImage(_ name: String, layerSizes: [Int], seed: UInt64) throws -> TestImage {
        let image = try image(name, layerSizes: layerSizes, seed: seed)
        try self.seed(image, as: "team/app:v1")
        return image
    }

    /// Options with an empty environment (no credentials of the machine's),
    /// plain HTTP for the registry when it has no TLS, and quick retries.
    func options(host: String? = nil, insecure: Bool = true) -> RegistryOptions {
        var options = RegistryOptions(environment: ["PATH": "/usr/bin:/bin", "HOME": work.path("home")])
        if insecure { options.insecureRegistries = [host ?? registry.host] }
        options.retry = RetryPolicy(attempts: 4, baseDelay: .milliseconds(50), maxDelay: .seconds(2))
        options.certsDirectories = [work.path("no-certs.d")]
        return options
    }

    /// Writes an auth file with the test user for `host` (default: the registry).
    func authFile(user: String = RegistryHarness.user, password: String = RegistryHarness.password, host: String? = nil) throws -> String {
        let auth = Data("\(user):\(password)".utf8).base64EncodedString()
        return try work.write("auth-\(user).json", #"{"auths":{"\#(host ?? registry.host)":{"auth":"\#(auth)"}}}"#, mode: 0o600)
    }

    /// Options with the test user's credentials from an auth file.
    func authenticatedOptions(host: String? = nil) throws -> RegistryOptions {
        var options = options(host: host)
        options.authFile = try authFile(host: host)
        return options
    }

    /// A blob of `size` pseudo-random bytes (from `seed`) written under `name`.
    func blob(_ name: String, size: Int, seed: UInt64, mediaType: String = MediaType.layerTarGzip) throws -> TestBlob {
        var random = SplitMix64(seed: seed)
        return try blob(name, bytes: random.bytes(size), mediaType: mediaType)
    }

    func blob(_ name: String, bytes: [UInt8], mediaType: String) throws -> TestBlob {
        let path = try work.write("blobs/" + name, bytes: bytes)
        let descriptor = Descriptor(mediaType: mediaType, digest: ContentDigest(sha256Bytes: SHA256.hash(data: bytes)), size: Int64(bytes.count))
        return TestBlob(path: path, bytes: bytes, descriptor: descriptor)
    }

    /// An image of `layerSizes` random layers (seeded by `seed`) and a config.
    func image(_ name: String, layerSizes: [Int], seed: UInt64) throws -> TestImage {
        let layers = try layerSizes.enumerated().map { index, size in
            try blob("\(name)-layer\(index)", size: size, seed: seed &+ UInt64(index))
        }
        let diffIDs = layers.map { "\"\($0.digest)\"" }.joined(separator: ",")
        let config = try blob("\(name)-config", bytes: Array(
            #"{"architecture":"amd64","os":"linux","config":{"Labels":{"name":"\#(name)"}},"rootfs":{"type":"layers","diff_ids":[\#(diffIDs)]}}"#.utf8),
            mediaType: MediaType.imageConfig)
        func json(_ blob: TestBlob) -> String {
            #"{"mediaType":"\#(blob.descriptor.mediaType)","digest":"\#(blob.digest)","size":\#(blob.descriptor.size)}"#
        }
        let manifest = Array(#"{"schemaVersion":2,"mediaType":"\#(MediaType.imageManifest)","config":\#(json(config)),"layers":[\#(layers.map(json).joined(separator: ","))]}"#.utf8)
        return TestImage(config: config, layers: layers, manifest: manifest)
    }

    /// Pushes `image` with the client: its blobs, then the manifest as `tag`.
    @discardableResult
    func push(_ image: TestImage, to repository: Repository, tag: String, with client: RegistryClient) async throws -> ContentDigest {
        for blob in image.blobs {
            try await client.uploadBlob(repository, descriptor: blob.descriptor, from: blob.path, progress: nil)
        }
        return try await client.putManifest(repository, reference: tag, bytes: image.manifest, mediaType: MediaType.imageManifest)
    }

    /// Writes `image` as an OCI layout and copies it to the registry with
    /// skopeo (the independent peer seeds what the client pulls).
    func seed(_ image: TestImage, as reference: String, credentials: Bool = false, tlsVerify: Bool = false) throws {
        let layout = work.path("layout-" + UUID().uuidString)
        for blob in image.blobs + [TestBlob(path: "", bytes: image.manifest, descriptor: Descriptor(
            mediaType: MediaType.imageManifest, digest: image.manifestDigest, size: Int64(image.manifest.count)))] {
            try Files.write(blob.bytes, to: layout + "/blobs/" + blob.digest.blobPath)
        }
        try Files.write(#"{"imageLayoutVersion":"1.0.0"}"#, to: layout + "/oci-layout")
        try Files.write(#"{"schemaVersion":2,"manifests":[{"mediaType":"\#(MediaType.imageManifest)","digest":"\#(image.manifestDigest)","size":\#(image.manifest.count),"annotations":{"org.opencontainers.image.ref.name":"t"}}]}"#,
                        to: layout + "/index.json")
        let result = try skopeo(["copy", "--preserve-digests", "--dest-tls-verify=\(tlsVerify)"]
            + (credentials ? ["--dest-creds", "\(Self.user):\(Self.password)"] : [])
            + ["oci:\(layout):t", "docker://\(registry.host)/\(reference)"])
        guard result.succeeded else { throw TestSupportError("skopeo copy failed: \(result.stderr)") }
    }

    /// The manifest digest skopeo reads for `reference` on the registry.
    func skopeoDigest(_ reference: String, credentials: Bool = false) throws -> String {
        let result = try skopeo(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"]
            + (credentials ? ["--creds", "\(Self.user):\(Self.password)"] : [])
            + ["docker://\(registry.host)/\(reference)"])
        return result.succeeded ? result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) : "skopeo inspect failed: \(result.stderr)"
    }

    /// skopeo with an empty auth file of the test's own.
    func skopeo(_ arguments: [String]) throws -> ProcessResult {
        let authFile = try work.write("skopeo-auth.json", #"{"auths":{}}"#)
        return try Tools.execute(["skopeo", "--insecure-policy"] + arguments,
                                 environment: Tools.environment(setting: ["REGISTRY_AUTH_FILE": authFile]))
    }

    /// The error `body` throws, which must be a ``RegistryError``.
    static func error(sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void) async -> RegistryError? {
        do {
            try await body()
            Issue.record("no error", sourceLocation: sourceLocation)
            return nil
        } catch let error as RegistryError {
            return error
        } catch {
            Issue.record("not a RegistryError: \(error)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Every spelling of a secret that must never be shown: itself, and
    /// `user:secret` plain and in base64 (a Basic header's payload).
    static func spellings(of secret: String, user: String = RegistryHarness.user) -> [String] {
        [secret, "\(user):\(secret)", Data("\(user):\(secret)".utf8).base64EncodedString()]
    }

    /// Records an issue when `text` holds any of `secrets` or an
    /// `Authorization` value.
    static func expectNoSecret(in text: String, _ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in secrets where text.contains(secret) {
            Issue.record("a secret appears in: \(text)", sourceLocation: sourceLocation)
        }
        #expect(!text.contains("Basic ") && !text.contains("Bearer "), "\(text)", sourceLocation: sourceLocation)
    }

    /// Records an issue when a file below the work directory (other than
    /// the auth files) holds any of `secrets`.
    func expectNoSecretInFiles(_ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let enumerator = FileManager.default.enumerator(atPath: work.path)
        while let relative = enumerator?.nextObject() as? String {
            let path = work.path(relative)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  !relative.hasPrefix("auth-"), !relative.hasSuffix("skopeo-auth.json")
            else { continue }
            let text = String(decoding: try Files.bytes(path), as: UTF8.self)
            for secret in secrets where text.contains(secret) {
                Issue.record("a secret appears in \(relative)", sourceLocation: sourceLocation)
            }
        }
    }
}

/// What every registry test needs on the machine.
extension Trait where Self == ConditionTrait {
    static var registryPeers: Self { .requires(.tools("docker-registry", "skopeo", "openssl")) }
}
