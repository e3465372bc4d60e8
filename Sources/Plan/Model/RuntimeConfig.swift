import KilnCore

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

