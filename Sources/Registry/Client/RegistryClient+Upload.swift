internal import Foundation
public import KilnCore
internal import KilnHTTP
public import OCI

extension RegistryClient {
    /// Mounts a blob from another repository on the same registry
    /// (`POST …/blobs/uploads/?mount=<digest>&from=<source>`).
    /// - Parameter source: the repository path that has the blob.
    /// - Returns: true when the registry mounted it (`201`); false when it
    ///   opened an upload instead (`202`), which is then cancelled.
    /// - Throws: ``RegistryError`` for any other answer.
    public func mountBlob(_ repository: Repository, digest: ContentDigest, from source: String) async throws(RegistryError) -> Bool {
        var call = Call.writing(repository, subject: " blob \(digest) (mounted from \(source))")
        call.scopes.append("repository:\(source):pull")
        let url = try url(repository, "blobs/uploads/", query: [
            URLQueryItem(name: "mount", value: digest.description), URLQueryItem(name: "from", value: source),
        ], call: call)
        let response = try await exchange(call, "POST", url, body: .bytes([]))
        switch response.status {
        case 201:
            return true
        case 202:
            // Not mounted: the registry opened an upload session; cancel it.
            if let session = try? resolve(location: response.headers["Location"], against: url, call: call) {
                _ = try? await exchange(call, "DELETE", session, retrying: false)
            }
            return false
        default:
            throw await unexpected(response, call)
        }
    }

    /// Uploads the blob in the file at `path`, whose digest and size
    /// `descriptor` gives.
    ///
    /// Opens an upload session (`POST`), then sends a blob of at most
    /// ``RegistryOptions/chunkSize`` bytes in one `PUT ?digest=`, and a
    /// larger one in `PATCH` chunks of that size (each streamed from disk)
    /// closed by an empty `PUT ?digest=`. A chunk cut off resumes from what
    /// the registry says it has (`GET` of the session); a session the
    /// registry forgot starts over. Memory stays at a transfer buffer.
    /// - Parameter progress: called with the bytes the registry has and
    ///   the blob's size.
    /// - Throws: ``RegistryError``: `.file` when the file is not the
    ///   descriptor's size, and the failures of any request (a wrong digest
    ///   is the registry's `DIGEST_INVALID`).
    public func uploadBlob(_ repository: Repository, descriptor: Descriptor, from path: String, progress: TransferProgress?) async throws(RegistryError) {
        let call = Call.writing(repository, subject: " blob \(descriptor.digest)")
        let size = try Self.fileSize(path, call)
        guard size == descriptor.size else {
            throw call.error(.file, "\(path) is \(size) bytes, but the blob's descriptor says \(descriptor.size)")
        }
        let uploads = try url(repository, "blobs/uploads/", call: call)
        var restarts = 0
        while true {
            do throws(RegistryError) {
                let session = try await openSession(call, uploads)
                // Small blobs go up whole with the closing PUT.
                let whole = size <= Int64(max(options.chunkSize, 1))
                let finish = whole ? session : try await sendChunks(call, session: session, path: path, size: size, progress: progress)
                let body: HTTPRequestBody = whole ? .file(path: path) : .bytes([])
                let done = try resolve(location: finish.absoluteString, against: finish, adding: [
                    URLQueryItem(name: "digest", value: descriptor.digest.description),
                ], call: call)
                let response = try await exchange(call, "PUT", done, headers: ["Content-Type": "application/octet-stream"], body: body)
                guard response.status == 201 || response.status == 204 || response.status == 200 else {
                    throw await unexpected(response, call)
                }
                progress?(size, size)
                return
            } catch {
                // A closing PUT whose answer was lost finds its session gone
                // though the blob arrived.
                if error.code == "BLOB_UPLOAD_UNKNOWN", (try? await blobExists(repository, digest: descriptor.digest)) == true {
                    progress?(size, size)
                    return
                }
                // A session the registry lost (restarted, expired) or a
                // connection that stayed down: a new session, a few times.
                let restartable = error.kind == .transport || error.code == "BLOB_UPLOAD_UNKNOWN" || error.status == 416
                restarts += 1
                guard restartable, restarts < max(options.retry.attempts, 1) else { throw error }
                try await pause(options.retry.delay(beforeRetry: restarts, retryAfter: nil), call)
            }
        }
    }

    /// `POST …/blobs/uploads/` → the session's URL.
    private func openSession(_ call: Call, _ uploads: URL) async throws(RegistryError) -> URL {
        let response = try await exchange(call, "POST", uploads, body: .bytes([]))
        guard response.status == 202 else { throw await unexpected(response, call) }
        return try resolve(location: response.headers["Location"], against: uploads, call: call)
    }

    /// Sends the file in `PATCH` chunks; returns the session URL to close.
    private func sendChunks(_ call: Call, session: URL, path: String, size: Int64, progress: TransferProgress?) async throws(RegistryError) -> URL {
        let chunkSize = Int64(max(options.chunkSize, 1))
        var location = session
        var offset: Int64 = 0
        var failures = 0
        while offset < size {
            let length = min(chunkSize, size - offset)
            let headers: HTTPHeaderFields = [
                "Content-Type": "application/octet-stream", "Content-Range": "\(offset)-\(offset + length - 1)",
            ]
            var retryAfter: Duration?
            do throws(RegistryError) {
                let response = try await exchange(
                    call, "PATCH", location, headers: headers, body: .fileRange(path: path, offset: offset, length: length), retrying: false)
                if response.status == 202 {
                    location = try resolve(location: response.headers["Location"] ?? location.absoluteString, against: location, call: call)
                    offset = Self.rangeEnd(response.headers["Range"]).map { $0 + 1 } ?? offset + length
                    progress?(offset, size)
                    continue
                }
                guard Self.isRetryable(status: response.status) || response.status == 416 else { throw await unexpected(response, call) }
                retryAfter = Self.retryAfter(response.headers["Retry-After"], now: Date())
                if response.status != 416 { _ = await Self.prefix(of: response.body, limit: 64 << 10) }
                failures += 1
                guard failures < max(options.retry.attempts, 1) else { throw await unexpected(response, call) }
            } catch {
                failures += 1
                guard error.kind == .transport, failures < max(options.retry.attempts, 1) else { throw error }
            }
            try await pause(options.retry.delay(beforeRetry: failures, retryAfter: retryAfter), call)
            // Resume from what the registry has.
            (location, offset) = try await sessionStatus(call, location)
            progress?(offset, size)
        }
        return location
    }

    /// `GET` of an upload session: its (possibly new) URL and the bytes it
    /// holds, from `Range: 0-<last>`.
    private func sessionStatus(_ call: Call, _ location: URL) async throws(RegistryError) -> (URL, Int64) {
        let response = try await exchange(call, "GET", location)
        guard response.status == 204 || response.status == 200 else { throw await unexpected(response, call) }
        let next = try resolve(location: response.headers["Location"] ?? location.absoluteString, against: location, call: call)
        return (next, max(Self.rangeEnd(response.headers["Range"]).map { $0 + 1 } ?? 0, 0))
    }

    /// `0-99` (or `bytes=0-99`) → 99; `0--1` (nothing yet) → -1.
    static func rangeEnd(_ range: String?) -> Int64? {
        guard var value = range?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if value.lowercased().hasPrefix("bytes=") { value.removeFirst(6) }
        guard let dash = value.firstIndex(of: "-") else { return nil }
        return Int64(value[value.index(after: dash)...])
    }

    static func fileSize(_ path: String, _ call: Call) throws(RegistryError) -> Int64 {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular, let size = attributes[.size] as? NSNumber
        else {
            throw call.error(.file, "\(path): not a readable regular file")
        }
        return size.int64Value
    }
}
