public import KilnCore

/// The identity of the bytes the layer engine produces, for cache keys: a
/// cached blob may be reused only when the engine would write the very
/// same bytes today. Bump ``version`` whenever the tar writer, the entry
/// order or normalization, or a compressor's settings or block layout
/// change.
public enum LayerFormat {
    /// kiln's layer-format version.
    public static let version = 1

    /// The compressor and its settings, e.g. `gzip level 6, 1048576-byte
    /// blocks, stored when incompressible`.
    public static func compressor(_ compression: Compression) -> String {
        switch compression {
        case .gzip: "gzip level 6, \(ParallelGzipEncoder.blockSize)-byte blocks with 32 KiB dictionaries, incompressible blocks stored"
        case .zstd: "zstd level \(ZstdEncoder.level), \(ZstdEncoder.jobSize)-byte jobs"
        case .none: "none"
        }
    }
}
