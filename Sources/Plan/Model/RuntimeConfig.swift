/// The runtime part of the image config, as the plan declares it.
///
/// nil / empty means "not set by the plan": the base image's value, if any,
/// is inherited. `entrypoint` set without `cmd` clears an inherited `cmd`.
public struct RuntimeConfig: Hashable, Sendable {
    public var entrypoint: [String]?
    public var cmd: [String]?
    /// Environment; merged over the base's by key.
    public var env: [String: String]
    public var workdir: String?
    public var user: String?
    /// `port[/tcp|udp|sctp]` entries.
    public var expose: [String]
    /// Absolute image paths.
    public var volumes: [String]
    public var stopSignal: String?
    public var labels: [String: String]

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
    public var os: String
    public var architecture: String
    public var variant: String?

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
