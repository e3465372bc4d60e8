import KilnCore

/// kiln's identity, as printed by `kiln --version` and recorded in cache keys.
public enum Kiln {
    /// The release version.
    public static let version = "0.1.0"
}
