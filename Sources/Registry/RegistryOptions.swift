public import Foundation

/// How a ``RegistryClient`` finds credentials and trust roots, which
/// registries may be reached over plain HTTP, and how it retries.
public struct RegistryOptions: Sendable {
    /// The credentials file given with `--authfile`; when set (or
    /// `$REGISTRY_AUTH_FILE` is) it is the only one read.
    public var authFile: String?
    /// The directory given with `--cert-dir`: every `*.crt` in it is
    /// trusted for every registry (instead of the certs.d directories).
    public var certDirectory: String?
    /// Registries (`host[:port]`) reached over plain HTTP.
    public var insecureRegistries: Set<String>
    /// The environment credentials, credential helpers (`PATH`) and proxies
    /// are looked up in.
    public var environment: [String: String]
    /// How failed requests are retried.
    public var retry: RetryPolicy
    /// The upload chunk size: blobs larger than this go up in `PATCH`
    /// chunks of this size, smaller ones in one `PUT` (default 16 MiB).
    public var chunkSize: Int
    /// The directories holding `<host[:port]>/*.crt` trust roots, searched
    /// in order when ``certDirectory`` is not set (default
    /// `/etc/containers/certs.d`, then `/etc/docker/certs.d`).
    public var certsDirectories: [String]

    /// Options from the environment: `REGISTRY_AUTH_FILE`,
    /// `XDG_RUNTIME_DIR`, `HOME` and `DOCKER_CONFIG` for credentials,
    /// `KILN_INSECURE_REGISTRIES` (comma separated) for plain-HTTP
    /// registries, and the proxy variables (`HTTPS_PROXY`, `NO_PROXY`, …)
    /// read by KilnHTTP's `ProxySettings` when the client is made.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        authFile = nil
        certDirectory = nil
        insecureRegistries = Set(
            (environment["KILN_INSECURE_REGISTRIES"] ?? "").split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        retry = RetryPolicy()
        chunkSize = 16 << 20
        certsDirectories = ["/etc/containers/certs.d", "/etc/docker/certs.d"]
    }
}

/// How often and how patiently a request is retried after a connection
/// error, a `429 Too Many Requests` or a `5xx` (except `501`).
public struct RetryPolicy: Sendable {
    /// Tries in all, the first included (at least 1).
    public var attempts: Int
    /// The wait before the first retry; each further retry waits twice as
    /// long (with jitter), up to ``maxDelay``.
    public var baseDelay: Duration
    /// The longest wait, also the cap on a server's `Retry-After`.
    public var maxDelay: Duration

    /// A policy; by default 5 tries, waits from 0.5 s doubling up to 30 s.
    public init(attempts: Int = 5, baseDelay: Duration = .milliseconds(500), maxDelay: Duration = .seconds(30)) {
        self.attempts = attempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait before retry number `retry` (1 for the first retry): the
    /// server's `Retry-After` when it gave one, else exponential backoff
    /// with jitter (between half and all of `baseDelay · 2^(retry-1)`),
    /// never more than ``maxDelay``.
    func delay(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        if let retryAfter { return min(max(retryAfter, .zero), maxDelay) }
        let doubled = baseDelay * Double(1 << min(max(retry - 1, 0), 30))
        let capped = min(doubled, maxDelay)
        return capped * Double.random(in: 0.5...1.0)
    }
}
