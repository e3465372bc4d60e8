internal import Foundation

/// What a client has learnt about authenticating to each registry. Holds
/// credentials and tokens in memory only, for the client's lifetime.
struct AuthState {
    /// How a registry wants to be authenticated, once a challenge said so.
    enum Scheme: Sendable, Equatable {
        /// HTTP Basic with the credential.
        case basic
        /// Tokens from the token server at `realm` for `service`.
        case bearer(realm: URL, service: String?)
    }

    /// A token and when to stop using it.
    struct Token {
        var value: String
        var expires: ContinuousClock.Instant
    }

    /// A token request under way, which every call that needs the same
    /// token awaits.
    typealias TokenTask = Task<Result<Token, RegistryError>, Never>

    /// The scheme that worked, by registry.
    var schemes: [String: Scheme] = [:]
    /// Tokens by registry and scopes (see ``tokenKey(_:_:)``).
    var tokens: [String: Token] = [:]
    /// Token requests under way, by the same key as ``tokens``.
    var pending: [String: TokenTask] = [:]
    /// Credentials looked up, by `registry/path` (nil: there is none).
    var credentials: [String: Credential?] = [:]

    static func tokenKey(_ registry: String, _ scopes: [String]) -> String {
        registry + " " + scopes.sorted().joined(separator: " ")
    }

    /// How long a token the server says lasts `seconds` is used: that,
    /// less a margin for clocks and requests in flight (a fifth, at most
    /// 30 s).
    static func lifetime(seconds: Int) -> Duration {
        let seconds = max(seconds, 1)
        return .milliseconds(Int64(seconds) * 1000 - Int64(min(seconds * 200, 30_000)))
    }
}
