public import KilnCore
public import OCI
public import Strategies

/// One built image, as the SBOM describes it: everything
/// ``SBOMGenerator`` reads, so it can be called once per image (once per
/// platform in a multi-platform build).
public struct SBOMSubject: Sendable {
    /// The image repository (`registry.example.com/team/app`).
    public var name: String
    /// The image tag.
    public var tag: String
    /// The plan's `created`: the document's timestamp.
    public var created: Timestamp
    /// The image's platform.
    public var platform: Platform
    /// The image manifest's descriptor: the artifact's `subject`, and the
    /// document's namespace is derived from its digest.
    public var manifest: Descriptor
    /// Every layer, bottom first, with its blob and what the SBOM knows of
    /// where its files came from.
    public var layers: [SBOMLayer]
    /// The base image, when the image has one.
    public var base: SBOMBaseImage?
    /// Who supplies the image (`org.opencontainers.image.vendor`), or nil:
    /// then the image repository is named as its supplier.
    public var vendor: String?
    /// Where each `.deb` was downloaded from, keyed by
    /// ``SBOMSubject/packageKey(name:version:architecture:)`` (from the
    /// lock file; absent for packages resolved without one).
    public var packageURLs: [String: String]

    /// Memberwise.
    public init(
        name: String, tag: String, created: Timestamp, platform: Platform, manifest: Descriptor, layers: [SBOMLayer],
        base: SBOMBaseImage?, vendor: String? = nil, packageURLs: [String: String] = [:]
    ) {
        self.name = name
        self.tag = tag
        self.created = created
        self.platform = platform
        self.manifest = manifest
        self.layers = layers
        self.base = base
        self.vendor = vendor
        self.packageURLs = packageURLs
    }

    /// The key of ``packageURLs``.
    public static func packageKey(name: String, version: String, architecture: String) -> String {
        name + " " + version + " " + architecture
    }
}

/// One layer of an ``SBOMSubject``.
public struct SBOMLayer: Sendable {
    /// Where the layer came from, and so how its files are accounted for.
    public enum Role: Sendable {
        /// A layer of the base image: its files are the base image's (and
        /// of the base's dpkg packages that list them).
        case base
        /// A plan layer, with the provenance its strategy recorded (or the
        /// cache kept).
        case plan(name: String, strategy: String, provenance: Provenance)
        /// A layer of an image whose origins are unknown (`kiln sbom` of an
        /// image without an attached SBOM): files are its dpkg packages' or
        /// the layer's own.
        case image
    }

    /// The layer's blob, read to list and hash its files.
    public var layer: LayoutLayer
    /// What the layer is.
    public var role: Role

    /// Memberwise.
    public init(layer: LayoutLayer, role: Role) {
        self.layer = layer
        self.role = role
    }
}

/// The base image as the plan names it.
public struct SBOMBaseImage: Sendable {
    /// The reference: a registry reference as the plan writes it, or an
    /// `oci:`/`oci-archive:` path relative to the plan's directory (never a
    /// host path outside it).
    public var reference: String
    /// The base manifest's digest.
    public var digest: ContentDigest

    /// Memberwise.
    public init(reference: String, digest: ContentDigest) {
        self.reference = reference
        self.digest = digest
    }
}
