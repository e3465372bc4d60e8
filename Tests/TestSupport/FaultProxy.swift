import Foundation
import Synchronization

/// A fault-injecting HTTP reverse proxy on a free 127.0.0.1 port in front of
/// a plain-HTTP registry (a Python server), for the client's retry and
/// verification paths: each test says which requests fail, and how, with
/// ``inject(_:)``; everything else passes through unchanged, Range
/// requests and chunked uploads included. The `Host` header goes through
/// as the client sent it, so the registry's `Location` headers name the
/// proxy and uploads keep going through it (any that still name the
/// registry are rewritten).
///
/// ```swift
/// let registry = try RegistryServer()
/// let proxy = try FaultProxy(in: registry)
/// defer { proxy.stop(); registry.stop() }
/// try proxy.inject([.init("GET", "/blobs/sha256:", .status(503), count: 2)])
/// // pull from proxy.host: the first two blob GETs answer 503
/// #expect(proxy.hits(fault: "status") == 2)
/// ```
public final class FaultProxy: @unchecked Sendable {
    /// What the proxy does to a request a rule matches.
    public enum Fault: Sendable, Hashable {
        /// Forwards the request, sends the response's head and its first
        /// `bytes` body bytes, then resets the connection (RST).
        case dropAfter(bytes: Int)
        /// Reads the first `bytes` of the request's body (an upload), then
        /// resets the connection; the registry sees nothing of it.
        case dropUploadAfter(bytes: Int)
        /// Answers `status` with a registry-style JSON error
        /// (`TOOMANYREQUESTS` for 429, `UNAVAILABLE` for 503) and, when
        /// given, `Retry-After: retryAfter`; not forwarded.
        case status(Int, retryAfter: Int? = nil)
        /// Forwards the request, sends the response's head (its
        /// `Content-Length` unchanged) and `bytes` body bytes, then closes
        /// the connection cleanly (FIN): a short body.
        case truncate(bytes: Int)
        /// Forwards the request and flips one byte (the middle one; the
        /// first of a chunked body) of the response body: a digest mismatch.
        case corrupt
        /// Answers 200 with a small HTML page (`text/html`), as a captive
        /// portal or a misconfigured front end would; not forwarded.
        case html
        /// Answers 200 with a manifest-typed JSON body of `bytes` bytes
        /// (an ever longer `layers` list), made while it is sent; with
        /// `Content-Length`, or chunked without one; not forwarded.
        case hugeJSON(bytes: Int = 100_000_000, chunked: Bool = false)
        /// Waits `seconds`, then forwards the request.
        case delay(seconds: Double)

        /// The fault's name in ``Hit/fault``: `dropAfter`, `status`, ….
        public var name: String {
            switch self {
            case .dropAfter: "dropAfter"
            case .dropUploadAfter: "dropUploadAfter"
            case .status: "status"
            case .truncate: "truncate"
            case .corrupt: "corrupt"
            case .html: "html"
            case .hugeJSON: "hugeJSON"
            case .delay: "delay"
            }
        }

        var json: [String: Any] {
            var object: [String: Any] = ["kind": name]
            switch self {
            case .dropAfter(let bytes), .dropUploadAfter(let bytes), .truncate(let bytes):
                object["bytes"] = bytes
            case .status(let status, let retryAfter):
                object["status"] = status
                if let retryAfter { object["retryAfter"] = retryAfter }
            case .hugeJSON(let bytes, let chunked):
                object["bytes"] = bytes
                object["chunked"] = chunked
            case .delay(let seconds):
                object["seconds"] = seconds
            case .corrupt, .html:
                break
            }
            return object
        }
    }

    /// Which requests get a fault, and how many times.
    public struct Rule: Sendable, Hashable {
        /// The request method it matches; nil for any.
        public var method: String?
        /// A Python regular expression searched for in the request target
        /// (path and query), e.g. `"/blobs/sha256:"`, `"/manifests/"`.
        public var path: String
        /// What happens to a matching request.
        public var fault: Fault
        /// How many matching requests get the fault; later ones pass through.
        public var count: Int

        /// A rule for `method` (nil: any) requests whose target matches `path`.
        public init(_ method: String?, _ path: String, _ fault: Fault, count: Int = 1) {
            self.method = method
            self.path = path
            self.fault = fault
            self.count = count
        }
    }

    /// One request the proxy received.
    public struct Hit: Sendable, Hashable, Decodable {
        /// The request method.
        public let method: String
        /// The request target (path and query).
        public let path: String
        /// The name of the fault it got (``Fault/name``), nil when it
        /// passed through.
        public let fault: String?
    }

    /// `127.0.0.1:PORT`: the registry part of an image reference through the proxy.
    public let host: String
    /// `http://127.0.0.1:PORT`.
    public let url: String
    /// The port it listens on.
    public let port: Int

    private let server: PythonServer
    private let directory: TemporaryDirectory
    private let rulesPath: String
    private let logPath: String
    private let generation = Mutex(0)
    private let stopped = StopFlag()

    /// Starts a proxy forwarding to the plain-HTTP server at
    /// `upstreamPort` on 127.0.0.1, with no rules.
    /// - Throws: ``TestSupportError`` when it does not start.
    public init(upstreamPort: Int) throws {
        directory = try TemporaryDirectory(prefix: "kiln-fault-proxy")
        rulesPath = directory.path("rules.json")
        logPath = directory.path("requests.log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        server = try PythonServer(["-c", Self.script, "127.0.0.1", String(upstreamPort), rulesPath, logPath])
        guard let port = Int(server.firstLine.trimmingCharacters(in: .whitespaces)) else {
            server.stop()
            directory.remove()
            throw TestSupportError("the fault proxy did not start: \(server.firstLine)")
        }
        self.port = port
        host = "127.0.0.1:\(port)"
        url = "http://" + host
    }

    /// Starts a proxy in front of `registry`, which must be plain HTTP
    /// (``RegistryServer/Mode/plain``, ``RegistryServer/Mode/basic(user:password:)``
    /// or ``RegistryServer/Mode/token(user:password:expiresIn:anonymousPull:)``).
    /// - Throws: ``TestSupportError`` for a TLS registry, or when it does not start.
    public convenience init(in registry: RegistryServer) throws {
        guard registry.url.hasPrefix("http://") else {
            throw TestSupportError("the fault proxy forwards plain HTTP only, not to \(registry.url)")
        }
        try self.init(upstreamPort: registry.port)
    }

    /// Replaces the rules: each request takes the first rule that matches
    /// it and has fired fewer than its `count` times; every count starts
    /// afresh. `inject([])` lets everything through.
    public func inject(_ rules: [Rule]) throws {
        let number = generation.withLock { value in
            value += 1
            return value
        }
        let object: [String: Any] = [
            "generation": number,
            "rules": rules.map { rule in
                ["method": rule.method ?? NSNull(), "path": rule.path, "fault": rule.fault.json, "count": rule.count] as [String: Any]
            },
        ]
        // Replaced whole (a rename): the proxy never reads half a file.
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: rulesPath), options: .atomic)
    }

    /// Every request received so far, in order of arrival.
    public func log() -> [Hit] {
        let text = (try? Files.text(logPath)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Hit.self, from: Data($0.utf8)) }
    }

    /// How many requests with `method` (any when nil) whose target contains
    /// `pathContains` were received; with `fault`, only those that got the
    /// fault of that ``Fault/name`` (`"pass"` for those passed through).
    public func hits(method: String? = nil, pathContains: String = "", fault: String? = nil) -> Int {
        log().filter { hit in
            (method == nil || hit.method == method) && (pathContains.isEmpty || hit.path.contains(pathContains))
                && (fault == nil || (hit.fault ?? "pass") == fault)
        }.count
    }

    deinit { stop() }

    /// Stops the proxy and removes its files. Safe to call twice.
    public func stop() {
        guard stopped.claim() else { return }
        server.stop()
        directory.remove()
    }

    static let script = #"""
    import http.client, json, re, socket, struct, sys, threading, time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    UPSTREAM_HOST, UPSTREAM_PORT, RULES, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    UPSTREAM = 'http://%s:%d' % (UPSTREAM_HOST, UPSTREAM_PORT)
    # Not forwarded either way: they describe one connection, not the message.
    HOP = {'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'expect'}
    lock = threading.Lock()
    state = {'generation': None, 'rules': []}

    def pick(method, path):
        # The rules file is replaced whole by each inject; a new generation
        # starts every rule's count afresh.
        with lock:
            try:
                with open(RULES) as file:
                    loaded = json.load(file)
            except FileNotFoundError:
                loaded = {'generation': 0, 'rules': []}
            if loaded['generation'] != state['generation']:
                state['generation'] = loaded['generation']
                state['rules'] = [dict(rule, left=rule['count']) for rule in loaded['rules']]
            for rule in state['rules']:
                if rule['left'] > 0 and rule.get('method') in (None, method) and re.search(rule['path'], path):
                    rule['left'] -= 1
                    return rule['fault']
        return None

    def record(method, path, fault):
        with lock, open(LOG, 'a') as file:
            file.write(json.dumps({'method': method, 'path': path, 'fault': fault and fault['kind']}) + '\n')

    class Proxy(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def body(self):
            # The request body as it arrives, de-chunked, never whole in memory.
            if 'chunked' in self.headers.get('Transfer-Encoding', '').lower():
                while True:
                    size = int(self.rfile.readline().split(b';')[0].strip() or b'0', 16)
                    if size == 0:
                        while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                            pass
                        return
                    yield from self.exactly(size)
                    self.rfile.readline()
            else:
                yield from self.exactly(int(self.headers.get('Content-Length') or 0))

        def exactly(self, size):
            while size > 0:
                data = self.rfile.read(min(size, 65536))
                if not data:
                    raise ConnectionError('the client closed mid-body')
                size -= len(data)
                yield data

        def reset(self):
            # SO_LINGER 0: close sends RST, what a dropped connection looks like.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.connection.close()
            self.close_connection = True

        def reply(self, status, content_type, body, extra=()):
            self.send_response_only(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)

        def handle_any(self):
            fault = pick(self.command, self.path)
            record(self.command, self.path, fault)
            kind = fault and fault['kind']
            try:
                if kind == 'dropUploadAfter':
                    taken = 0
                    for piece in self.body():
                        taken += len(piece)
                        if taken >= fault['bytes']:
                            break
                    return self.reset()
                if kind in ('status', 'html', 'hugeJSON'):
                    for _ in self.body():
                        pass
                if kind == 'status':
                    code = {429: 'TOOMANYREQUESTS', 503: 'UNAVAILABLE'}.get(fault['status'], 'UNKNOWN')
                    body = json.dumps({'errors': [{'code': code, 'message': 'kiln fault proxy: injected %d' % fault['status']}]}).encode()
                    extra = [('Retry-After', str(fault['retryAfter']))] if fault.get('retryAfter') is not None else []
                    return self.reply(fault['status'], 'application/json', body, extra)
                if kind == 'html':
                    page = b'<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><h1>Sign in to continue</h1></body></html>\n'
                    return self.reply(200, 'text/html; charset=utf-8', page)
                if kind == 'hugeJSON':
                    return self.huge(fault['bytes'], fault['chunked'])
                if kind == 'delay':
                    time.sleep(fault['seconds'])
                self.forward(kind, fault)
            except (ConnectionError, BrokenPipeError, socket.timeout, OSError):
                self.close_connection = True

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = handle_any

        def forward(self, kind, fault):
            upstream = http.client.HTTPConnection(UPSTREAM_HOST, UPSTREAM_PORT, timeout=120)
            chunked = 'chunked' in self.headers.get('Transfer-Encoding', '').lower()
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            # Host goes through unchanged: the registry builds its Location
            # URLs from it, so they name the proxy already.
            for name, value in self.headers.items():
                if name.lower() not in HOP:
                    upstream.putheader(name, value)
            if chunked:
                upstream.putheader('Transfer-Encoding', 'chunked')
            upstream.endheaders()
            for piece in self.body():
                upstream.send(b'%x\r\n%s\r\n' % (len(piece), piece) if chunked else piece)
            if chunked:
                upstream.send(b'0\r\n\r\n')
            response = upstream.getresponse()
            self.send_response_only(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() in HOP:
                    continue
                if name.lower() == 'location':
                    value = value.replace(UPSTREAM, 'http://%s:%d' % self.server.server_address)
                self.send_header(name, value)
            reframe = response.chunked
            if reframe:
                self.send_header('Transfer-Encoding', 'chunked')
            elif response.length is None and self.command != 'HEAD' and response.status not in (204, 304):
                self.close_connection = True
            self.end_headers()
            length = response.length or 0
            flip = length // 2 if kind == 'corrupt' else None
            limit = fault['bytes'] if kind in ('dropAfter', 'truncate') else None
            sent = 0
            while True:
                data = response.read1(65536)
                if not data:
                    break
                if flip is not None and sent <= flip < sent + len(data):
                    data = data[:flip - sent] + bytes([data[flip - sent] ^ 0xFF]) + data[flip - sent + 1:]
                if limit is not None and sent + len(data) >= limit:
                    data = data[:limit - sent]
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data) if reframe and data else data)
                    self.wfile.flush()
                    if kind == 'dropAfter':
                        return self.reset()
                    self.close_connection = True
                    return
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data) if reframe else data)
                sent += len(data)
            if reframe:
                self.wfile.write(b'0\r\n\r\n')
            if limit is not None:
                # The body was shorter than the limit: end the connection all the
                # same, so the fault is never a silent pass.
                self.wfile.flush()
                if kind == 'dropAfter':
                    return self.reset()
                self.close_connection = True
            upstream.close()

        def huge(self, size, chunked):
            # A manifest of `size` bytes with ever more layers, made as it is
            # sent: valid JSON, padded with spaces to the exact size.
            head = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":['
            item = b'{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:' + b'0' * 64 + b'","size":1},'
            tail = b'{}]}'
            items, spaces = divmod(max(size - len(head) - len(tail), 0), len(item))
            per_block = 65536 // len(item)
            self.send_response_only(200)
            self.send_header('Content-Type', 'application/vnd.oci.image.manifest.v1+json')
            if chunked:
                self.send_header('Transfer-Encoding', 'chunked')
            else:
                self.send_header('Content-Length', str(len(head) + items * len(item) + spaces + len(tail)))
            self.end_headers()
            if self.command == 'HEAD':
                return
            def write(data):
                self.wfile.write(b'%x\r\n%s\r\n' % (len(data), data) if chunked else data)
            write(head)
            while items > 0:
                count = min(items, per_block)
                write(item * count)
                items -= count
            write(b' ' * spaces + tail)
            if chunked:
                self.wfile.write(b'0\r\n\r\n')

        def log_message(self, *arguments):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(('127.0.0.1', 0), Proxy)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
}
