public import Archive
public import KilnCore
public import Plan

/// A layer's tree, ready to stream, with the temporary directories its file
/// contents live in (removed once the blob is written).
public struct PreparedLayer: Sendable {
    /// What the layer holds.
    public var tree: LayerTree
    /// Directories created for this layer (build output, unpacked packages);
    /// the pipeline removes them after writing the blob.
    public var temporaryDirectories: [String]
    /// Lines for the build summary, e.g. packages whose maintainer scripts
    /// were not run.
    public var notes: [String]
    /// Where each path of ``tree`` came from (kept with the blob in the
    /// cache, reported with the layer).
    public var provenance: Provenance

    /// A prepared layer; `provenance` is empty unless given.
    public init(tree: LayerTree, temporaryDirectories: [String] = [], notes: [String] = [], provenance: Provenance = Provenance()) {
        self.tree = tree
        self.temporaryDirectories = temporaryDirectories
        self.notes = notes
        self.provenance = provenance
    }
}

/// What a strategy may know about the build it runs in.
public struct StrategyContext: Sendable {
    /// The plan being built (for its directory, context, created, platform).
    public var plan: ImageBuildPlan
    /// The layer being prepared.
    public var layer: LayerSpec
    /// A private directory for this build's temporary files, on the same
    /// file system as the output when possible. Strategies create their own
    /// subdirectories in it.
    public var scratchRoot: String
    /// Where downloads and other content-addressed files may be cached.
    public var cacheDirectory: String
    /// Keep build scratch directories and say where they are.
    public var keepScratch: Bool
    /// Sink for human-readable lines (a build command's output, prefixed
    /// with the layer name by the caller). Called from any thread.
    public var log: @Sendable (String) -> Void
    /// Sink for what the layer is doing while it prepares (downloads, a
    /// running command), for a live line. Called from any thread.
    public var activity: @Sendable (LayerActivity) -> Void
    /// Content digests of host inputs by absolute path, as far as the
    /// caller has them (the build pipeline digests a build layer's inputs):
    /// a build layer's provenance names them.
    public var inputDigests: [String: ContentDigest]

    /// A context; `inputDigests` is empty and activity goes nowhere unless
    /// given.
    public init(
        plan: ImageBuildPlan, layer: LayerSpec, scratchRoot: String, cacheDirectory: String,
        keepScratch: Bool = false, inputDigests: [String: ContentDigest] = [:], log: @escaping @Sendable (String) -> Void,
        activity: @escaping @Sendable (LayerActivity) -> Void = { _ in }
    ) {
        self.plan = plan
        self.layer = layer
        self.scratchRoot = scratchRoot
        self.cacheDirectory = cacheDirectory
        self.keepScratch = keepScratch
        self.inputDigests = inputDigests
        self.log = log
        self.activity = activity
    }
}
