internal import Foundation

/// A credential for one registry: a user name and password, or an
/// identity (refresh) token.
///
/// It never shows its secret: its description, debug description and
/// mirror name only where it came from, so no error, log line or `dump`
/// can print a password or token.
struct Credential: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// What the secret is.
    enum Secret: Sendable, Equatable {
        /// `user:password`, sent as Basic authentication (also to a token
        /// server).
        case password(username: String, password: String)
        /// An OAuth2 refresh token, exchanged for access tokens with
        /// `grant_type=refresh_token`.
        case identityToken(String)
    }

    let secret: Secret
    /// Where it came from: an auth file's path or a credential helper's name.
    let source: String

    /// The `Authorization` value for Basic authentication (nil for an
    /// identity token).
    var basicAuthorization: String? {
        guard case .password(let username, let password) = secret else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    var description: String { "credential from \(source)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: ["source": source]) }
}
