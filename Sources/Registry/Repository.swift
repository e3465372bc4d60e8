public import KilnCore

/// A repository in a registry: where manifests and blobs are asked for.
public struct Repository: Hashable, Sendable, CustomStringConvertible {
    /// The registry, `host[:port]` (`docker.io` is reached at its API host).
    public var registry: String
    /// The repository's path: `library/alpine`, `team/app`.
    public var path: String

    /// The repository `path` in `registry`.
    public init(registry: String, path: String) {
        self.registry = registry
        self.path = path
    }

    /// The repository a reference names (its tag and digest dropped).
    public init(_ reference: RegistryReference) {
        self.init(registry: reference.registry, path: reference.repository)
    }

    /// `registry/path`.
    public var description: String { registry + "/" + path }
}

/// A manifest (or index) as the registry served it.
public struct FetchedManifest: Sendable {
    /// The exact bytes, whose SHA-256 is ``digest``.
    public var bytes: [UInt8]
    /// Its media type: an OCI manifest or index, or a Docker schema 2
    /// manifest or manifest list.
    public var mediaType: String
    /// The digest of ``bytes``.
    public var digest: ContentDigest

    /// A manifest's bytes, media type and digest.
    public init(bytes: [UInt8], mediaType: String, digest: ContentDigest) {
        self.bytes = bytes
        self.mediaType = mediaType
        self.digest = digest
    }
}

/// Called as a transfer goes on with the bytes done and the total.
public typealias TransferProgress = @Sendable (_ done: Int64, _ total: Int64) -> Void
