import Archive
public import KilnCore

/// An OCI content descriptor: what a blob is, its digest and size.
public struct Descriptor: Codable, Hashable, Sendable {
    /// What the blob is (``MediaType`` constants for what kiln writes); readers
    /// dispatch on it, so it must match the blob's content.
    public var mediaType: String
    /// SHA-256 of the blob's exact bytes, which is also its file name under
    /// `blobs/sha256/`.
    public var digest: ContentDigest
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
        mediaType: String, digest: ContentDigest, size: Int64, urls: [String]? = nil,
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

