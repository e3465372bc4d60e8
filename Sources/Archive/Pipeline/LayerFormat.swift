public import KilnCore
internal import CZlib
internal import CZstd

/// The identity of the bytes the layer engine produces, for cache keys: a
/// cached blob may be reused only when the engine would write the very
/// same bytes today. Bump ``version`` whenever the tar writer, the entry
/// order or normalization, or a compressor's settings or block layout
/// change.
public enum LayerFormat {
    /// kiln's layer-format version.
    public static let version = 1

    /// The compressor and its settings, and the version of the C library
    /// that writes the bytes, e.g. `gzip level 6, 1048576-byte blocks …,
    /// zlib 1.2.13`: another zlib or libzstd may write other (equally
    /// valid) bytes, so a blob cached under one is not reused under another.
    /// A plan's `gzip:` settings other than the default name their engine,
    /// its version and the level: `gzip level 4, 1048576-byte blocks each
    /// on its own, incompressible blocks stored, libdeflate 1.14`.
    public static func compressor(_ compression: Compression, gzip: GzipSettings = .standard) -> String {
        switch compression {
        case .gzip:
            switch gzip.engine {
            case .zlib:
                "gzip level \(gzip.level), \(ParallelGzipEncoder.blockSize)-byte blocks with 32 KiB dictionaries, incompressible blocks stored, zlib \(zlibVersion)"
            case .libdeflate:
                "gzip level \(gzip.level), \(ParallelGzipEncoder.blockSize)-byte blocks each on its own, incompressible blocks stored, libdeflate \(libdeflateVersion)"
            }
        case .zstd: "zstd level \(ZstdEncoder.level), \(ZstdEncoder.jobSize)-byte jobs, zstd \(zstdVersion)"
        case .none: "none"
        }
    }

    /// The zlib the process runs with, as `zlibVersion()` reports it (the
    /// shared library's, not the header's kiln was compiled against).
    public static let zlibVersion = String(cString: CZlib.zlibVersion())

    /// The libdeflate kiln was built with, linked statically (1.14 has no
    /// run-time version call).
    public static let libdeflateVersion = LibdeflateStream.version

    /// The libzstd the process runs with, as `ZSTD_versionString()` reports it.
    public static let zstdVersion = String(cString: ZSTD_versionString())

    /// The format and the libraries that write its bytes, as
    /// `kiln --version` shows them: `layer format 1; zlib 1.2.13, zstd 1.5.4,
    /// libdeflate 1.14`.
    /// (liblzma only reads `.deb` archives, so it is not part of it.)
    public static var summary: String {
        "layer format \(version); zlib \(zlibVersion), zstd \(zstdVersion), libdeflate \(libdeflateVersion)"
    }
}
