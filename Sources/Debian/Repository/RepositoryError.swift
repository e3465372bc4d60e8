import KilnCore

/// Why a repository, an index or a package file cannot be used.
public enum RepositoryError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server answered with an HTTP status other than 200.
    case httpStatus(url: String, status: Int)
    /// The request failed below HTTP (connection, DNS, timeout), after retries.
    case transport(url: String, message: String, attempts: Int)
    /// A `file://` URL names no readable file.
    case missingFile(url: String)
    /// A downloaded file does not have the size the index (or Release) states.
    case sizeMismatch(url: String, expected: Int64, actual: Int64)
    /// A downloaded file does not have the SHA-256 the index (or Release) states.
    case hashMismatch(url: String, expected: String, actual: String)
    /// A local file could not be written or read.
    case io(path: String, message: String)
    /// The source names no keyring and does not allow unsigned indexes.
    case noKeyring(source: String)
    /// `gpgv` is not installed.
    case gpgvMissing
    /// `InRelease` is not validly signed by the keyring.
    case badSignature(url: String, keyring: String, detail: String)
    /// A keyring file cannot be read.
    case unreadableKeyring(path: String, message: String)
    /// `Release` does not list an index the source needs.
    case missingIndex(url: String, path: String)
    /// An index or Release cannot be parsed.
    case malformed(url: String, message: String)
    /// A URI scheme kiln cannot fetch.
    case unsupportedScheme(url: String)

    public var description: String {
        switch self {
        case .httpStatus(let url, let status):
            "GET \(url): HTTP \(status)"
        case .transport(let url, let message, let attempts):
            "GET \(url): \(message) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case .missingFile(let url):
            "\(url): no such file"
        case .sizeMismatch(let url, let expected, let actual):
            "\(url): size is \(actual) bytes, the index says \(expected)"
        case .hashMismatch(let url, let expected, let actual):
            "\(url): SHA256 is \(actual), the index says \(expected)"
        case .io(let path, let message):
            "\(path): \(message)"
        case .noKeyring(let source):
            "\(source): no keyring to verify InRelease with; set signed_by to a keyring file, or allow_unsigned: true to trust the repository without a signature"
        case .gpgvMissing:
            "gpgv is not installed (it verifies repository signatures); install the gpgv package"
        case .badSignature(let url, let keyring, let detail):
            "\(url): no valid signature by a key of \(keyring) (\(detail))"
        case .unreadableKeyring(let path, let message):
            "keyring \(path): \(message)"
        case .missingIndex(let url, let path):
            "\(url) lists no \(path) index"
        case .malformed(let url, let message):
            "\(url): \(message)"
        case .unsupportedScheme(let url):
            "\(url): unsupported URI scheme (kiln fetches http://, https:// and file://)"
        }
    }
}

extension RepositoryError {
    /// A failed file operation: `<path>: cannot <operation> it: <reason>`.
    init(_ error: FileIOError) {
        self = .io(path: error.path, message: "cannot \(error.operation) it: \(error.reason)")
    }
}
