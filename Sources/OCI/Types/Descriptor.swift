public import Layers

/// An OCI content descriptor: what a blob is, its digest and size.
public struct Descriptor: Codable, Hashable, Sendable {
    /// What the blob is (``MediaType`` constants for what kiln writes); readers
    /// dispatch on it, so it must match the blob's content.
    public var mediaType: String
    /// SHA-256 of the blob's exact bytes, which is also its file name under
    /// `blobs/sha256/`.
    public var digest: Digest
    /// Bytes in the blob.
    public var size: Int64
    /// Where else the blob may be fetched (foreign layers).
    public var urls: [String]?
    /// Free-form metadata. On kiln's manifest descriptor in `index.json`:
    /// `ref.name` (the tag), `io.containerd.image.name` and the plan's
    /// annotations.
    public var annotations: [String: String]?
    /// Set on manifest descriptors inside an index.
    public var platform: Platform?
    /// Only for artifacts, never set for images; kept so foreign descriptors
    /// round-trip.
    public var artifactType: String?
    /// The blob's bytes, base64, when embedded.
    public var data: String?

    /// Memberwise; only the first three are needed for an image's blobs.
    public init(
        mediaType: String, digest: Digest, size: Int64, urls: [String]? = nil,
        annotations: [String: String]? = nil, platform: Platform? = nil,
        artifactType: String? = nil, data: String? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.urls = urls
        self.annotations = annotations
        self.platform = platform
        self.artifactType = artifactType
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case mediaType
        case digest
        case size
        case urls
        case annotations
        case platform
        case artifactType
        case data
    }
}

/// Where an image runs: `os/architecture[/variant]` and the rarer fields.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    /// GOARCH name (`amd64`, `arm64`, …).
    public var architecture: String
    /// GOOS name; kiln builds only `linux`.
    public var os: String
    /// `os.version` in JSON; Windows images set it, kept for round trips.
    public var osVersion: String?
    /// `os.features` in JSON; Windows images set it, kept for round trips.
    public var osFeatures: [String]?
    /// CPU variant (`v7`, `v8`), or nil when the architecture has none; only
    /// compared when the wanted platform names one (see ``satisfies(_:)``).
    public var variant: String?
    /// Reserved by the OCI spec; kept for round trips.
    public var features: [String]?

    /// Memberwise; only `architecture` and `os` are required.
    public init(
        architecture: String, os: String, osVersion: String? = nil, osFeatures: [String]? = nil,
        variant: String? = nil, features: [String]? = nil
    ) {
        self.architecture = architecture
        self.os = os
        self.osVersion = osVersion
        self.osFeatures = osFeatures
        self.variant = variant
        self.features = features
    }

    /// `os/architecture[/variant]`.
    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// Whether an image for `self` can serve a build for `wanted`: same os
    /// and architecture, and the same variant when `wanted` names one.
    public func satisfies(_ wanted: Platform) -> Bool {
        os == wanted.os && architecture == wanted.architecture
            && (wanted.variant == nil || variant == wanted.variant)
    }

    enum CodingKeys: String, CodingKey {
        case architecture
        case os
        case osVersion = "os.version"
        case osFeatures = "os.features"
        case variant
        case features
    }
}
