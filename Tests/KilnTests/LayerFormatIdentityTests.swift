import CZlib
import CZstd
import Kiln
import Archive
import KilnCore
import Plan
import Testing
import TestSupport

/// The zlib and libzstd that write a layer's bytes are part of its format:
/// another version may write other bytes, so it gives another cache key,
/// and `kiln --version` says which ones the binary runs with.
@Suite struct LayerFormatIdentityTests {
    /// The versions as the C libraries report them in this process, which
    /// loads the same shared libraries as the kiln binary.
    static let zlib = "zlib " + String(cString: zlibVersion())
    static let zstd = "zstd " + String(cString: ZSTD_versionString())

    @Test(.requires(.kilnBinary))
    func versionNamesTheLayerFormatAndBothLibraries() throws {
        let result = try Tools.kiln(["--version"])
        #expect(result.succeeded)
        #expect(result.stdout == "kiln \(Kiln.version) (layer format \(LayerFormat.version); \(Self.zlib), \(Self.zstd), libdeflate \(LayerFormat.libdeflateVersion))\n")
    }

    /// A plan's `gzip:` settings (docs/layers.md) give other bytes, so each
    /// engine and level has keys of its own; the default's key is the one
    /// a plan without `gzip:` always had.
    @Test func theCacheKeyChangesWithTheGzipEngineAndLevel() throws {
        let fixture = try CacheFixture()
        var plan = try fixture.plan()
        plan.compression = .gzip
        let standard = try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:])
        #expect(try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:], compressor: LayerFormat.compressor(.gzip)) == standard)
        var keys: Set = [standard]
        for settings in [GzipSettings(engine: .zlib, level: 4), GzipSettings(engine: .libdeflate, level: 6), GzipSettings(engine: .libdeflate, level: 4)] {
            plan.gzip = settings
            keys.insert(try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:]))
        }
        #expect(keys.count == 4)
    }

    @Test(arguments: [(Compression.gzip, zlib), (.zstd, zstd)])
    func theCacheKeyChangesWithTheCompressionLibrary(compression: Compression, library: String) throws {
        let fixture = try CacheFixture()
        var plan = try fixture.plan()
        plan.compression = compression
        let identity = LayerFormat.compressor(compression)
        #expect(identity.hasSuffix(", " + library))
        let key = try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:])
        #expect(try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:], compressor: identity) == key)
        let otherLibrary = String(identity.dropLast(library.count)) + library.prefix { $0 != " " } + " 0.0.0-other"
        #expect(otherLibrary != identity)
        #expect(try LayerCacheKey(layer: plan.layers[0], plan: plan, inputDigests: [:], compressor: otherLibrary) != key)
    }
}
