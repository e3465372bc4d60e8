internal import Foundation
public import KilnCore
internal import KilnHTTP
public import OCI
internal import Crypto
#if canImport(Glibc)
internal import Glibc
#endif

extension RegistryClient {
    /// Whether the registry has the blob (`HEAD`).
    /// - Throws: ``RegistryError`` for any answer but `200` or `404`.
    public func blobExists(_ repository: Repository, digest: ContentDigest) async throws(RegistryError) -> Bool {
        let call = Call.reading(.checking, repository, subject: " blob \(digest)")
        let response = try await exchange(call, "HEAD", try url(repository, "blobs/\(digest)", call: call))
        switch response.status {
        case 200: return true
        case 404: return false
        default: throw await unexpected(response, call)
        }
    }

    /// A small blob (a config) in memory, verified against the descriptor.
    /// - Throws: ``RegistryError``: `.tooLarge` when the descriptor or the
    ///   registry says it is larger than `limit`, `.digestMismatch` when
    ///   the bytes are not the descriptor's.
    public func fetchBlobBytes(_ repository: Repository, descriptor: Descriptor, limit: Int) async throws(RegistryError) -> [UInt8] {
        let call = Call.reading(.pulling, repository, subject: " blob \(descriptor.digest)")
        guard descriptor.size <= Int64(limit) else {
            throw call.error(.tooLarge, "the blob is \(descriptor.size) bytes, more than the \(limit) kiln reads into memory")
        }
        let url = try url(repository, "blobs/\(descriptor.digest)", call: call)
        let (_, bytes) = try await fetchBody(call, url, limit: limit, what: "blob")
        let digest = ContentDigest(sha256Bytes: SHA256.hash(data: bytes))
        guard digest == descriptor.digest, Int64(bytes.count) == descriptor.size else {
            throw Self.mismatch(call, descriptor, digest: digest, size: Int64(bytes.count))
        }
        return bytes
    }

    /// Downloads a blob into the file `path`, verifying its size and
    /// digest while it streams.
    ///
    /// The bytes go to `path + ".partial"`, renamed to `path` once
    /// verified. A download cut off (here, or by an earlier run that left
    /// the partial file) resumes with a `Range` request, or starts over
    /// when the registry ignores the range. Redirects (to blob storage) are
    /// followed. When the content is not the descriptor's, nothing is kept.
    /// - Parameter progress: called with the bytes in the file so far and
    ///   the descriptor's size.
    /// - Throws: ``RegistryError``: `.digestMismatch` (expected and actual
    ///   digest and size), `.file`, and the failures of any request.
    public func fetchBlob(_ repository: Repository, descriptor: Descriptor, to path: String, progress: TransferProgress?) async throws(RegistryError) {
        let call = Call.reading(.pulling, repository, subject: " blob \(descriptor.digest)")
        let url = try url(repository, "blobs/\(descriptor.digest)", call: call)
        let partial = path + ".partial"
        var file = try PartialFile(path: partial, call: call)
        defer {
            // A download that got nothing leaves no empty partial file
            // behind, and one of its own (see PartialFile) leaves nothing.
            if file.size == 0 || file.isPrivate { file.remove() }
            file.close()
        }
        // Bytes that an earlier run left count only if the whole proves right.
        var resumedFromEarlierRun = file.size > 0
        if file.size > descriptor.size { try file.truncate(call) ; resumedFromEarlierRun = false }
        var failures = 0
        while true {
            if file.size < descriptor.size {
                do throws(RegistryError) {
                    try await download(call, url, descriptor: descriptor, into: &file, progress: progress)
                } catch {
                    failures += 1
                    guard error.kind == .transport, failures < max(options.retry.attempts, 1) else { throw error }
                    try await pause(options.retry.delay(beforeRetry: failures, retryAfter: nil), call)
                    continue
                }
            }
            let digest = file.digest
            if digest == descriptor.digest, file.size == descriptor.size { break }
            let size = file.size
            try file.truncate(call)
            if resumedFromEarlierRun {
                // The earlier run's bytes may be what is wrong: once more from scratch.
                resumedFromEarlierRun = false
                continue
            }
            file.remove()
            throw Self.mismatch(call, descriptor, digest: digest, size: size)
        }
        do {
            try file.finish(renamingTo: path)
        } catch {
            throw call.error(.file, error.description)
        }
    }

    /// One `GET` of what `file` lacks: from its end with `Range` when it has
    /// some; a `200` (the range ignored) starts it over. Stops, with an
    /// error, as soon as the body runs past the descriptor's size.
    private func download(
        _ call: Call, _ url: URL, descriptor: Descriptor, into file: inout PartialFile, progress: TransferProgress?
    ) async throws(RegistryError) {
        let offset = file.size
        let headers: HTTPHeaderFields = offset > 0 ? ["Range": "bytes=\(offset)-"] : [:]
        let response = try await exchange(call, "GET", url, headers: headers)
        switch response.status {
        case 200:
            if offset > 0 { try file.truncate(call) }
        case 206 where offset > 0 && Self.rangeStart(response.headers["Content-Range"]) == offset:
            break
        case 206, 416:
            // A range not where it was asked, or none to satisfy: over again.
            try file.truncate(call)
            throw call.error(.transport, "the registry answered the range request with \(response.status); starting over")
        default:
            throw await unexpected(response, call)
        }
        progress?(file.size, descriptor.size)
        var iterator = response.body.makeAsyncIterator()
        while true {
            let chunk: [UInt8]?
            do {
                chunk = try await iterator.next()
            } catch let error as HTTPTransportError {
                throw transportFailure(error, call, url: url, attempts: 1)
            } catch {
                throw call.error(.transport, "\(error)")
            }
            guard let chunk else { break }
            guard file.size + Int64(chunk.count) <= descriptor.size else {
                file.remove()
                throw Self.mismatch(call, descriptor, digest: nil, size: file.size + Int64(chunk.count))
            }
            try file.append(chunk, call)
            progress?(file.size, descriptor.size)
        }
    }

    /// `bytes 100-199/200` → 100.
    static func rangeStart(_ contentRange: String?) -> Int64? {
        guard let value = contentRange?.trimmingCharacters(in: .whitespaces), value.lowercased().hasPrefix("bytes ") else { return nil }
        return Int64(value.dropFirst(6).prefix { $0 != "-" })
    }

    static func mismatch(_ call: Call, _ descriptor: Descriptor, digest: ContentDigest?, size: Int64) -> RegistryError {
        let actual = digest.map { "\($0) (\(size) bytes)" } ?? "more than \(descriptor.size) bytes (\(size) so far)"
        return call.error(.digestMismatch, "expected \(descriptor.digest) (\(descriptor.size) bytes), got \(actual); nothing was kept")
    }

    /// `GET url` expecting `200` and a body of at most `limit` bytes,
    /// read whole; a connection lost mid-body is retried.
    func fetchBody(_ call: Call, _ url: URL, headers: HTTPHeaderFields = [:], limit: Int, what: String) async throws(RegistryError) -> (HTTPResponse, [UInt8]) {
        var failures = 0
        while true {
            let response = try await exchange(call, "GET", url, headers: headers)
            guard response.status == 200 else { throw await unexpected(response, call) }
            guard response.expectedLength <= Int64(limit) else {
                throw call.error(.tooLarge, "the registry says the \(what) is \(response.expectedLength) bytes, more than the \(limit) kiln accepts")
            }
            do {
                return (response, try await response.body.collect(upTo: limit))
            } catch {
                if error.kind == .tooLarge { throw call.error(.tooLarge, "the \(what) is larger than the \(limit) bytes kiln accepts") }
                failures += 1
                guard error.isTransient, failures < max(options.retry.attempts, 1) else {
                    throw transportFailure(error, call, url: url, attempts: failures)
                }
                try await pause(options.retry.delay(beforeRetry: failures, retryAfter: nil), call)
            }
        }
    }
}

/// The file a download streams into, and the hash of what it holds.
///
/// It is `<target>.partial`, locked (`flock`) while a download writes it, so
/// a later run can resume it. A download that finds it locked (another
/// process or task is fetching the same blob) writes a file of its own
/// beside it instead, which nobody resumes; either finished copy is renamed
/// over the target, and both are the same verified bytes.
struct PartialFile {
    private(set) var path: String
    /// Whether this is a file of this download's own, removed on failure.
    let isPrivate: Bool
    private var descriptor: Int32
    private var hasher = SHA256()
    /// Bytes in the file.
    private(set) var size: Int64 = 0
    /// Set once the file was renamed into place.
    private var finished = false

    /// Opens (or creates) `path`, locks it, and hashes what it already holds.
    init(path: String, call: Call) throws(RegistryError) {
        func failure(_ what: String, _ path: String) -> RegistryError {
            call.error(.file, "cannot \(what) \(path): \(String(cString: strerror(errno)))")
        }
        var descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("open", path) }
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
            self.path = path
            isPrivate = false
        } else {
            Glibc.close(descriptor)
            let own = path + "-" + AtomicFile.randomSuffix()
            descriptor = open(own, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw failure("create", own) }
            self.path = own
            isPrivate = true
        }
        self.descriptor = descriptor
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw failure("read", self.path) }
            if count == 0 { break }
            hasher.update(data: buffer[..<count])
            size += Int64(count)
        }
    }

    /// The digest of what the file holds.
    var digest: ContentDigest { ContentDigest(sha256Bytes: hasher.finalize()) }

    mutating func append(_ bytes: [UInt8], _ call: Call) throws(RegistryError) {
        do {
            try FileHashing.writeAll(descriptor, bytes[...], path: path)
        } catch {
            throw call.error(.file, error.description)
        }
        hasher.update(data: bytes)
        size += Int64(bytes.count)
    }

    /// Empties the file, to start over.
    mutating func truncate(_ call: Call) throws(RegistryError) {
        guard ftruncate(descriptor, 0) == 0, lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw call.error(.file, "cannot truncate \(path): \(String(cString: strerror(errno)))")
        }
        hasher = SHA256()
        size = 0
    }

    /// Removes the file (its content was wrong, or there is none), unless
    /// it was renamed into place.
    mutating func remove() {
        guard !finished else { return }
        unlink(path)
        hasher = SHA256()
        size = 0
    }

    /// Renames the complete, verified file to `destination` (still locked,
    /// so no other download starts on it meanwhile), then closes it.
    mutating func finish(renamingTo destination: String) throws(FileIOError) {
        defer { close() }
        try AtomicFile.rename(path, to: destination)
        finished = true
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
