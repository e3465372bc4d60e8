/// Why an HTTP exchange failed below HTTP: what kind of failure (for retry
/// decisions) and a message a user can act on.
public struct HTTPTransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kinds of failure callers tell apart.
    public enum Kind: Hashable, Sendable {
        /// Nothing accepted the connection (refused, unreachable).
        case cannotConnect
        /// The host name does not resolve.
        case cannotResolve
        /// Connecting, waiting for the response or for more of the body
        /// took too long.
        case timedOut
        /// The peer closed or reset the connection mid-exchange.
        case connectionLost
        /// The TLS handshake failed (an untrusted certificate, a wrong host
        /// name, no common protocol).
        case tls
        /// The proxy refused the tunnel or wants credentials.
        case proxy
        /// The request cannot be sent as given (bad URL, bad proxy setting,
        /// an extra trust root that does not load).
        case invalidRequest
        /// A local file (a body to upload, a download's target) cannot be
        /// read or written.
        case file
        /// A body is larger than the caller allows.
        case tooLarge
        /// The transport was shut down.
        case shutDown
        /// The task was cancelled.
        case cancelled
        /// Anything else the client library reported.
        case other
    }

    /// What kind of failure this is.
    public let kind: Kind
    /// What failed, in words (`cannot connect to the host`).
    public let description: String

    /// An error of `kind` with the message `description`.
    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// Whether trying again later may succeed (connection trouble and
    /// timeouts, not configuration or local files).
    public var isTransient: Bool {
        switch kind {
        case .cannotConnect, .cannotResolve, .timedOut, .connectionLost, .proxy, .other: true
        case .tls, .invalidRequest, .file, .tooLarge, .shutDown, .cancelled: false
        }
    }
}
