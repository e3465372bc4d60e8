/// The SBOM document format a build attaches (`sbom:` in the plan,
/// `kiln build --sbom`, `kiln sbom --format`).
public enum SBOMFormat: String, Hashable, Sendable, CaseIterable {
    /// SPDX 2.3 JSON.
    case spdx
    /// CycloneDX 1.5 JSON.
    case cyclonedx

    /// The artifact type and layer media type of the document in a layout
    /// or registry (`application/spdx+json`, `application/vnd.cyclonedx+json`).
    public var mediaType: String {
        switch self {
        case .spdx: "application/spdx+json"
        case .cyclonedx: "application/vnd.cyclonedx+json"
        }
    }

    /// The format whose media type is `mediaType`, or nil.
    public init?(mediaType: String) {
        guard let format = SBOMFormat.allCases.first(where: { $0.mediaType == mediaType }) else { return nil }
        self = format
    }
}
