import Archive
public import KilnCore
public import Plan
public import Strategies
public import OCI
public import Registry

/// What building one layer produced, for the summary and `--json`.
public struct LayerReport: Codable, Hashable, Sendable {
    /// The plan layer's name, or `base` for every layer of the base image.
    public var name: String
    /// `files`, `packages`, `build`, `derivation`, or `base` for a base layer.
    public var strategy: String
    /// Tar entries (0 for base layers, which are reused as they are).
    public var entries: Int
    /// Bytes of the tar stream.
    public var uncompressedSize: Int64
    /// Bytes of the blob.
    public var compressedSize: Int64
    /// SHA-256 of the uncompressed tar, as the config's `rootfs` lists it.
    public var diffID: ContentDigest
    /// SHA-256 of the blob as stored; equals ``diffID`` when the plan's
    /// compression is `none`.
    public var digest: ContentDigest
    /// Wall-clock seconds spent on the layer (0 for base layers); unlike the
    /// digests, it varies between identical builds.
    public var seconds: Double
    /// Whether the blob came from the cache instead of being built.
    public var cached: Bool
    /// Lines worth telling (e.g. maintainer scripts not run).
    public var notes: [String]
    /// Where each path of the layer came from, whether built or cached
    /// (empty for base layers). Not part of `--json`, whose shape it would
    /// change; the SBOM reads it from here.
    public var provenance = Provenance()
    /// In a `platforms:` build, the platform a per-platform layer (packages,
    /// build, base) was built for; nil for a layer every platform shares.
    public var platform: String? = nil

    /// The name as the build's lines show it: `app@arm64` for a
    /// per-platform layer of a `platforms:` build (`linux/` left out, to
    /// keep the line within 100 columns).
    public var displayName: String { platform.map { name + "@" + LayerReport.shortPlatform($0) } ?? name }

    /// `arm64` for `linux/arm64`, `arm/v7` for `linux/arm/v7`; another os kept.
    public static func shortPlatform(_ platform: String) -> String {
        platform.hasPrefix("linux/") ? String(platform.dropFirst(6)) : platform
    }

    // `provenance` is left out: see its comment.
    enum CodingKeys: String, CodingKey {
        case name, strategy, entries, cached, notes, seconds, digest, platform
        case uncompressedSize = "uncompressed_size"
        case compressedSize = "compressed_size"
        case diffID = "diff_id"
    }

    /// Memberwise.
    public init(name: String, strategy: String, entries: Int, uncompressedSize: Int64, compressedSize: Int64,
                diffID: ContentDigest, digest: ContentDigest, seconds: Double, cached: Bool, notes: [String],
                provenance: Provenance = Provenance()) {
        self.name = name
        self.strategy = strategy
        self.entries = entries
        self.uncompressedSize = uncompressedSize
        self.compressedSize = compressedSize
        self.diffID = diffID
        self.digest = digest
        self.seconds = seconds
        self.cached = cached
        self.notes = notes
        self.provenance = provenance
    }
}

/// The result of `kiln build`.
public struct BuildReport: Codable, Hashable, Sendable {
    /// `name:tag`.
    public var image: String
    /// Digest of the manifest blob: the image's identity, equal for every
    /// build of the same plan and inputs.
    public var manifestDigest: ContentDigest
    /// Digest of the config blob (the image ID in Docker's classic image
    /// store); nil for a `platforms:` build, whose images are in ``platforms``.
    public var configDigest: ContentDigest?
    /// Every layer of the image, base layers first; for a `platforms:`
    /// build, each shared layer once and each per-platform layer once per
    /// platform (``LayerReport/platform``), in plan order.
    public var layers: [LayerReport]
    /// For a `platforms:` build, each platform's image, in plan order;
    /// ``manifestDigest`` is then the image index's digest.
    public var platforms: [PlatformImageReport]? = nil
    /// The layout directory written, if any.
    public var output: String?
    /// The archive written, if any, as an absolute path like ``output``.
    public var tarOutput: String?
    /// Wall-clock time of the whole build, in seconds.
    public var seconds: Double
    /// What `--push` did, once it has.
    public var push: PushResult? = nil
    /// What the shared cache in a registry gave and took, when one was used.
    public var sharedCache: SharedCacheReport? = nil
    /// The SBOM attached, when the plan or `--sbom` asked for one.
    public var sbom: SBOMReport? = nil
    /// What looked like a mistake (SPEC §4): `file:line:col` and message.
    public var warnings: [PlanWarning] = []

    enum CodingKeys: String, CodingKey {
        case image, layers, output, seconds, push, platforms, sbom, warnings
        case sharedCache = "cache_registry"
        case manifestDigest = "manifest_digest"
        case configDigest = "config_digest"
        case tarOutput = "tar"
    }
}

/// One platform's image of a `platforms:` build.
public struct PlatformImageReport: Codable, Hashable, Sendable {
    /// `os/architecture[/variant]`.
    public var platform: String
    /// Digest of the platform's image manifest.
    public var manifestDigest: ContentDigest
    /// Digest of its config blob.
    public var configDigest: ContentDigest
    /// The SBOM attached to it, when the plan or `--sbom` asked for one.
    public var sbom: SBOMReport? = nil

    enum CodingKeys: String, CodingKey {
        case platform, sbom
        case manifestDigest = "manifest_digest"
        case configDigest = "config_digest"
    }
}

/// Receives a build's progress as it happens (from any thread).
public protocol BuildObserver: TransferObserver {
    /// A layer starts (index into the plan's layers).
    func layerStarted(_ index: Int, layer: LayerSpec)
    /// The layer's tar stream is about to start and will be about `bytes`
    /// long (every strategy knows its tree before it streams).
    func layerSized(_ index: Int, bytes: Int64)
    /// Tar bytes written so far for a layer.
    func layerProgress(_ index: Int, bytes: Int64)
    /// What a layer does before its tree streams: downloads, a running
    /// command (whose output lines follow through ``layerOutput``).
    func layerActivity(_ index: Int, _ activity: LayerActivity)
    /// A line of a layer's own output (a build command's stdout/stderr, a
    /// download line), without the layer-name prefix.
    func layerOutput(_ index: Int, layer: LayerSpec, line: String)
    /// A layer is done.
    func layerFinished(_ index: Int, report: LayerReport)
    /// A base layer was reused.
    func baseLayerReused(_ report: LayerReport)
    /// Something worth telling that is no error (an unpinned packages
    /// layer, a cache entry dropped as corrupt).
    func note(_ text: String)
    /// Something in the plan that looks like a mistake (not with `--strict`,
    /// which fails instead).
    func warning(_ warning: PlanWarning)
}

extension BuildObserver {
    // Observers implement only what they show.
    public func layerStarted(_ index: Int, layer: LayerSpec) {}
    public func layerSized(_ index: Int, bytes: Int64) {}
    public func layerProgress(_ index: Int, bytes: Int64) {}
    public func layerActivity(_ index: Int, _ activity: LayerActivity) {}
    public func layerOutput(_ index: Int, layer: LayerSpec, line: String) {}
    public func layerFinished(_ index: Int, report: LayerReport) {}
    public func baseLayerReused(_ report: LayerReport) {}
    public func note(_ text: String) {}
    public func warning(_ warning: PlanWarning) {}
    public func transferStarted(_ blob: Descriptor, direction: TransferDirection) {}
    public func transferProgressed(_ blob: Descriptor, done: Int64, total: Int64) {}
    public func transferFinished(_ blob: Descriptor, outcome: TransferOutcome) {}
}

/// What a build did with the shared layer cache (`--cache-registry`).
public struct SharedCacheReport: Codable, Hashable, Sendable {
    /// The cache's repository, `host/path`.
    public var repository: String
    /// Layers fetched from it instead of built.
    public var fetched: Int
    /// Entries this build uploaded.
    public var uploaded: Int
    /// Layer blobs known to be in the repository after the build: what a
    /// push to the same registry mounts instead of uploading.
    public var blobs: [ContentDigest]
}
