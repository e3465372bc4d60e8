import Foundation

/// podman with a private storage under a temporary directory, so tests
/// neither see nor leave images in the machine's storage, nor each
/// other's: `vfs` (no overlay mounts needed), `runc`, and the limits a
/// container in CI needs (`--ulimit nofile=1024:1024 --ulimit
/// nproc=1024:1024`: the defaults podman asks for exceed what the CI
/// machine grants). Runs as root. ``remove()`` (or the value going away)
/// resets the storage.
///
/// Each instance has its own `containers.conf` with file locks under its
/// own temporary directory: podman's default shared-memory locks are one
/// set per machine, which a podman starting on a new run root resets, so
/// two tests running at once would break each other's containers.
public final class Podman: Sendable {
    /// The command every call starts with: `podman` and the storage options.
    public let command: [String]
    /// The environment every call gets: this one's `CONTAINERS_CONF`.
    public let environment: [String: String]
    private let storage: TemporaryDirectory

    /// What every `run` and `create` is given.
    public static let limits = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]

    public init() throws {
        // podman refuses a run root path over 50 characters: a short prefix.
        storage = try TemporaryDirectory(prefix: "kp")
        command = ["podman", "--storage-driver", "vfs", "--runtime", "runc",
                   "--root", storage.path + "/root", "--runroot", storage.path + "/run"]
        let configuration = try storage.write("containers.conf", """
            [engine]
            lock_type = "file"
            tmp_dir = "\(storage.path)/tmp"

            """)
        environment = Tools.environment(setting: ["CONTAINERS_CONF": configuration])
    }

    deinit { reset() }

    /// Resets podman's storage (it undoes its own mounts and read-only
    /// directories first), then deletes the directory.
    public func remove() { reset() }

    private func reset() {
        _ = try? Tools.execute(command + ["system", "reset", "--force"], environment: environment)
        storage.remove()
    }

    /// `podman ARGUMENTS`, which must succeed; its stdout.
    @discardableResult
    public func run(_ arguments: [String]) throws -> String {
        try Tools.run(command + arguments, environment: environment)
    }

    /// `podman ARGUMENTS`, whatever its exit status.
    public func execute(_ arguments: [String]) throws -> ProcessResult {
        try Tools.execute(command + arguments, environment: environment)
    }

    /// Loads the image `tag` of the OCI layout `directory` into podman's
    /// storage as `name:tag`, the way docker users get it: `skopeo copy`
    /// to a docker-archive, then `podman load`. (`podman run oci:DIR:TAG`
    /// would name the image after DIR, which then must be lowercase; a
    /// temporary directory's is not.)
    /// - Returns: `name:tag`, to run.
    @discardableResult
    public func load(_ directory: String, tag: String, as name: String) throws -> String {
        let reference = name + ":" + tag
        let archive = storage.path + "/" + UUID().uuidString + ".tar"
        try Tools.run(["skopeo", "--insecure-policy", "copy", "oci:\(directory):\(tag)", "docker-archive:\(archive):\(reference)"])
        defer { try? FileManager.default.removeItem(atPath: archive) }
        try run(["load", "-i", archive])
        return reference
    }

    /// `podman run --rm --network NETWORK` of `image` with `arguments`
    /// (after `options`), whatever its exit status.
    public func container(_ image: String, _ arguments: [String] = [], options: [String] = [],
                          network: String = "none") throws -> ProcessResult {
        try execute(["run", "--rm", "--network", network] + Podman.limits + options + [image] + arguments)
    }
}
