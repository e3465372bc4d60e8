/// An OCI image manifest: one config and the layers, bottom first.
public struct ImageManifest: Codable, Hashable, Sendable {
    /// Always 2.
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var config: Descriptor
    public var layers: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(
        schemaVersion: Int = 2, mediaType: String? = MediaType.imageManifest, artifactType: String? = nil,
        config: Descriptor, layers: [Descriptor], subject: Descriptor? = nil, annotations: [String: String]? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.config = config
        self.layers = layers
        self.subject = subject
        self.annotations = annotations
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion
        case mediaType
        case artifactType
        case config
        case layers
        case subject
        case annotations
    }
}

/// An OCI image index: manifests, usually one per platform, and in a
/// layout's `index.json` the images it holds.
public struct ImageIndex: Codable, Hashable, Sendable {
    /// Always 2.
    public var schemaVersion: Int
    public var mediaType: String?
    public var artifactType: String?
    public var manifests: [Descriptor]
    public var subject: Descriptor?
    public var annotations: [String: String]?

    public init(
        schemaVersion: Int = 2, mediaType: String? = MediaType.imageIndex, artifactType: String? = nil,
        manifests: [Descriptor], subject: Descriptor? = nil, annotations: [String: String]? = nil
    ) {
        self.schemaVersion = schemaVersion
        self.mediaType = mediaType
        self.artifactType = artifactType
        self.manifests = manifests
        self.subject = subject
        self.annotations = annotations
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion
        case mediaType
        case artifactType
        case manifests
        case subject
        case annotations
    }
}

/// One entry of Docker's `manifest.json`, which lets `docker load` read a
/// tarred layout.
public struct DockerManifestEntry: Codable, Hashable, Sendable {
    /// The config blob's path in the layout, `blobs/sha256/<hex>`.
    public var config: String
    /// `name:tag` references to create on load.
    public var repoTags: [String]
    /// The layer blobs' paths, bottom first.
    public var layers: [String]

    public init(config: String, repoTags: [String], layers: [String]) {
        self.config = config
        self.repoTags = repoTags
        self.layers = layers
    }

    enum CodingKeys: String, CodingKey {
        case config = "Config"
        case repoTags = "RepoTags"
        case layers = "Layers"
    }
}

/// The `oci-layout` file's content.
public struct LayoutMarker: Codable, Hashable, Sendable {
    /// `1.0.0`.
    public var imageLayoutVersion: String

    public init(imageLayoutVersion: String = "1.0.0") {
        self.imageLayoutVersion = imageLayoutVersion
    }

    enum CodingKeys: String, CodingKey {
        case imageLayoutVersion
    }
}
