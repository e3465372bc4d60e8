import KilnCore

/// One repository to read indexes from: a plan's `{uri, suite, …}` source or
/// one URI × suite of the build host's apt configuration.
public struct AptSource: Hashable, Sendable {
    /// Base URI (`http://`, `https://`, `file://`), without a trailing `/`.
    public var uri: String
    /// A suite (`bookworm`), or a flat-repository path ending in `/`.
    public var suite: String
    /// Components; empty for a flat repository.
    public var components: [String]
    /// What must have signed `InRelease`.
    public var keyring: Keyring
    /// Architectures the source is restricted to, or nil for all.
    public var architectures: [String]?
    /// Accept the repository without a verified signature.
    public var allowUnsigned: Bool
    /// Where the source is declared (`/etc/apt/sources.list:3`, `plan.yaml`),
    /// for messages.
    public var origin: String

    /// Creates a source; trailing `/`s are stripped from `uri`, so URLs built from
    /// it never hold `//`.
    public init(
        uri: String, suite: String, components: [String], keyring: Keyring,
        architectures: [String]? = nil, allowUnsigned: Bool = false, origin: String
    ) {
        var base = uri
        while base.hasSuffix("/") { base.removeLast() }
        self.uri = base
        self.suite = suite
        self.components = components
        self.keyring = keyring
        self.architectures = architectures
        self.allowUnsigned = allowUnsigned
        self.origin = origin
    }

    /// Whether the suite is a flat-repository path (`./`, `dists/x/`).
    public var isFlat: Bool { suite.hasSuffix("/") }

    /// The URL of the directory holding `InRelease`.
    public var releaseDirectory: String {
        if isFlat {
            let path = suite == "./" || suite == "/" ? "" : "/" + String(suite.dropLast())
            return uri + path
        }
        return uri + "/dists/" + suite
    }

    /// `uri suite`, as people recognize a source.
    public var label: String { "\(uri) \(suite)" }
}

/// The keys a source's `InRelease` must be signed with.
public enum Keyring: Hashable, Sendable {
    /// Keyring files (binary or ASCII-armored), absolute paths.
    case files([String])
    /// An ASCII-armored key block given inline (deb822 `Signed-By:`).
    case armored(String)
    /// No keyring named.
    case none
}
