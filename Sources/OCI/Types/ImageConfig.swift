import Archive
public import KilnCore

/// An OCI image config: platform, runtime config, layer diff_ids and history.
///
/// What a base image's config holds beyond this model: unknown keys of the
/// runtime `config` object (Docker's `Healthcheck`, `Shell`, `OnBuild`, …)
/// are kept in ``ContainerConfig/additionalFields`` and written back, since
/// they change how a container of the derived image runs. Unknown top-level
/// keys (`container`, `container_config`, `docker_version`, …) are dropped:
/// they describe how the base was built, which is not true of the image kiln
/// writes.
public struct ImageConfig: Codable, Hashable, Sendable {
    /// RFC 3339, as the writer spelled it; kiln writes the plan's `Timestamp.rfc3339`.
    public var created: String?
    /// Who made the image; kiln's images have none, and a base's is not inherited.
    public var author: String?
    /// GOARCH name, from the plan's platform in kiln's images.
    public var architecture: String
    /// GOOS name, `linux` in kiln's images.
    public var os: String
    /// `os.version` in JSON; read from bases, not written by kiln.
    public var osVersion: String?
    /// `os.features` in JSON; read from bases, not written by kiln.
    public var osFeatures: [String]?
    /// CPU variant, from the plan's platform in kiln's images.
    public var variant: String?
    /// How a container runs.
    public var config: ContainerConfig?
    /// The uncompressed layers' digests.
    public var rootfs: RootFS
    /// One entry per layer and per empty-layer step.
    public var history: [History]?

    /// Memberwise; only `architecture`, `os` and `rootfs` are required.
    public init(
        created: String? = nil, author: String? = nil, architecture: String, os: String,
        osVersion: String? = nil, osFeatures: [String]? = nil, variant: String? = nil,
        config: ContainerConfig? = nil, rootfs: RootFS, history: [History]? = nil
    ) {
        self.created = created
        self.author = author
        self.architecture = architecture
        self.os = os
        self.osVersion = osVersion
        self.osFeatures = osFeatures
        self.variant = variant
        self.config = config
        self.rootfs = rootfs
        self.history = history
    }

    /// The image's platform.
    public var platform: Platform {
        Platform(os: os, architecture: architecture, variant: variant, osVersion: osVersion, osFeatures: osFeatures)
    }

    enum CodingKeys: String, CodingKey {
        case created
        case author
        case architecture
        case os
        case osVersion = "os.version"
        case osFeatures = "os.features"
        case variant
        case config
        case rootfs
        case history
    }
}

/// The `rootfs` of an image config.
public struct RootFS: Codable, Hashable, Sendable {
    /// Always `layers`.
    public var type: String
    /// SHA-256 of each uncompressed layer tar, bottom first.
    public var diffIDs: [ContentDigest]

    /// Memberwise; `type` defaults to `layers`, the only value the OCI spec
    /// allows.
    public init(type: String = "layers", diffIDs: [ContentDigest]) {
        self.type = type
        self.diffIDs = diffIDs
    }

    enum CodingKeys: String, CodingKey {
        case type
        case diffIDs = "diff_ids"
    }
}

/// One `history` entry of an image config.
public struct History: Codable, Hashable, Sendable {
    /// RFC 3339 time of the step; kiln writes the plan's `created`.
    public var created: String?
    /// kiln writes `kiln <type> <layer name>`.
    public var createdBy: String?
    /// Who made the step; kiln leaves it nil, base entries keep theirs.
    public var author: String?
    /// Free text; kiln leaves it nil, base entries keep theirs.
    public var comment: String?
    /// The step made no layer (only set when true).
    public var emptyLayer: Bool?

    /// Memberwise; every field is optional, as in the JSON.
    public init(created: String? = nil, createdBy: String? = nil, author: String? = nil, comment: String? = nil, emptyLayer: Bool? = nil) {
        self.created = created
        self.createdBy = createdBy
        self.author = author
        self.comment = comment
        self.emptyLayer = emptyLayer
    }

    enum CodingKeys: String, CodingKey {
        case created
        case createdBy = "created_by"
        case author
        case comment
        case emptyLayer = "empty_layer"
    }
}

/// The runtime part of an image config (`config` in the JSON).
///
/// `ExposedPorts` and `Volumes` are JSON objects whose values are always
/// `{}`; here they are the sorted list of their keys.
public struct ContainerConfig: Codable, Hashable, Sendable {
    /// `user`, `uid`, `user:group` or `uid:gid`, resolved by the runtime
    /// against the image's `/etc/passwd`.
    public var user: String?
    /// `port/proto` entries.
    public var exposedPorts: [String]?
    /// `KEY=value` entries, in order.
    public var env: [String]?
    /// Exec-form entrypoint.
    public var entrypoint: [String]?
    /// Exec-form default arguments: the command itself without an
    /// `entrypoint`, its arguments with one.
    public var cmd: [String]?
    /// Absolute paths, sorted: the keys of the JSON `Volumes` object.
    public var volumes: [String]?
    /// Absolute directory the process starts in.
    public var workingDir: String?
    /// Image labels; in kiln's images the base's, with the plan's `labels`
    /// merged over them by key.
    public var labels: [String: String]?
    /// Signal that stops the container, e.g. `SIGTERM`.
    public var stopSignal: String?
    /// Windows-only, kept for round trips.
    public var argsEscaped: Bool?
    /// Keys this model does not name (`Healthcheck`, `Shell`, `OnBuild`, …),
    /// kept as they were so a derived image inherits them.
    public var additionalFields: [String: JSONValue]

    /// Memberwise; every field is optional, and `additionalFields` must not
    /// repeat a key this model names (encoding skips such entries).
    public init(
        user: String? = nil, exposedPorts: [String]? = nil, env: [String]? = nil, entrypoint: [String]? = nil,
        cmd: [String]? = nil, volumes: [String]? = nil, workingDir: String? = nil, labels: [String: String]? = nil,
        stopSignal: String? = nil, argsEscaped: Bool? = nil, additionalFields: [String: JSONValue] = [:]
    ) {
        self.user = user
        self.exposedPorts = exposedPorts
        self.env = env
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.volumes = volumes
        self.workingDir = workingDir
        self.labels = labels
        self.stopSignal = stopSignal
        self.argsEscaped = argsEscaped
        self.additionalFields = additionalFields
    }

    enum CodingKeys: String, CodingKey {
        case user = "User"
        case exposedPorts = "ExposedPorts"
        case env = "Env"
        case entrypoint = "Entrypoint"
        case cmd = "Cmd"
        case volumes = "Volumes"
        case workingDir = "WorkingDir"
        case labels = "Labels"
        case stopSignal = "StopSignal"
        case argsEscaped = "ArgsEscaped"
    }

    /// Any key, for the fields the model does not name.
    private struct OtherKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        user = try container.decodeIfPresent(String.self, forKey: .user)
        exposedPorts = try container.decodeIfPresent([String: JSONValue].self, forKey: .exposedPorts).map(ContainerConfig.sortedKeys)
        env = try container.decodeIfPresent([String].self, forKey: .env)
        entrypoint = try container.decodeIfPresent([String].self, forKey: .entrypoint)
        cmd = try container.decodeIfPresent([String].self, forKey: .cmd)
        volumes = try container.decodeIfPresent([String: JSONValue].self, forKey: .volumes).map(ContainerConfig.sortedKeys)
        workingDir = try container.decodeIfPresent(String.self, forKey: .workingDir)
        labels = try container.decodeIfPresent([String: String].self, forKey: .labels)
        stopSignal = try container.decodeIfPresent(String.self, forKey: .stopSignal)
        argsEscaped = try container.decodeIfPresent(Bool.self, forKey: .argsEscaped)
        let others = try decoder.container(keyedBy: OtherKey.self)
        var additional: [String: JSONValue] = [:]
        for key in others.allKeys where CodingKeys(stringValue: key.stringValue) == nil {
            additional[key.stringValue] = try others.decode(JSONValue.self, forKey: key)
        }
        additionalFields = additional
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(user, forKey: .user)
        try container.encodeIfPresent(exposedPorts.map(ContainerConfig.emptyObjects), forKey: .exposedPorts)
        try container.encodeIfPresent(env, forKey: .env)
        try container.encodeIfPresent(entrypoint, forKey: .entrypoint)
        try container.encodeIfPresent(cmd, forKey: .cmd)
        try container.encodeIfPresent(volumes.map(ContainerConfig.emptyObjects), forKey: .volumes)
        try container.encodeIfPresent(workingDir, forKey: .workingDir)
        try container.encodeIfPresent(labels, forKey: .labels)
        try container.encodeIfPresent(stopSignal, forKey: .stopSignal)
        try container.encodeIfPresent(argsEscaped, forKey: .argsEscaped)
        var others = encoder.container(keyedBy: OtherKey.self)
        for (key, value) in additionalFields where CodingKeys(stringValue: key) == nil {
            try others.encode(value, forKey: OtherKey(stringValue: key))
        }
    }

    private static func sortedKeys(_ object: [String: JSONValue]) -> [String] {
        object.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func emptyObjects(_ keys: [String]) -> [String: JSONValue] {
        Dictionary(keys.map { ($0, JSONValue.object([:])) }, uniquingKeysWith: { first, _ in first })
    }
}
