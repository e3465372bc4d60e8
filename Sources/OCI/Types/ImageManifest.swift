public import KilnCore

/// An OCI image manifest: one config and the layers, bottom first.
public struct ImageManifest: Codable, Hashable, Sendable {
    /// Always 2.
    public var schemaVersion: Int
    /// ``MediaType/imageManifest`` in kiln's manifests; the OCI spec leaves it
    /// optional, Docker manifests in base images carry their own.
    public var mediaType: String?
    /// Only for artifacts, never set for images; kept for round trips.
    public var artifactType: String?
    /// The config blob's descriptor.
    public var config: Descriptor
    /// Layer blobs, bottom first, one per entry of the config's
    /// ``RootFS/diffIDs`` and in the same order.
    public var layers: [Descriptor]
    /// The manifest this one refers to (the referrers API); kiln never sets it.
    public var subject: Descriptor?
    /// The plan's `annotations`; nil when the plan has none.
    public var annotations: [String: String]?

    /// Memberwise; `schemaVersion` and `mediaType` default to an OCI manifest's.
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
    /// ``MediaType/imageIndex`` in kiln's indexes; optional in the OCI spec.
    public var mediaType: String?
    /// Only for artifacts; kept for round trips.
    public var artifactType: String?
    /// In a layout's `index.json`, one entry per image (told apart by
    /// `ref.name`); in a nested index, one per platform.
    public var manifests: [Descriptor]
    /// The manifest this index refers to (the referrers API); kiln never sets it.
    public var subject: Descriptor?
    /// Index-level annotations; kiln's `index.json` has none.
    public var annotations: [String: String]?

    /// Memberwise; `schemaVersion` and `mediaType` default to an OCI index's.
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

    /// Memberwise; paths are relative to the layout root.
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

    /// Memberwise; `1.0.0` is the only version the OCI spec defines.
    public init(imageLayoutVersion: String = "1.0.0") {
        self.imageLayoutVersion = imageLayoutVersion
    }

    enum CodingKeys: String, CodingKey {
        case imageLayoutVersion
    }
}

extension ImageIndex {
    /// The entries that are images (manifests or nested indexes), in order;
    /// anything else an index may list (an SBOM artifact: a manifest whose
    /// descriptor carries an `artifactType`) is left out.
    public var images: [Descriptor] {
        manifests.filter { ($0.artifactType == nil) && (MediaType.isManifest($0.mediaType) || MediaType.isIndex($0.mediaType)) }
    }

    /// The artifacts listed beside the images (an SBOM whose `subject` is
    /// one of them), in order.
    public var artifacts: [Descriptor] {
        manifests.filter { $0.artifactType != nil }
    }

    /// The first image entry whose platform satisfies `platform` (os,
    /// architecture, variant), as docker and containerd choose.
    public func image(for platform: Platform) -> Descriptor? {
        images.first { $0.platform?.satisfies(platform) ?? false }
    }
}
