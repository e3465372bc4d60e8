import KilnCore
internal import Crypto
internal import Foundation
internal import KilnHTTP
internal import Glibc

extension Fetcher {
    /// Where files that change in place (`InRelease`, `Release`) are kept
    /// with their HTTP validators: `<cache>/debian/releases/<sha256 of the
    /// URL>` and `<…>.json` (`etag`, `last_modified`).
    var releasesRoot: String { (cacheRoot as NSString).deletingLastPathComponent + "/releases" }

    /// What the server said about the copy kept: its validators.
    private struct Validators: Codable {
        var url: String
        var etag: String?
        var lastModified: String?

        enum CodingKeys: String, CodingKey {
            case url, etag
            case lastModified = "last_modified"
        }
    }

    /// A file that changes in place (`InRelease`), fetched with HTTP
    /// validators: the copy kept from the last fetch is sent as
    /// `If-None-Match` (its ETag) and `If-Modified-Since` (its
    /// Last-Modified), so an unchanged repository costs one `304 Not
    /// Modified` and the kept copy is used — its signature and hashes are
    /// checked as a fresh one's are. `file://` URLs are read as ``fetch(_:to:)``
    /// reads them.
    /// - Returns: size and SHA-256 of the copy written at `path`, or nil
    ///   when the server has no such file.
    func fetchRevalidating(_ url: String, to path: String) async throws(RepositoryError) -> (size: Int64, sha256: String)? {
        guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return try await fetch(url, to: path)
        }
        let kept = releasesRoot + "/" + Hex.string(Array(SHA256.hash(data: Array(url.utf8))))
        let validators = FileManager.default.contents(atPath: kept + ".json")
            .flatMap { try? JSONDecoder().decode(Validators.self, from: $0) }
            .flatMap { $0.url == url && FileManager.default.fileExists(atPath: kept) ? $0 : nil }
        var headers = HTTPHeaderFields()
        if let etag = validators?.etag { headers["If-None-Match"] = etag }
        if let lastModified = validators?.lastModified { headers["If-Modified-Since"] = lastModified }
        var delay = backoff
        var lastFailure = ""
        for attempt in 1...attempts {
            if attempt > 1 {
                try? await Task.sleep(nanoseconds: UInt64(delay * 1_000_000_000))
                delay *= 2
            }
            let response: HTTPResponse
            do {
                response = try await transport.send(HTTPRequest(url: parsed, headers: headers, timeout: .seconds(300)))
            } catch {
                lastFailure = error.description
                continue
            }
            switch response.status {
            case 304 where validators != nil:
                progress.log("not modified \(url) (the copy in the cache is used)")
                utimensat(AT_FDCWD, kept, nil, 0)
                return try copy(kept, to: path)
            case 200:
                let body: [UInt8]
                do {
                    body = try await response.body.collect(upTo: 256 << 20)
                } catch {
                    lastFailure = error.description
                    continue
                }
                try makeReleasesRoot()
                let stored = Validators(url: url, etag: response.headers["ETag"], lastModified: response.headers["Last-Modified"])
                do {
                    try AtomicFile.write(body, to: path)
                    try AtomicFile.write(body, to: kept)
                    if let json = try? JSONEncoder().encode(stored) { try AtomicFile.write(Array(json), to: kept + ".json") }
                } catch {
                    throw RepositoryError(error)
                }
                progress.log("fetched \(url) (\(DownloadProgress.size(Int64(body.count))))")
                return (Int64(body.count), Hex.string(Array(SHA256.hash(data: body))))
            case 404, 410:
                return nil
            case let status where status == 408 || status == 429 || status >= 500:
                lastFailure = "HTTP \(status)"
                if attempt == attempts { throw .httpStatus(url: url, status: status) }
            default:
                throw .httpStatus(url: url, status: response.status)
            }
        }
        throw .transport(url: url, message: lastFailure, attempts: attempts)
    }

    private func copy(_ source: String, to path: String) throws(RepositoryError) -> (size: Int64, sha256: String) {
        unlink(path)
        do {
            let copied = try FileHashing.copy(from: source, to: path)
            return (copied.size, copied.digest.hex)
        } catch {
            throw RepositoryError(error)
        }
    }

    private func makeReleasesRoot() throws(RepositoryError) {
        do {
            try FileManager.default.createDirectory(atPath: releasesRoot, withIntermediateDirectories: true)
        } catch {
            throw .io(path: releasesRoot, message: "cannot create the directory: \(error.localizedDescription)")
        }
    }
}
