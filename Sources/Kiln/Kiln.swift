import Archive
import KilnCore

/// kiln's identity, as printed by `kiln --version` and recorded in cache keys.
public enum Kiln {
    /// The release version.
    public static let version = "0.1.0"

    /// What `kiln --version` prints: the release and the layer format with
    /// the compression libraries that write its bytes, e.g.
    /// `kiln 0.1.0 (layer format 1; zlib 1.2.13, zstd 1.5.4)`.
    public static var versionDescription: String {
        "kiln \(version) (\(LayerFormat.summary))"
    }
}
