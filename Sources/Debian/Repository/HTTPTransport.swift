import KilnCore
internal import Crypto
internal import Foundation
#if canImport(FoundationNetworking)
internal import FoundationNetworking
#endif
internal import Synchronization

/// Streams HTTP responses to files, hashing while writing, over one
/// `URLSession` whose delegate routes callbacks to the waiting caller.
///
/// URLSession keeps its delegate alive until invalidated, so the owner calls
/// ``invalidate()`` when done.
final class HTTPTransport: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    /// What one GET produced.
    enum Outcome: Sendable {
        /// The body was written (status 200).
        case body(size: Int64, sha256: String)
        /// The server answered with another status; nothing was written.
        case status(Int)
        /// The request failed below HTTP.
        case failed(String)
    }

    private struct Transfer {
        var handle: FileHandle
        var hasher = SHA256()
        var received: Int64 = 0
        var expected: Int64 = -1
        var status = 0
        var writeError: String?
        var progress: @Sendable (Int64, Int64) -> Void
        var continuation: CheckedContinuation<Outcome, Never>
    }

    private let transfers = Mutex<[Int: Transfer]>([:])
    // Set once in init, before any task runs; URLSession needs `self` as
    // its delegate, so it cannot be a `let` initialized before super.init.
    private nonisolated(unsafe) var session: URLSession!

    /// - Parameters:
    ///   - requestTimeout: seconds without data before a request fails.
    ///   - resourceTimeout: seconds one transfer may take in all.
    init(requestTimeout: TimeInterval = 30, resourceTimeout: TimeInterval = 1800) {
        super.init()
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = requestTimeout
        configuration.timeoutIntervalForResource = resourceTimeout
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.httpMaximumConnectionsPerHost = 4
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        session = URLSession(configuration: configuration, delegate: self, delegateQueue: queue)
    }

    /// Lets the session release its delegate.
    func invalidate() {
        session.finishTasksAndInvalidate()
    }

    /// GETs `url` into `path` (created or truncated).
    /// - Parameter progress: called with bytes so far and the expected total
    ///   (-1 when the server did not say).
    func get(_ url: URL, to path: String, progress: @escaping @Sendable (Int64, Int64) -> Void) async -> Outcome {
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            return .failed("cannot create \(path)")
        }
        defer { try? handle.close() }
        var request = URLRequest(url: url)
        request.httpMethod = "GET"
        request.setValue("kiln", forHTTPHeaderField: "User-Agent")
        let task = session.dataTask(with: request)
        return await withCheckedContinuation { continuation in
            transfers.withLock {
                $0[task.taskIdentifier] = Transfer(handle: handle, progress: progress, continuation: continuation)
            }
            task.resume()
        }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping @Sendable (URLSession.ResponseDisposition) -> Void
    ) {
        let status = (response as? HTTPURLResponse)?.statusCode ?? 200
        transfers.withLock {
            $0[dataTask.taskIdentifier]?.status = status
            $0[dataTask.taskIdentifier]?.expected = response.expectedContentLength
        }
        completionHandler(status == 200 ? .allow : .cancel)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        let report: (@Sendable (Int64, Int64) -> Void, Int64, Int64)? = transfers.withLock { table in
            guard var transfer = table[dataTask.taskIdentifier], transfer.writeError == nil else { return nil }
            do {
                try transfer.handle.write(contentsOf: data)
            } catch {
                transfer.writeError = "cannot write: \(error.localizedDescription)"
                table[dataTask.taskIdentifier] = transfer
                dataTask.cancel()
                return nil
            }
            transfer.hasher.update(data: data)
            transfer.received += Int64(data.count)
            table[dataTask.taskIdentifier] = transfer
            return (transfer.progress, transfer.received, transfer.expected)
        }
        if let (progress, received, expected) = report { progress(received, expected) }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let transfer = transfers.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        let outcome: Outcome
        if let writeError = transfer.writeError {
            outcome = .failed(writeError)
        } else if transfer.status != 0, transfer.status != 200 {
            outcome = .status(transfer.status)
        } else if let error {
            outcome = .failed(HTTPTransport.describe(error))
        } else {
            outcome = .body(size: transfer.received, sha256: Hex.string(transfer.hasher.finalize()))
        }
        transfer.continuation.resume(returning: outcome)
    }

    private static func describe(_ error: any Error) -> String {
        if let urlError = error as? URLError {
            switch urlError.code {
            case .timedOut: return "timed out"
            case .cannotConnectToHost: return "cannot connect to the host"
            case .cannotFindHost, .dnsLookupFailed: return "cannot resolve the host name"
            case .networkConnectionLost: return "the connection was lost"
            case .notConnectedToInternet: return "no network"
            default: return urlError.localizedDescription
            }
        }
        return "\(error)"
    }
}

/// Lowercase hex of bytes, through a lookup table.
enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    static func string(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
