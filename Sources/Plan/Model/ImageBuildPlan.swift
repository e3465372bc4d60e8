public import KilnCore

/// A validated, normalized image build plan: what `kiln build` compiles.
///
/// Every default is filled and every host path is absolute and resolved, so
/// two plans that mean the same thing compare equal. Built by
/// ``PlanLoader``; an invalid plan never becomes an `ImageBuildPlan`.
public struct ImageBuildPlan: Hashable, Sendable {
    /// The plan file as the user named it, for messages.
    public var file: String
    /// The plan file's directory, absolute and symlink-free.
    public var directory: String
    /// The directory host paths must stay inside (the plan directory unless
    /// `--context` widened it), absolute and symlink-free.
    public var context: String
    /// The image repository, e.g. `registry.example.com/team/app`.
    public var name: String
    /// The image tag (default `latest`).
    public var tag: String
    /// What the image starts from.
    public var base: BaseImage
    /// Target platform (default `linux/<host arch>`). For a plan with
    /// `platforms:`, the first of them; ``forPlatform(_:)`` gives the plan
    /// of each (SPEC §1.5).
    public var platform: Platform
    /// The plan's `platforms:` list (SPEC §1.5), in plan order, or nil for
    /// a plan with one `platform` (which builds one image, no index).
    public var platforms: [Platform]?
    /// The one timestamp every entry, the config and the history carry.
    public var created: Timestamp
    /// How layer blobs are compressed.
    public var compression: Compression
    /// The deflate engine and level of `compression: gzip` (`gzip:`).
    public var gzip: GzipSettings = .standard
    /// The layers, in plan order (bottom first).
    public var layers: [LayerSpec]
    /// The runtime config that goes into the image config.
    public var config: RuntimeConfig
    /// Annotations for the manifest and the index descriptor.
    public var annotations: [String: String]
    /// The SBOM the build attaches (`sbom:`), or nil for none (the default);
    /// `kiln build --sbom` overrides it.
    public var sbom: SBOMFormat?
    /// Where the plan wrote values that errors and warnings after parsing
    /// point at (`base`, `entrypoint`, `cmd`, build commands); never part
    /// of what the plan means.
    public var valueLocations = ValueLocations()

    /// Memberwise; every value must already be validated and normalized, as
    /// ``PlanLoader`` does, or plans that mean the same thing stop comparing equal.
    public init(
        file: String, directory: String, context: String, name: String, tag: String,
        base: BaseImage, platform: Platform, created: Timestamp, compression: Compression,
        layers: [LayerSpec], config: RuntimeConfig, annotations: [String: String]
    ) {
        self.file = file
        self.directory = directory
        self.context = context
        self.name = name
        self.tag = tag
        self.base = base
        self.platform = platform
        self.platforms = nil
        self.created = created
        self.compression = compression
        self.layers = layers
        self.config = config
        self.annotations = annotations
    }
}

extension ImageBuildPlan {
    /// Whether the plan lists `platforms:`: it builds an image index, its
    /// lock file pins each platform's resolution under its own key.
    public var isMultiPlatform: Bool { platforms != nil }

    /// Every platform the plan builds, in plan order.
    public var targetPlatforms: [Platform] { platforms ?? [platform] }

    /// The plan as it builds `platform`'s image: `platform` set to it, the
    /// rest unchanged (`platforms` stays, so lock keys stay per platform).
    public func forPlatform(_ platform: Platform) -> ImageBuildPlan {
        var plan = self
        plan.platform = platform
        return plan
    }
}

/// The image a plan builds on.
public enum BaseImage: Hashable, Sendable {
    /// No base: the image holds only the plan's layers.
    case scratch
    /// A local OCI layout directory (absolute path) and the `ref.name` to pick,
    /// or nil when the layout holds exactly one manifest.
    case ociLayout(path: String, ref: String?)
    /// An OCI layout tarred into one file (absolute path), and the ref to pick.
    case ociArchive(path: String, ref: String?)
    /// An image in a registry (SPEC §1.3, §6); its tag is pinned in the
    /// lock file.
    case registry(RegistryReference)
}

extension ImageBuildPlan {
    /// Every host path the plan's layers read (files sources, build inputs,
    /// package directories), absolute, each once, in plan order.
    public var hostInputs: [String] {
        var seen = Set<String>()
        return layers.flatMap(\.hostInputs).filter { seen.insert($0).inserted }
    }
}

extension LayerSpec {
    /// The host paths this layer reads (files sources, build inputs,
    /// package directories), absolute, each once, in plan order.
    public var hostInputs: [String] {
        var seen = Set<String>()
        var result: [String] = []
        func add(_ path: String) { if seen.insert(path).inserted { result.append(path) } }
        switch strategy {
        case .files(let files):
            for entry in files.entries { if case .source(let path) = entry.content { add(path) } }
        case .build(let build):
            build.inputs.forEach { add($0.hostPath) }
        case .packages(let packages):
            for source in packages.sources { if case .directory(let path) = source { add(path) } }
        case .derivation:
            break
        case .wasm(let wasm):
            add(wasm.module)
        }
        return result
    }
}
