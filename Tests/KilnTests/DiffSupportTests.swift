import Foundation
import Kiln
import KilnCore
import Plan

/// Fixtures of the `kiln diff` suites: how digests are shown, and the loader
/// every plan goes through.
enum DiffFixtures {
    /// A digest as the text and markdown forms show it: 12 hex digits, then `…`.
    static func short(_ digest: String) -> String {
        String(digest.prefix(19)) + "…"
    }

    /// Loads plans for linux/amd64 with an empty environment, so neither the
    /// host nor `SOURCE_DATE_EPOCH` changes a default.
    static let differ = ImageDiffer(loader: PlanLoader(environment: [:], hostPlatform: Platform(os: "linux", architecture: "amd64")))
}
