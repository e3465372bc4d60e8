public import Layers

/// An OCI content descriptor: what a blob is, its digest and size.
public struct Descriptor: Codable, Hashable, Sendable {
    public var mediaType: String
    public var digest: Digest
    /// Bytes in the blob.
    public var size: Int64
    /// Where else the blob may be fetched (foreign layers).
    public var urls: [String]?
    public var annotations: [String: String]?
    /// Set on manifest descriptors inside an index.
    public var platform: Platform?
    public var artifactType: String?
    /// The blob's bytes, base64, when embedded.
    public var data: String?

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
    public var architecture: String
    public var os: String
    public var osVersion: String?
    public var osFeatures: [String]?
    public var variant: String?
    public var features: [String]?

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
