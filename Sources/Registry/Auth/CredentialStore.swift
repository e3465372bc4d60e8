internal import Foundation
internal import KilnCore
internal import KilnProcess

/// Finds the credential for a registry the way podman and skopeo do.
///
/// The files, in order: `--authfile` (``RegistryOptions/authFile``) or
/// else `$REGISTRY_AUTH_FILE` — when either is set it is the only file
/// read, and it must exist — otherwise `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `$HOME/.config/containers/auth.json`, and `$DOCKER_CONFIG/config.json`
/// (or `$HOME/.docker/config.json`), missing ones skipped. The first file
/// with something for the registry wins. In a file: `credHelpers.<host>`
/// names a helper; else an `auths` entry with `auth` (base64
/// `user:password`) or `identitytoken`, the most specific of the keys
/// `host/repo/path`, …, `host` (also written `https://host` or
/// `http://host/v1/`); else `credsStore` names a helper. A helper is
/// `docker-credential-<name> get`, given the registry on stdin.
struct CredentialStore: Sendable {
    let authFile: String?
    let environment: [String: String]

    init(options: RegistryOptions) {
        authFile = options.authFile ?? options.environment["REGISTRY_AUTH_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        environment = options.environment
    }

    /// The files searched, in order (the explicit one alone if given).
    var files: [String] {
        if let authFile { return [authFile] }
        var files: [String] = []
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 }
        if let runtime = environment["XDG_RUNTIME_DIR"], !runtime.isEmpty { files.append(runtime + "/containers/auth.json") }
        if let home { files.append(home + "/.config/containers/auth.json") }
        if let docker = environment["DOCKER_CONFIG"], !docker.isEmpty {
            files.append(docker + "/config.json")
        } else if let home {
            files.append(home + "/.docker/config.json")
        }
        return files
    }

    /// The credential for `repository`'s registry, or nil when there is none.
    /// - Throws: ``RegistryError`` (`.credentials`) when the explicit auth
    ///   file is missing, a file is not valid JSON or has an invalid entry,
    ///   or a credential helper is missing or fails.
    func credential(for repository: Repository) async throws(RegistryError) -> Credential? {
        for file in files {
            guard FileManager.default.fileExists(atPath: file) else {
                if file == authFile { throw failure("\(file): the auth file does not exist", repository) }
                continue
            }
            let document = try read(file, repository)
            if let credential = try await credential(in: document, file: file, for: repository) { return credential }
        }
        return nil
    }

    private func credential(in document: [String: Any], file: String, for repository: Repository) async throws(RegistryError) -> Credential? {
        let registry = repository.registry
        let hub = registry == RegistryReference.dockerHub
        if let helpers = document["credHelpers"] as? [String: Any],
           let helper = (helpers[registry] ?? (hub ? helpers[Self.normalizedKey(RegistryReference.dockerHubCredentialKey)] : nil)) as? String, !helper.isEmpty {
            return try await run(helper: helper, named: "credHelpers in \(file)", for: repository)
        }
        if let auths = document["auths"] as? [String: Any] {
            var entries: [String: [String: Any]] = [:]
            for (key, value) in auths {
                guard let entry = value as? [String: Any] else { continue }
                entries[Self.normalizedKey(key)] = entry
            }
            for key in Self.candidateKeys(for: repository) {
                guard let entry = entries[key] else { continue }
                if let credential = try credential(from: entry, key: key, file: file, repository) { return credential }
            }
        }
        if let store = document["credsStore"] as? String, !store.isEmpty {
            return try await run(helper: store, named: "credsStore in \(file)", for: repository)
        }
        return nil
    }

    /// `https://host/v1/` → `host`; `host/repo` stays as written.
    static func normalizedKey(_ key: String) -> String {
        guard let scheme = key.range(of: "://") else { return key }
        let rest = key[scheme.upperBound...]
        return String(rest.prefix { $0 != "/" })
    }

    /// `host/a/b/c`, `host/a/b`, `host/a`, `host`: most specific first.
    static func candidateKeys(for repository: Repository) -> [String] {
        var keys: [String] = []
        var components = repository.path.split(separator: "/").map(String.init)
        while !components.isEmpty {
            keys.append(repository.registry + "/" + components.joined(separator: "/"))
            components.removeLast()
        }
        keys.append(repository.registry)
        // Docker Hub's credentials are filed under its legacy index address
        // by `docker login`.
        if repository.registry == RegistryReference.dockerHub {
            keys.append(normalizedKey(RegistryReference.dockerHubCredentialKey))
        }
        return keys
    }

    private func credential(from entry: [String: Any], key: String, file: String, _ repository: Repository) throws(RegistryError) -> Credential? {
        if let token = entry["identitytoken"] as? String, !token.isEmpty {
            return Credential(secret: .identityToken(token), source: file)
        }
        guard let auth = entry["auth"] as? String, !auth.isEmpty else { return nil }
        guard let data = Data(base64Encoded: auth), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":")
        else {
            throw failure("\(file): auths.\"\(key)\".auth is not base64 of user:password", repository)
        }
        return Credential(secret: .password(username: String(text[..<colon]), password: String(text[text.index(after: colon)...])),
                          source: file)
    }

    private func read(_ file: String, _ repository: Repository) throws(RegistryError) -> [String: Any] {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw failure("\(file): the auth file cannot be read", repository)
        }
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x09 || $0 == 0x0d }) { return [:] }
        guard let document = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw failure("\(file): the auth file is not a JSON object", repository)
        }
        return document
    }

    /// What a credential helper is asked for: the registry, except that
    /// docker (and so every helper) files Docker Hub under its legacy
    /// index address.
    static func helperServer(for registry: String) -> String {
        registry == RegistryReference.dockerHub ? RegistryReference.dockerHubCredentialKey : registry
    }

    /// Runs `docker-credential-<helper> get` with the registry on stdin.
    private func run(helper: String, named origin: String, for repository: Repository) async throws(RegistryError) -> Credential? {
        let program = "docker-credential-" + helper
        let directory = FileManager.default.currentDirectoryPath
        guard !helper.contains("/"),
              let executable = ChildProcess.locate(program, searchPath: environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", relativeTo: directory)
        else {
            throw failure("the credential helper \(program) (\(origin)) is not on PATH", repository)
        }
        let child = ChildProcess(
            executable: executable, arguments: [executable, "get"], environment: environment,
            standardInput: .bytes(Array(Self.helperServer(for: repository.registry).utf8)), timeout: 60)
        // On a thread of its own: a helper is quick, and its timeout must
        // not depend on a busy task pool getting round to it.
        let result: Result<ChildProcess.Captured, ChildProcessError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(ChildProcessError) in try child.capture() })
            }
        }
        let captured: ChildProcess.Captured
        do {
            captured = try result.get()
        } catch {
            throw failure("the credential helper \(program) cannot run: \(error)", repository)
        }
        let stdout = String(decoding: captured.standardOutput, as: UTF8.self)
        let stderr = String(decoding: captured.standardError, as: UTF8.self)
        guard captured.termination.isSuccess else {
            // A helper that has nothing for the server says so and exits 1.
            if (stdout + stderr).lowercased().contains("credentials not found") { return nil }
            // Only stderr is shown: stdout is where a helper prints secrets.
            let said = ErrorBody.oneLine(stderr)
            throw failure("the credential helper \(program) \(captured.termination)" + (said.isEmpty ? "" : ": " + said), repository)
        }
        guard let document = try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any],
              let username = document["Username"] as? String, let secret = document["Secret"] as? String
        else {
            throw failure("the credential helper \(program) did not print {\"Username\", \"Secret\"}", repository)
        }
        if secret.isEmpty { return nil }
        if username == "<token>" { return Credential(secret: .identityToken(secret), source: program) }
        return Credential(secret: .password(username: username, password: secret), source: program)
    }

    private func failure(_ message: String, _ repository: Repository) -> RegistryError {
        RegistryError(.credentials, message, registry: repository.registry, repository: repository.path)
    }
}
