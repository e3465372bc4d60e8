public import KilnCore
public import Registry

/// How `kiln build` runs, beyond what the plan says.
public struct BuildOptions: Sendable {
    /// The OCI layout directory to create or replace, or nil when only
    /// `tarOutput` is wanted.
    public var output: String?
    /// Also (or only) write the layout as one tar archive here.
    public var tarOutput: String?
    /// Layers built at once and compression threads (`--jobs`, default the
    /// number of cores). Never changes the bytes produced.
    public var jobs: Int
    /// `--locked`: packages layers must come from a fresh lock file.
    public var locked: Bool
    /// Reuse and store layers in the cache (`--no-cache` turns it off).
    public var useCache: Bool
    /// The cache directory (`--cache-dir`, default `$XDG_CACHE_HOME/kiln`).
    public var cacheDirectory: String
    /// Keep build layers' scratch directories and say where.
    public var keepScratch: Bool
    /// How a registry base is reached (credentials, trust, plain HTTP).
    public var registry: RegistryOptions
    /// The repository of the fleet's shared layer cache (`--cache-registry`,
    /// `KILN_CACHE_REGISTRY`), if any.
    public var cacheRegistry: RegistryReference?
    /// Whether this build may upload to the shared cache.
    public var cacheRegistryMode: SharedLayerCache.Mode = .readwrite
    /// The build only pushes, to the shared cache's registry (no `-o`, no
    /// `--tar`): a shared-cache hit may leave its blob in the registry,
    /// where the push mounts it, unless the build reads the layer.
    public var sharedBlobsMayStayRemote = false
    /// `--platform`: build only this platform of the plan's (SPEC §1.5),
    /// as a single image; nil builds every platform.
    public var platform: Platform?
    /// `--strict`: warnings fail the build (exit 1, output untouched).
    public var strict = false
    /// How long one shared-cache operation may take.
    public var cacheRegistryTimeout: Duration = SharedLayerCache.defaultTimeout

    /// Memberwise; `kiln build` fills it from its flags, `cacheDirectory` from
    /// `--cache-dir` or ``defaultCacheDirectory(environment:)``.
    public init(output: String?, tarOutput: String? = nil, jobs: Int, locked: Bool = false, useCache: Bool = true,
                cacheDirectory: String, keepScratch: Bool = false, registry: RegistryOptions = RegistryOptions()) {
        self.registry = registry
        self.output = output
        self.tarOutput = tarOutput
        self.jobs = jobs
        self.locked = locked
        self.useCache = useCache
        self.cacheDirectory = cacheDirectory
        self.keepScratch = keepScratch
    }

    /// `$XDG_CACHE_HOME/kiln`, else `$HOME/.cache/kiln`, else a directory
    /// under the temporary directory.
    public static func defaultCacheDirectory(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return xdg + "/kiln" }
        if let home = environment["HOME"], home.hasPrefix("/") { return home + "/.cache/kiln" }
        return (environment["TMPDIR"] ?? "/tmp") + "/kiln-cache"
    }
}
