/// Where an image runs: `os/architecture[/variant]`, and the rarer fields an
/// OCI descriptor may carry.
///
/// One type for the plan's `platform` and for descriptors and configs read
/// from images: a plan fills `os`, `architecture` and `variant` (parsed and
/// checked in `Plan`), while images read from elsewhere may also carry the
/// Windows-only and reserved fields, kept for round trips.
public struct Platform: Codable, Hashable, Sendable, CustomStringConvertible {
    /// GOOS name; a plan accepts only `linux`.
    public var os: String
    /// GOARCH name (`amd64`, `arm64`, …).
    public var architecture: String
    /// CPU variant (`v7`, `v8`), or nil when the architecture has none; only
    /// compared when the wanted platform names one (see ``satisfies(_:)``).
    public var variant: String?
    /// `os.version` in JSON; Windows images set it, kept for round trips.
    public var osVersion: String?
    /// `os.features` in JSON; Windows images set it, kept for round trips.
    public var osFeatures: [String]?
    /// Reserved by the OCI spec; kept for round trips.
    public var features: [String]?

    /// Memberwise, unchecked; `Platform(parsing:)` in `Plan` is the
    /// validating way in. Only `os` and `architecture` are required.
    public init(
        os: String, architecture: String, variant: String? = nil,
        osVersion: String? = nil, osFeatures: [String]? = nil, features: [String]? = nil
    ) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
        self.osVersion = osVersion
        self.osFeatures = osFeatures
        self.features = features
    }

    /// `os/architecture[/variant]`.
    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }

    /// Whether an image for `self` can serve a build for `wanted`: same os
    /// and architecture, and the same variant when `wanted` names one.
    public func satisfies(_ wanted: Platform) -> Bool {
        os == wanted.os && architecture == wanted.architecture
            && (wanted.variant == nil || variant == wanted.variant)
    }

    enum CodingKeys: String, CodingKey {
        case architecture
        case os
        case osVersion = "os.version"
        case osFeatures = "os.features"
        case variant
        case features
    }
}
