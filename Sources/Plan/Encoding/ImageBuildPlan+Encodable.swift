import KilnCore

/// The normalized plan as JSON (`kiln plan`): the plan format's own keys,
/// every default filled, host paths absolute, and — when the encoder's
/// `userInfo[ImageBuildPlan.inputDigestsKey]` holds a `[String: String]`
/// from host path to digest — the content digest of every host input.
/// Source locations are left out, so formatting never changes the output.
extension ImageBuildPlan: Encodable {
    /// `userInfo` key for the `[host path: "sha256:…"]` map of input digests.
    public static let inputDigestsKey = CodingUserInfoKey(rawValue: "kiln.inputDigests")!
    /// `userInfo` key for a directory (a `String`, absolute): host paths
    /// inside it are written relative to it (`.` for itself), so the JSON
    /// no longer depends on where the checkout is (layer cache keys).
    public static let hostPathBaseKey = CodingUserInfoKey(rawValue: "kiln.hostPathBase")!

    private enum Keys: String, CodingKey {
        case kiln, name, tag, base, platform, platforms, created, compression, gzip, sbom, layers, context, directory
        case entrypoint, cmd, env, workdir, user, expose, volumes, stopSignal = "stop_signal", labels, annotations
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(1, forKey: .kiln)
        try c.encode(name, forKey: .name)
        try c.encode(tag, forKey: .tag)
        try c.encode(base, forKey: .base)
        if let platforms {
            try c.encode(platforms.map(\.description), forKey: .platforms)
        } else {
            try c.encode(platform.description, forKey: .platform)
        }
        try c.encode(created.rfc3339, forKey: .created)
        try c.encode(compression.rawValue, forKey: .compression)
        // Only when asked for: plans without it print as they always did.
        if gzip != .standard { try c.encode(["engine": .string(gzip.engine.rawValue), "level": JSONValue.integer(Int64(gzip.level))], forKey: .gzip) }
        try c.encodeIfPresent(sbom?.rawValue, forKey: .sbom)
        try c.encode(layers, forKey: .layers)
        try c.encode(context, forKey: .context)
        try c.encode(directory, forKey: .directory)
        try c.encodeIfPresent(config.entrypoint, forKey: .entrypoint)
        try c.encodeIfPresent(config.cmd, forKey: .cmd)
        try c.encode(config.env, forKey: .env)
        try c.encodeIfPresent(config.workdir, forKey: .workdir)
        try c.encodeIfPresent(config.user, forKey: .user)
        try c.encode(config.expose, forKey: .expose)
        try c.encode(config.volumes, forKey: .volumes)
        try c.encodeIfPresent(config.stopSignal, forKey: .stopSignal)
        try c.encode(config.labels, forKey: .labels)
        try c.encode(annotations, forKey: .annotations)
    }
}

extension BaseImage: Encodable {
    private enum Keys: String, CodingKey { case type, path, ref, reference }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        switch self {
        case .scratch:
            try c.encode("scratch", forKey: .type)
        case .ociLayout(let path, let ref), .ociArchive(let path, let ref):
            try c.encode(self == .ociLayout(path: path, ref: ref) ? "oci" : "oci-archive", forKey: .type)
            try c.encode(path, forKey: .path)
            try c.encodeIfPresent(ref, forKey: .ref)
        case .registry(let reference):
            try c.encode("registry", forKey: .type)
            try c.encode(reference.description, forKey: .reference)
        }
    }
}

extension LayerSpec: Encodable {
    private enum Keys: String, CodingKey {
        case name, type, files, names, sources, resolve, exclude, command, inputs, workdir, env, sandbox, timeout
        case storePath = "store_path", storeDir = "store_dir", closure
        case module, moduleDigest = "module_digest", checkArch = "check_arch"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(name, forKey: .name)
        try c.encode(strategy.typeName, forKey: .type)
        switch strategy {
        case .files(let files):
            try c.encode(files.entries, forKey: .files)
        case .packages(let packages):
            try c.encode(packages.names, forKey: .names)
            try c.encode(packages.sources, forKey: .sources)
            try c.encode(packages.resolve.rawValue, forKey: .resolve)
            try c.encode(packages.exclude, forKey: .exclude)
        case .build(let build):
            switch build.command {
            case .shell(let text): try c.encode(text, forKey: .command)
            case .argv(let argv): try c.encode(argv, forKey: .command)
            }
            try c.encode(build.inputs, forKey: .inputs)
            try c.encodeIfPresent(build.workdir, forKey: .workdir)
            try c.encode(build.env, forKey: .env)
            try c.encode(build.sandbox.rawValue, forKey: .sandbox)
            try c.encodeIfPresent(build.timeout, forKey: .timeout)
        case .derivation(let derivation):
            try c.encode(derivation.storePath, forKey: .storePath)
            try c.encode(derivation.storeDir, forKey: .storeDir)
            try c.encode(derivation.closure, forKey: .closure)
        case .wasm(let wasm):
            try c.encode(encoder.hostPath(wasm.module), forKey: .module)
            try c.encodeIfPresent(encoder.inputDigest(wasm.module), forKey: .moduleDigest)
        }
        // Only when turned off, so plans without it encode as before.
        if !checkArch { try c.encode(false, forKey: .checkArch) }
    }
}

extension FileEntry: Encodable {
    private enum Keys: String, CodingKey {
        case path, source, sourceDigest = "source_digest", content, symlink, directory, replace, remove, mode, owner
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(path, forKey: .path)
        switch content {
        case .source(let host):
            try c.encode(encoder.hostPath(host), forKey: .source)
            try c.encodeIfPresent(encoder.inputDigest(host), forKey: .sourceDigest)
            try c.encodeIfPresent(mode.map(FileMode.format), forKey: .mode)
        case .content(let text):
            try c.encode(text, forKey: .content)
            try c.encode(FileMode.format(mode ?? 0o644), forKey: .mode)
        case .symlink(let target):
            try c.encode(target, forKey: .symlink)
        case .directory:
            try c.encode(true, forKey: .directory)
            try c.encode(FileMode.format(mode ?? 0o755), forKey: .mode)
            if replace { try c.encode(true, forKey: .replace) }
        case .remove:
            // A whiteout has no mode or owner a plan can choose (SPEC §1.4).
            try c.encode(true, forKey: .remove)
            return
        }
        try c.encode((owner ?? Owner(uid: 0, gid: 0)).description, forKey: .owner)
    }
}

extension PackageSource: Encodable {
    private enum Keys: String, CodingKey {
        case system, dir, dirDigest = "dir_digest", uri, suite, components, signedBy = "signed_by", allowUnsigned = "allow_unsigned"
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .system:
            var c = encoder.singleValueContainer()
            try c.encode("system")
        case .directory(let path):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(encoder.hostPath(path), forKey: .dir)
            try c.encodeIfPresent(encoder.inputDigest(path), forKey: .dirDigest)
        case .repository(let repository):
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(repository.uri, forKey: .uri)
            try c.encode(repository.suite, forKey: .suite)
            try c.encode(repository.components, forKey: .components)
            try c.encodeIfPresent(repository.signedBy, forKey: .signedBy)
            try c.encode(repository.allowUnsigned, forKey: .allowUnsigned)
        }
    }
}

extension BuildInput: Encodable {
    private enum Keys: String, CodingKey { case path, source, digest }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(relativePath.isEmpty ? "." : relativePath, forKey: .path)
        try c.encode(encoder.hostPath(hostPath), forKey: .source)
        try c.encodeIfPresent(encoder.inputDigest(hostPath), forKey: .digest)
    }
}

extension Encoder {
    /// The digest of a host input, when the caller supplied digests.
    func inputDigest(_ path: String) -> String? {
        (userInfo[ImageBuildPlan.inputDigestsKey] as? [String: String])?[path]
    }

    /// A host path as written: relative to the caller's base directory when
    /// it is inside it, else as it is (absolute, so the two never collide).
    func hostPath(_ path: String) -> String {
        guard let base = userInfo[ImageBuildPlan.hostPathBaseKey] as? String else { return path }
        if path == base { return "." }
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
