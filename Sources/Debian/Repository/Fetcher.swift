import KilnCore
internal import Crypto
internal import Foundation
internal import KilnHTTP
internal import Glibc
import Strategies

/// Fetches repository files over `http://`, `https://` and `file://`, and
/// keeps files of known SHA-256 in a content-addressed cache.
///
/// A cached file is re-hashed before use, so a damaged cache entry is
/// fetched again rather than trusted.
final class Fetcher: Sendable {
    /// `<cacheDirectory>/debian/sha256`: one file per content hash.
    let cacheRoot: String
    /// Every `http://` and `https://` request goes through this seam.
    let transport: any HTTPTransport
    let progress: DownloadProgress
    /// Attempts per URL for transport errors and retryable statuses.
    let attempts: Int
    /// Seconds before the second attempt; doubled for each later one.
    let backoff: Double

    /// - Parameter transport: by default the process's shared transport
    ///   (proxies from `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`).
    init(
        cacheDirectory: String, log: @escaping @Sendable (String) -> Void, activity: @escaping @Sendable (LayerActivity) -> Void = { _ in },
        attempts: Int = 4, backoff: Double = 0.5, transport: any HTTPTransport = AsyncHTTPClientTransport.shared
    ) {
        cacheRoot = (cacheDirectory as NSString).appendingPathComponent("debian/sha256")
        progress = DownloadProgress(log: log, activity: activity)
        self.attempts = attempts
        self.backoff = backoff
        self.transport = transport
    }

    /// Announces the packages about to be fetched (through
    /// ``verifiedFile(url:sha256:size:)``), so the layer's live line has a
    /// total from the start.
    func expect(files: Int, bytes: Int64) {
        progress.expect(files: files, bytes: bytes)
    }

    /// The cache path of a file with this SHA-256.
    func cachePath(sha256: String) -> String {
        (cacheRoot as NSString).appendingPathComponent(sha256)
    }

    /// A file of known size and SHA-256: from the cache, else fetched,
    /// verified and added to the cache.
    /// - Returns: the cached path.
    /// - Throws: ``RepositoryError`` when fetching fails or the content does
    ///   not match.
    func verifiedFile(url: String, sha256: String, size: Int64) async throws(RepositoryError) -> String {
        let cached = cachePath(sha256: sha256)
        if FileManager.default.fileExists(atPath: cached) {
            if let (actualSize, actualHash) = try? Fetcher.hashFile(cached), actualSize == size, actualHash == sha256 {
                // A use: `kiln cache prune` removes the least recently used first.
                utimensat(AT_FDCWD, cached, nil, 0)
                progress.skip(bytes: size)
                return cached
            }
            try? FileManager.default.removeItem(atPath: cached)
        }
        try makeDirectory(cacheRoot)
        let partial = cached + ".partial-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: partial) }
        guard let (actualSize, actualHash) = try await fetch(url, to: partial) else {
            throw missing(url)
        }
        guard actualSize == size else { throw .sizeMismatch(url: url, expected: size, actual: actualSize) }
        guard actualHash == sha256 else { throw .hashMismatch(url: url, expected: sha256, actual: actualHash) }
        do { try AtomicFile.rename(partial, to: cached) } catch { throw RepositoryError(error) }
        return cached
    }

    /// A file of unknown content (`InRelease`), fetched every time.
    /// - Returns: size and SHA-256, or nil when the server has no such file.
    func fetch(_ url: String, to path: String) async throws(RepositoryError) -> (size: Int64, sha256: String)? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased() else {
            throw .unsupportedScheme(url: url)
        }
        switch scheme {
        case "file":
            // A local copy moves nothing over the network: a planned file
            // counts as done without adding to throughput.
            let copied = try copyLocal(parsed.path, url: url, to: path)
            if let copied { progress.skip(bytes: copied.size) }
            return copied
        case "http", "https":
            return try await download(parsed, url: url, to: path)
        default:
            throw .unsupportedScheme(url: url)
        }
    }

    private func missing(_ url: String) -> RepositoryError {
        url.lowercased().hasPrefix("file:") ? .missingFile(url: url) : .httpStatus(url: url, status: 404)
    }

    private func download(_ parsed: URL, url: String, to path: String) async throws(RepositoryError) -> (size: Int64, sha256: String)? {
        var delay = backoff
        var lastFailure = ""
        for attempt in 1...attempts {
            let ticket = progress.begin(url)
            let outcome = await transport.download(parsed, to: path) { received, expected in
                self.progress.update(ticket, received: received, expected: expected)
            }
            switch outcome {
            case .body(let size, let sha256):
                progress.end(ticket, url: url, size: size)
                return (size, Hex.string(sha256))
            case .status(404), .status(410):
                progress.cancel(ticket)
                return nil
            case .status(let status) where status == 408 || status == 429 || status >= 500:
                progress.cancel(ticket)
                lastFailure = "HTTP \(status)"
                if attempt == attempts { throw .httpStatus(url: url, status: status) }
            case .status(let status):
                progress.cancel(ticket)
                throw .httpStatus(url: url, status: status)
            case .failed(let error):
                progress.cancel(ticket)
                lastFailure = error.description
            }
            if attempt < attempts {
                try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                delay *= 2
            }
        }
        throw .transport(url: url, message: lastFailure, attempts: attempts)
    }

    /// Copies a local file while hashing it; nil when there is no such file.
    private func copyLocal(_ source: String, url: String, to path: String) throws(RepositoryError) -> (size: Int64, sha256: String)? {
        guard FileManager.default.isReadableFile(atPath: source) else { return nil }
        unlink(path)  // a previous attempt's file; the copy makes a new one
        do {
            let copied = try FileHashing.copy(from: source, to: path)
            return (copied.size, copied.digest.hex)
        } catch {
            throw RepositoryError(error)
        }
    }

    /// Size and SHA-256 (hex) of a file.
    static func hashFile(_ path: String) throws(RepositoryError) -> (size: Int64, sha256: String) {
        do {
            let hashed = try FileHashing.sha256(ofFileAt: path)
            return (hashed.size, hashed.digest.hex)
        } catch {
            throw RepositoryError(error)
        }
    }

    private func makeDirectory(_ path: String) throws(RepositoryError) {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw .io(path: path, message: "cannot create the directory: \(error.localizedDescription)")
        }
    }
}
