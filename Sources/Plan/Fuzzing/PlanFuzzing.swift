public import KilnCore
import YAML

/// Entry points of the fuzz targets (`fuzz/`, `scripts/fuzz`): untrusted
/// bytes parsed exactly as kiln parses them, the result thrown away. Errors
/// are expected; a crash, a hang or a sanitizer report is the bug.
public enum PlanFuzzing {
    /// A plan file: libyaml through kiln's loader, then the plan decoder.
    public static func plan(_ bytes: [UInt8]) {
        _ = try? YAMLParser.parse(bytes)
        let loader = PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64"))
        _ = try? loader.decode(bytes, file: "fuzz.yaml", directory: "/nonexistent-kiln-fuzz")
    }

    /// A lock file beside a plan.
    public static func lockFile(_ bytes: [UInt8]) {
        _ = try? LockFile.decode(bytes, path: "fuzz.lock.json")
    }
}
