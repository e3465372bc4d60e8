/// The runtime part of the image config, as the plan declares it.
///
/// nil / empty means "not set by the plan": the base image's value, if any,
/// is inherited. `entrypoint` set without `cmd` clears an inherited `cmd`.
public struct RuntimeConfig: Hashable, Sendable {
    /// Exec-form entrypoint, replacing the base's; nil inherits it. Set
    /// without `cmd`, it also clears the base's `cmd`.
    public var entrypoint: [String]?
    /// Exec-form default arguments, replacing the base's; nil inherits it.
    public var cmd: [String]?
    /// Environment; merged over the base's by key.
    public var env: [String: String]
    /// Absolute, normalized image path the process starts in; nil inherits.
    public var workdir: String?
    /// Any non-empty text (`app`, `1000:1000`), passed through as is: the
    /// runtime resolves it against the image's own `/etc/passwd`. nil inherits.
    public var user: String?
    /// `port[/tcp|udp|sctp]` entries.
    public var expose: [String]
    /// Absolute image paths.
    public var volumes: [String]
    /// A signal name (`SIGTERM`, `SIGRTMIN+3`) or number 1-64; nil inherits.
    public var stopSignal: String?
    /// Labels for the image config, merged over the base's by key.
    public var labels: [String: String]

    /// Memberwise; the defaults are "not set", so the base's value is inherited.
    public init(
        entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String: String] = [:],
        workdir: String? = nil, user: String? = nil, expose: [String] = [], volumes: [String] = [],
        stopSignal: String? = nil, labels: [String: String] = [:]
    ) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workdir = workdir
        self.user = user
        self.expose = expose
        self.volumes = volumes
        self.stopSignal = stopSignal
        self.labels = labels
    }
}

/// An OCI platform: `os/architecture[/variant]`.
public struct Platform: Hashable, Sendable, CustomStringConvertible {
    /// `linux` for every platform parsed from a plan; other systems are rejected.
    public var os: String
    /// The GOARCH name (`amd64`, `arm64`, …), one of
    /// ``knownArchitectures`` when parsed from a plan.
    public var architecture: String
    /// The CPU variant (`v7`, `v8`), or nil for none.
    public var variant: String?

    /// Memberwise, unchecked; ``init(parsing:)`` is the validating way in.
    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    /// `os/architecture[/variant]`.
    public var description: String {
        [os, architecture, variant].compactMap { $0 }.joined(separator: "/")
    }
}
