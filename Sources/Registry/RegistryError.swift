internal import Foundation

/// Why a registry operation failed, in words that name the status (and the
/// registry's error code), what kiln was doing, and to which repository:
/// `401 unauthorized: pushing 127.0.0.1:5000/team/app: authentication required`.
///
/// Never holds a credential: messages are built from statuses, the
/// registry's error codes and messages, and kiln's own words.
public struct RegistryError: Error, Sendable, CustomStringConvertible {
    /// What kiln was doing.
    public enum Operation: String, Sendable, Hashable {
        /// Downloading manifests or blobs.
        case pulling
        /// Uploading blobs or manifests, or mounting blobs.
        case pushing
        /// Asking whether a manifest or blob exists (`HEAD`).
        case checking
        /// Resolving a tag to a digest.
        case resolving
    }

    /// The kinds of failure callers tell apart.
    public enum Kind: Hashable, Sendable {
        /// `404`: no such repository, manifest, blob or upload session
        /// (``RegistryError/code`` says which: `NAME_UNKNOWN`,
        /// `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `BLOB_UPLOAD_UNKNOWN`).
        case notFound
        /// `401`: no or wrong credentials.
        case unauthorized
        /// `403`: the credentials do not allow it.
        case denied
        /// Another HTTP status (after any retries).
        case status
        /// The request failed below HTTP (connection, timeout) after any
        /// retries.
        case transport
        /// The TLS handshake failed (an untrusted certificate, or a
        /// registry that speaks plain HTTP).
        case tls
        /// The registry's answer is not what the API defines (HTML, not
        /// JSON, a missing header).
        case invalidResponse
        /// Content whose digest or size is not the one asked for.
        case digestMismatch
        /// A body larger than kiln accepts.
        case tooLarge
        /// Content kiln does not read (Docker schema 1).
        case unsupported
        /// Credentials cannot be read (an auth file, a credential helper).
        case credentials
        /// A local file cannot be read or written.
        case file
        /// The options cannot be used (proxy variables, trust roots).
        case configuration
        /// The task was cancelled.
        case cancelled
    }

    /// What kind of failure this is.
    public var kind: Kind
    /// The HTTP status, when the registry answered.
    public var status: Int?
    /// The registry's error code (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`,
    /// `NAME_UNKNOWN`, `UNAUTHORIZED`, …), when it sent one.
    public var code: String?
    /// What kiln was doing, when the failure belongs to an operation.
    public var operation: Operation?
    /// The registry, `host[:port]`.
    public var registry: String
    /// The repository path, when the failure concerns one.
    public var repository: String?
    /// What was asked of the repository, appended to its name: `:v1`,
    /// `@sha256:…`, ` blob sha256:…`.
    public var subject: String
    /// What went wrong, in words.
    public var message: String

    /// An error; see the properties.
    public init(
        _ kind: Kind, _ message: String, status: Int? = nil, code: String? = nil, operation: Operation? = nil,
        registry: String, repository: String? = nil, subject: String = ""
    ) {
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        self.operation = operation
        self.registry = registry
        self.repository = repository
        self.subject = subject
    }

    /// Whether the registry said the thing asked for does not exist.
    public var isNotFound: Bool { kind == .notFound }

    /// `registry/repository` and the subject.
    public var target: String {
        (repository.map { registry + "/" + $0 } ?? registry) + subject
    }

    /// `STATUS WORDS: OPERATION TARGET: MESSAGE`, each part present only
    /// when known.
    public var description: String {
        var text = ""
        if let status {
            text = "\(status) " + (code.map(Self.words) ?? Self.reasonPhrase(status)) + ": "
        }
        if let operation {
            text += operation.rawValue + " " + target
            if !message.isEmpty { text += ": " }
        }
        return text + message
    }

    /// `MANIFEST_UNKNOWN` → `manifest unknown`.
    static func words(_ code: String) -> String {
        code.lowercased().replacingOccurrences(of: "_", with: " ")
    }

    /// The reason phrase of common statuses, lower case.
    static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 400: "bad request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not found"
        case 405: "method not allowed"
        case 409: "conflict"
        case 413: "payload too large"
        case 416: "range not satisfiable"
        case 429: "too many requests"
        case 500: "internal server error"
        case 501: "not implemented"
        case 502: "bad gateway"
        case 503: "service unavailable"
        case 504: "gateway timeout"
        default: "HTTP status"
        }
    }
}
