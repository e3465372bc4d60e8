internal import AsyncHTTPClient
internal import Foundation
#if canImport(Glibc)
internal import Glibc
#endif
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL
internal import Synchronization

/// ``HTTPTransport`` on async-http-client: HTTP/1.1 and HTTP/2, TLS by
/// swift-nio-ssl (the system trust store plus ``TrustRoots`` per host),
/// proxies chosen per URL by ``ProxySettings``.
///
/// async-http-client takes its proxy per client, so this keeps one client
/// per proxy choice (usually one, direct), created on first use. Every
/// client runs on the process's one shared event loop group, so no call
/// starts threads of its own. A transport made with ``init(configuration:)``
/// must be ended with ``shutdown()``; ``shared`` lives as long as the process.
public final class AsyncHTTPClientTransport: HTTPTransport {
    /// How a transport connects.
    public struct Configuration: Sendable {
        /// Which proxy each URL goes through.
        public var proxy: ProxySettings
        /// Extra trust roots, by host.
        public var trustRoots: TrustRoots
        /// Time to open a connection (TCP, proxy tunnel and TLS handshake).
        public var connectTimeout: Duration
        /// Time a peer may stay silent while a response is awaited or read.
        public var readTimeout: Duration
        /// The `User-Agent` sent when a request sets none.
        public var userAgent: String

        /// A configuration; by default no proxy, no extra roots, 10 s to
        /// connect and 30 s of silence allowed.
        public init(
            proxy: ProxySettings = ProxySettings(), trustRoots: TrustRoots = TrustRoots(),
            connectTimeout: Duration = .seconds(10), readTimeout: Duration = .seconds(30), userAgent: String = "kiln"
        ) {
            self.proxy = proxy
            self.trustRoots = trustRoots
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.userAgent = userAgent
        }
    }

    /// The transport for the process: proxies from the environment, the
    /// system trust store, default timeouts. Never shut down (like
    /// `HTTPClient.shared`); a proxy variable kiln cannot use makes each of
    /// its requests fail with that error.
    public static let shared: AsyncHTTPClientTransport = {
        do throws(HTTPTransportError) {
            return try AsyncHTTPClientTransport(
                configuration: Configuration(proxy: ProxySettings(environment: ProcessInfo.processInfo.environment)), isShared: true)
        } catch {
            return AsyncHTTPClientTransport(failing: error)
        }
    }()

    private struct State {
        var clients: [ProxySettings.Proxy?: HTTPClient] = [:]
        var isShutDown = false
    }

    private let configuration: Configuration
    /// TLS configurations by ``TrustRoots`` key; hosts without extra roots
    /// use the client's default (the system store).
    private let tls: [String: TLSConfiguration]
    private let isShared: Bool
    /// Set when the configuration could not be used (``shared`` only).
    private let configurationError: HTTPTransportError?
    private let state = Mutex(State())

    /// A transport with its own clients; end it with ``shutdown()``.
    /// - Throws: ``HTTPTransportError`` (`.invalidRequest`) when an extra
    ///   trust root cannot be loaded.
    public convenience init(configuration: Configuration) throws(HTTPTransportError) {
        try self.init(configuration: configuration, isShared: false)
    }

    private init(configuration: Configuration, isShared: Bool) throws(HTTPTransportError) {
        var tls: [String: TLSConfiguration] = [:]
        for (key, files) in configuration.trustRoots.files {
            var roots: [NIOSSLCertificate] = []
            for file in files {
                guard FileManager.default.isReadableFile(atPath: file) else {
                    throw HTTPTransportError(.invalidRequest, "\(file): cannot read the certificate file")
                }
                do {
                    roots += try NIOSSLCertificate.fromPEMFile(file)
                } catch {
                    throw HTTPTransportError(.invalidRequest, "\(file): not a PEM certificate file")
                }
            }
            guard !roots.isEmpty else {
                throw HTTPTransportError(.invalidRequest, "\(files.joined(separator: ", ")): no certificate in the trust roots for \(key)")
            }
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.additionalTrustRoots = [.certificates(roots)]
            tls[key] = configuration
        }
        self.configuration = configuration
        self.tls = tls
        self.isShared = isShared
        configurationError = nil
    }

    private init(failing error: HTTPTransportError) {
        configuration = Configuration()
        tls = [:]
        isShared = true
        configurationError = error
    }

    /// Closes every client's connections. Requests sent afterwards fail
    /// with `.shutDown`.
    /// - Throws: ``HTTPTransportError`` (`.invalidRequest`) on ``shared``,
    ///   which the process keeps; `.other` when a client did not close
    ///   cleanly.
    public func shutdown() async throws(HTTPTransportError) {
        guard !isShared else { throw HTTPTransportError(.invalidRequest, "the shared HTTP transport cannot be shut down") }
        let clients = state.withLock { state in
            state.isShutDown = true
            defer { state.clients = [:] }
            return Array(state.clients.values)
        }
        var failure: (any Error)?
        for client in clients {
            do { try await client.shutdown() } catch { failure = error }
        }
        if let failure { throw HTTPTransportError(.other, "closing the HTTP client: \(failure)") }
    }

    /// Sends `request` over the client for its proxy choice.
    public func send(_ request: HTTPRequest) async throws(HTTPTransportError) -> HTTPResponse {
        if let configurationError { throw configurationError }
        let url = request.url
        guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = url.host, !host.isEmpty else {
            throw HTTPTransportError(.invalidRequest, "\(url.absoluteString): not an http:// or https:// URL")
        }
        let client = try client(for: configuration.proxy.proxy(for: url))
        var outgoing = HTTPClientRequest(url: url.absoluteString)
        outgoing.method = HTTPMethod(rawValue: request.method.uppercased())
        for field in request.headers { outgoing.headers.add(name: field.name, value: field.value) }
        if request.headers["User-Agent"] == nil { outgoing.headers.add(name: "User-Agent", value: configuration.userAgent) }
        if scheme == "https", let key = configuration.trustRoots.key(host: host, port: url.port ?? 443) {
            outgoing.tlsConfiguration = tls[key]
        }
        switch request.body {
        case nil: break
        case .bytes(let bytes): outgoing.body = .bytes(bytes)
        case .file(let path):
            let chunks = try FileChunks(path: path)
            outgoing.body = .stream(chunks, length: .known(chunks.size))
        case .fileRange(let path, let offset, let length):
            let chunks = try FileChunks(path: path, offset: offset, length: length)
            outgoing.body = .stream(chunks, length: .known(chunks.size))
        }
        let deadline = ContinuousClock.now + request.timeout
        let response: HTTPClientResponse
        do {
            response = try await client.execute(outgoing, timeout: TimeAmount(request.timeout))
        } catch {
            throw AsyncHTTPClientTransport.describe(error)
        }
        var headers = HTTPHeaderFields()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        let body = response.body
        let timeout = request.timeout
        return HTTPResponse(status: Int(response.status.code), headers: headers, body: HTTPBody {
            var iterator = body.makeAsyncIterator()
            return { () async throws(HTTPTransportError) -> [UInt8]? in
                let buffer: ByteBuffer?
                do {
                    buffer = try await iterator.next()
                } catch {
                    throw AsyncHTTPClientTransport.describe(error)
                }
                // async-http-client's deadline ends with the head; the body
                // is held to the same request timeout here.
                if buffer != nil, ContinuousClock.now > deadline {
                    throw HTTPTransportError(.timedOut, "timed out (the transfer took longer than \(timeout))")
                }
                return buffer.map { Array($0.readableBytesView) }
            }
        })
    }

    private func client(for proxy: ProxySettings.Proxy?) throws(HTTPTransportError) -> HTTPClient {
        let client: HTTPClient? = state.withLock { state in
            guard !state.isShutDown else { return nil }
            if let client = state.clients[proxy] { return client }
            let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: clientConfiguration(proxy: proxy))
            state.clients[proxy] = client
            return client
        }
        guard let client else { throw HTTPTransportError(.shutDown, "the HTTP transport was shut down") }
        return client
    }

    private func clientConfiguration(proxy: ProxySettings.Proxy?) -> HTTPClient.Configuration {
        var client = HTTPClient.Configuration()
        client.timeout = .init(connect: TimeAmount(configuration.connectTimeout), read: TimeAmount(configuration.readTimeout))
        // Callers retry with their own backoff and messages; the client's
        // own retrying would turn "connection refused" into a connect
        // timeout after `connectTimeout`.
        client.connectionPool.retryConnectionEstablishment = false
        client.redirectConfiguration = .follow(max: 10, allowCycles: false)
        // Bodies are hashed as sent: never decompressed on the way.
        client.decompression = .disabled
        if let proxy {
            switch proxy.kind {
            case .http:
                let authorization = proxy.credentials.map { HTTPClient.Authorization.basic(credentials: Data($0.utf8).base64EncodedString()) }
                client.proxy = .server(host: proxy.host, port: proxy.port, authorization: authorization)
            case .socks5:
                client.proxy = .socksServer(host: proxy.host, port: proxy.port)
            }
        }
        return client
    }

    /// A failure below HTTP in words a user can act on.
    static func describe(_ error: any Error) -> HTTPTransportError {
        if let error = error as? HTTPTransportError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return HTTPTransportError(.timedOut, "timed out connecting to the host")
            case .readTimeout: return HTTPTransportError(.timedOut, "timed out waiting for the server")
            case .writeTimeout: return HTTPTransportError(.timedOut, "timed out sending to the server")
            case .deadlineExceeded: return HTTPTransportError(.timedOut, "timed out")
            case .tlsHandshakeTimeout: return HTTPTransportError(.timedOut, "timed out in the TLS handshake")
            case .httpProxyHandshakeTimeout, .socksHandshakeTimeout: return HTTPTransportError(.timedOut, "timed out connecting through the proxy")
            case .remoteConnectionClosed: return HTTPTransportError(.connectionLost, "the connection was lost")
            case .invalidProxyResponse: return HTTPTransportError(.proxy, "the proxy refused the connection")
            case .proxyAuthenticationRequired: return HTTPTransportError(.proxy, "the proxy requires authentication")
            case .alreadyShutdown: return HTTPTransportError(.shutDown, "the HTTP transport was shut down")
            case .cancelled: return HTTPTransportError(.cancelled, "cancelled")
            case .invalidURL, .emptyHost, .emptyScheme: return HTTPTransportError(.invalidRequest, "not a valid URL")
            case .redirectLimitReached, .redirectCycleDetected: return HTTPTransportError(.other, "too many redirects")
            default: return HTTPTransportError(.other, "\(error)")
            }
        }
        if let error = error as? NIOConnectionError {
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil {
                return HTTPTransportError(.cannotResolve, "cannot resolve the host name")
            }
            return HTTPTransportError(.cannotConnect, "cannot connect to the host")
        }
        if error is SocketAddressError {
            return HTTPTransportError(.cannotResolve, "cannot resolve the host name")
        }
        if let error = error as? IOError {
            switch error.errnoCode {
            case ECONNREFUSED, EHOSTUNREACH, ENETUNREACH: return HTTPTransportError(.cannotConnect, "cannot connect to the host")
            case ECONNRESET, EPIPE: return HTTPTransportError(.connectionLost, "the connection was lost")
            default: return HTTPTransportError(.other, "\(error)")
            }
        }
        if let error = error as? NIOSSLError {
            switch error {
            case .handshakeFailed(let reason): return HTTPTransportError(.tls, "TLS handshake failed: \(reason)")
            case .uncleanShutdown: return HTTPTransportError(.connectionLost, "the connection was lost (TLS closed uncleanly)")
            default: return HTTPTransportError(.tls, "TLS: \(error)")
            }
        }
        if let error = error as? NIOSSLExtraError {
            return HTTPTransportError(.tls, "TLS: \(error)")
        }
        if error is CancellationError { return HTTPTransportError(.cancelled, "cancelled") }
        return HTTPTransportError(.other, "\(error)")
    }
}

extension TimeAmount {
    /// The same span, in nanoseconds (saturating).
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (nanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? .max : nanos &+ attoseconds / 1_000_000_000)
    }
}

/// A file's contents (or a range of them) as `ByteBuffer`s of 64 KiB, for
/// streamed uploads. The file is opened when the request is made (so a
/// missing file fails early) and again for each iteration.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let path: String
    /// Where the bytes sent start.
    let offset: Int64
    /// How many bytes are sent.
    let size: Int64

    /// The whole file.
    init(path: String) throws(HTTPTransportError) {
        let info = try FileChunks.regularFile(path)
        self.path = path
        offset = 0
        size = Int64(info.st_size)
    }

    /// `length` bytes from `offset`, which the file must hold.
    init(path: String, offset: Int64, length: Int64) throws(HTTPTransportError) {
        let info = try FileChunks.regularFile(path)
        guard offset >= 0, length >= 0, offset + length <= Int64(info.st_size) else {
            throw HTTPTransportError(.file, "\(path): bytes \(offset) to \(offset + length) are past its end (\(info.st_size) bytes)")
        }
        self.path = path
        self.offset = offset
        size = length
    }

    private static func regularFile(_ path: String) throws(HTTPTransportError) -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw HTTPTransportError(.file, "\(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw HTTPTransportError(.file, "\(path): not a regular file") }
        return info
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(reader: Reader(path: path, offset: offset, size: size))
    }

    struct Iterator: AsyncIteratorProtocol {
        let reader: Reader

        mutating func next() async throws -> ByteBuffer? {
            try reader.next()
        }
    }

    /// Owns the descriptor; closes it at the end or when dropped.
    final class Reader {
        let path: String
        var descriptor: Int32 = -1
        var opened = false
        /// The next byte to read, and how many are left to send.
        var position: Int64
        var remaining: Int64

        init(path: String, offset: Int64, size: Int64) {
            self.path = path
            position = offset
            remaining = size
        }

        deinit {
            if descriptor >= 0 { close(descriptor) }
        }

        func next() throws(HTTPTransportError) -> ByteBuffer? {
            if !opened {
                opened = true
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw HTTPTransportError(.file, "\(path): \(String(cString: strerror(errno)))") }
            }
            guard descriptor >= 0 else { return nil }
            guard remaining > 0 else {
                close(descriptor)
                descriptor = -1
                return nil
            }
            let wanted = Int(Swift.min(remaining, 1 << 16))
            var buffer = ByteBufferAllocator().buffer(capacity: wanted)
            var failure: Int32 = 0
            let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: wanted) { pointer in
                var count: Int
                repeat { count = pread(descriptor, pointer.baseAddress, wanted, off_t(position)) } while count < 0 && errno == EINTR
                if count < 0 { failure = errno }
                return Swift.max(count, 0)
            }
            if failure != 0 { throw HTTPTransportError(.file, "\(path): \(String(cString: strerror(failure)))") }
            // The length was promised in Content-Length: a file that shrank
            // since cannot keep it.
            if count == 0 { throw HTTPTransportError(.file, "\(path): the file ended \(remaining) bytes early") }
            position += Int64(count)
            remaining -= Int64(count)
            return buffer
        }
    }
}
