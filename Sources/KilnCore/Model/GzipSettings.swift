/// Which deflate engine and level write a plan's gzip blobs (the plan's
/// `gzip:` key, docs/layers.md). The default, zlib at level 6, is the
/// format of SPEC §2; anything else is opt-in and gives other (equally
/// valid) bytes, so it joins the layer cache key.
public struct GzipSettings: Hashable, Sendable {
    /// The library that deflates each block.
    public enum Engine: String, Hashable, Sendable, CaseIterable {
        /// zlib, each 1 MiB block primed with the 32 KiB before it.
        case zlib
        /// libdeflate, each 1 MiB block on its own (libdeflate has no preset
        /// dictionary), joined into one deflate stream.
        case libdeflate
    }

    /// The levels a plan may ask for, for both engines.
    public static let levels: ClosedRange<Int> = 1...9

    public var engine: Engine
    /// 1 (fastest) to 9 (smallest).
    public var level: Int

    public init(engine: Engine = .zlib, level: Int = 6) {
        self.engine = engine
        self.level = level
    }

    /// zlib at level 6: what a plan without `gzip:` gets.
    public static let standard = GzipSettings()
}
