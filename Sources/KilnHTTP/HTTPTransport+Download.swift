internal import Crypto
public import Foundation
#if canImport(Glibc)
internal import Glibc
#endif

/// What one download produced.
public enum DownloadOutcome: Sendable {
    /// The server answered 200 and the body was written: its size and
    /// SHA-256 (32 bytes).
    case body(size: Int64, sha256: [UInt8])
    /// The server answered with another status; the file is left empty.
    case status(Int)
    /// The request failed below HTTP, or the file could not be written.
    case failed(HTTPTransportError)
}

extension HTTPTransport {
    /// GETs `url` into the file at `path` (created or truncated), hashing
    /// the body while it streams to disk; memory stays at one chunk.
    /// - Parameters:
    ///   - headers: extra request headers (`Authorization`, `Accept`).
    ///   - timeout: the time the whole download may take.
    ///   - progress: called after each chunk with the bytes written so far
    ///     and the expected total (`Content-Length`, or -1 when the server
    ///     did not say).
    /// - Returns: the outcome; this never throws, so callers decide what to
    ///   retry.
    public func download(
        _ url: URL, to path: String, headers: HTTPHeaderFields = [:], timeout: Duration = .seconds(1800),
        progress: @Sendable (_ received: Int64, _ expected: Int64) -> Void = { _, _ in }
    ) async -> DownloadOutcome {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            return .failed(HTTPTransportError(.file, "cannot create \(path): \(String(cString: strerror(errno)))"))
        }
        defer { close(descriptor) }
        do throws(HTTPTransportError) {
            let response = try await send(HTTPRequest(url: url, headers: headers, timeout: timeout))
            guard response.status == 200 else { return .status(response.status) }
            let expected = response.expectedLength
            var hasher = SHA256()
            var received: Int64 = 0
            let iterator = response.body.makeAsyncIterator()
            while let chunk = try await iterator.nextChunk() {
                try write(chunk, to: descriptor, path: path)
                hasher.update(data: chunk)
                received += Int64(chunk.count)
                progress(received, expected)
            }
            return .body(size: received, sha256: Array(hasher.finalize()))
        } catch {
            return .failed(error)
        }
    }
}

/// Writes all of `bytes` to `descriptor`.
private func write(_ bytes: [UInt8], to descriptor: Int32, path: String) throws(HTTPTransportError) {
    var failure: Int32 = 0
    bytes.withUnsafeBytes { buffer in
        var offset = 0
        while offset < buffer.count {
            let count = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                failure = errno
                return
            }
            offset += count
        }
    }
    if failure != 0 { throw HTTPTransportError(.file, "cannot write \(path): \(String(cString: strerror(failure)))") }
}
