internal import Foundation
internal import KilnCore
public import KilnHTTP
internal import OCI
internal import Synchronization

/// A client for the OCI distribution API: manifests and blobs pulled and
/// pushed, with the credentials, token handshakes, trust roots and retries
/// of ``RegistryOptions``.
///
/// One client serves any number of registries and concurrent calls; end it
/// with ``shutdown()``. Every failure is a ``RegistryError`` that names the
/// operation, the registry and the repository; no credential ever appears
/// in one.
public final class RegistryClient: Sendable {
    let options: RegistryOptions
    let credentialStore: CredentialStore
    /// The transport the caller gave, used for every request.
    private let injected: (any HTTPTransport)?
    let transports = Mutex(TransportState())
    let auth = Mutex(AuthState())

    struct TransportState {
        /// Own transports by `host[:port]`, each with that host's roots.
        var byHost: [String: AsyncHTTPClientTransport] = [:]
        var isShutDown = false
    }

    /// A client.
    /// - Parameters:
    ///   - options: credentials, trust roots, insecure registries, retries.
    ///   - transport: the transport for every request; nil for the client's
    ///     own on async-http-client, one per registry host with the trust
    ///     roots from ``RegistryOptions/certDirectory`` or the certs.d
    ///     directories, and proxies from the options' environment.
    /// - Throws: ``RegistryError`` (`.configuration`) when the proxy
    ///   variables cannot be used.
    public init(options: RegistryOptions, transport: (any HTTPTransport)? = nil) throws(RegistryError) {
        self.options = options
        injected = transport
        credentialStore = CredentialStore(options: options)
        if transport == nil {
            do {
                _ = try ProxySettings(environment: options.environment)
            } catch {
                throw RegistryError(.configuration, error.description, registry: "")
            }
        }
    }

    /// A client dropped without ``shutdown()`` (a caller that threw on its
    /// way out) still closes its connections: in the background, since a
    /// deinit cannot wait. (async-http-client stops a debug build whose
    /// client is freed while open.)
    deinit {
        let owned = transports.withLock { state in
            defer { state.byHost = [:] }
            return state.isShutDown ? [] : Array(state.byHost.values)
        }
        guard !owned.isEmpty else { return }
        Task.detached {
            for transport in owned { try? await transport.shutdown() }
        }
    }

    /// Closes the client's own connections; later calls fail. A transport
    /// given to ``init(options:transport:)`` is the caller's to end.
    public func shutdown() async {
        let owned = transports.withLock { state in
            state.isShutDown = true
            defer { state.byHost = [:] }
            return Array(state.byHost.values)
        }
        for transport in owned { try? await transport.shutdown() }
    }

    // MARK: - URLs

    /// `https://host[:port]/v2/` (`http://` for an insecure registry).
    func baseURL(_ registry: String) -> String {
        let scheme = options.insecureRegistries.contains(registry) ? "http" : "https"
        return scheme + "://" + RegistryReference.apiHost(forRegistry: registry) + "/v2/"
    }

    /// `<base>/<path>/<kind>/<reference>`.
    func url(_ repository: Repository, _ rest: String, query: [URLQueryItem] = [], call: Call) throws(RegistryError) -> URL {
        var components = URLComponents(string: baseURL(repository.registry) + repository.path + "/" + rest)
        if !query.isEmpty { components?.queryItems = query }
        guard let url = components?.url else {
            throw call.error(.configuration, "cannot make a URL of registry \"\(repository.registry)\" and repository \"\(repository.path)\"")
        }
        return url
    }

    /// `location` (absolute, or relative to `request`) as a URL, with
    /// `query` added to what it has.
    func resolve(location: String?, against request: URL, adding query: [URLQueryItem] = [], call: Call) throws(RegistryError) -> URL {
        guard let location, !location.isEmpty, let resolved = URL(string: location, relativeTo: request)?.absoluteURL,
              var components = URLComponents(url: resolved, resolvingAgainstBaseURL: true)
        else {
            throw call.error(.invalidResponse, "the registry's upload Location \(location.map { "\"\(ErrorBody.oneLine($0))\"" } ?? "is missing")")
        }
        if !query.isEmpty { components.queryItems = (components.queryItems ?? []) + query }
        guard let url = components.url else { throw call.error(.invalidResponse, "the registry's upload Location is not a URL") }
        return url
    }

    /// Whether `url` is on `registry`'s API host (and so may carry its
    /// credentials).
    func isRegistryHost(_ url: URL, _ registry: String) -> Bool {
        guard let base = URL(string: baseURL(registry)) else { return false }
        return url.host?.lowercased() == base.host?.lowercased() && Self.port(of: url) == Self.port(of: base)
    }

    static func port(of url: URL) -> Int {
        url.port ?? (url.scheme?.lowercased() == "http" ? 80 : 443)
    }

    // MARK: - Transports

    /// The transport for `url`: the injected one, else the client's own for
    /// the URL's `host[:port]`, made on first use with that host's roots.
    func transport(for url: URL, call: Call) throws(RegistryError) -> any HTTPTransport {
        if let injected { return injected }
        let host = (url.host ?? "").lowercased()
        let key = url.port.map { "\(host):\($0)" } ?? host
        let result: Result<AsyncHTTPClientTransport, RegistryError> = transports.withLock { state in
            if state.isShutDown { return .failure(call.error(.configuration, "the registry client was shut down")) }
            if let transport = state.byHost[key] { return .success(transport) }
            do throws(HTTPTransportError) {
                let configuration = AsyncHTTPClientTransport.Configuration(
                    proxy: try ProxySettings(environment: options.environment),
                    trustRoots: try trustRoots(for: key))
                let transport = try AsyncHTTPClientTransport(configuration: configuration)
                state.byHost[key] = transport
                return .success(transport)
            } catch {
                return .failure(call.error(.configuration, error.description))
            }
        }
        return try result.get()
    }

    /// The extra roots for `key` (`host[:port]`): every `*.crt` in the cert
    /// directory, else those of the first certs.d directory that has
    /// `<key>/` with certificates.
    func trustRoots(for key: String) throws(HTTPTransportError) -> TrustRoots {
        if let directory = options.certDirectory {
            let files = try TrustRoots.certificateFiles(in: directory)
            return files.isEmpty ? TrustRoots() : TrustRoots(files: [key: files])
        }
        for root in options.certsDirectories {
            var isDirectory: ObjCBool = false
            let directory = root + "/" + key
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { continue }
            let files = try TrustRoots.certificateFiles(in: directory)
            if !files.isEmpty { return TrustRoots(files: [key: files]) }
        }
        return TrustRoots()
    }
}

/// What one API call is about: for its authorization scopes and its errors.
struct Call: Sendable {
    var operation: RegistryError.Operation
    var repository: Repository
    /// What was asked, appended to the repository in messages.
    var subject: String
    /// The token scopes the call needs.
    var scopes: [String]

    /// A call that only reads from `repository`.
    static func reading(_ operation: RegistryError.Operation, _ repository: Repository, subject: String) -> Call {
        Call(operation: operation, repository: repository, subject: subject, scopes: ["repository:\(repository.path):pull"])
    }

    /// A call that writes to `repository`.
    static func writing(_ repository: Repository, subject: String) -> Call {
        Call(operation: .pushing, repository: repository, subject: subject, scopes: ["repository:\(repository.path):pull,push"])
    }

    /// An error about this call.
    func error(_ kind: RegistryError.Kind, _ message: String, status: Int? = nil, code: String? = nil) -> RegistryError {
        RegistryError(kind, message, status: status, code: code, operation: operation,
                      registry: repository.registry, repository: repository.path, subject: subject)
    }

    /// `error`, from work this call shared with another, told about this
    /// call (its operation, repository and subject).
    func claiming(_ error: RegistryError) -> RegistryError {
        var error = error
        error.operation = operation
        error.registry = repository.registry
        error.repository = repository.path
        error.subject = subject
        return error
    }

    /// `error` placed in this call (its operation, repository and subject).
    func adopting(_ error: RegistryError) -> RegistryError {
        var error = error
        if error.operation == nil {
            error.operation = operation
            error.registry = repository.registry
            error.repository = repository.path
            error.subject = subject
        }
        return error
    }
}
