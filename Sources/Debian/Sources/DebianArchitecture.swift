public import KilnCore
import Plan

/// The Debian architecture name for an OCI platform.
public enum DebianArchitecture {
    /// `amd64` → `amd64`, `arm64` → `arm64`, `arm/v7` → `armhf`,
    /// `arm/v5`, `arm/v6` → `armel`, `386` → `i386`, `ppc64le` → `ppc64el`,
    /// `mips64le` → `mips64el`, `s390x`, `riscv64` unchanged.
    /// - Throws: ``UnsupportedPlatform`` for a platform Debian does not build.
    public static func name(for platform: Platform) throws(UnsupportedPlatform) -> String {
        guard platform.os == "linux" else { throw UnsupportedPlatform(platform: platform.description) }
        switch (platform.architecture, platform.variant) {
        case ("amd64", _): return "amd64"
        case ("arm64", _): return "arm64"
        case ("arm", "v7"), ("arm", nil): return "armhf"
        case ("arm", "v5"), ("arm", "v6"): return "armel"
        case ("386", _): return "i386"
        case ("ppc64le", _): return "ppc64el"
        case ("mips64le", _): return "mips64el"
        case ("s390x", _): return "s390x"
        case ("riscv64", _): return "riscv64"
        default: throw UnsupportedPlatform(platform: platform.description)
        }
    }
}

/// A platform with no Debian architecture.
public struct UnsupportedPlatform: Error, Hashable, Sendable, CustomStringConvertible {
    /// The platform as `os/architecture[/variant]`.
    public var platform: String
    /// Creates the error for a platform given as `os/architecture[/variant]`.
    public init(platform: String) { self.platform = platform }
    public var description: String { "platform \(platform) has no Debian architecture (kiln knows linux/amd64, arm64, arm/v5-v7, 386, ppc64le, mips64le, s390x, riscv64)" }
}
