import Foundation
import TestSupport

/// A Python HTTP/1.1 server on a free 127.0.0.1 port, over TLS when given
/// a certificate, answering by path:
/// - `GET /bytes/N`: N bytes (`i % 251`) with `Content-Length`;
/// - `GET /stall`: a head promising 10 bytes, 2 bytes, then silence until
///   the client disconnects (300 s at most);
/// - `GET /late`: no head until the client disconnects (300 s at most);
/// - `GET /drip`: 1,500 bytes, one every 0.2 s, until the client disconnects;
/// - `PUT|POST /echo`: `<sha256 of the body> <length> <X-Test header>`;
/// - `CONNECT host:port`, then a request in the tunnel: `proxied
///   <host:port> <method> <path>` (a proxy that answers for everyone);
/// - anything else: 404.
final class LoopbackServer {
    private let server: PythonServer
    /// `http://127.0.0.1:PORT` or `https://…`.
    let url: String
    let port: Int

    static let script = #"""
    import hashlib, http.server, select, socket, socketserver, ssl, sys, time
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        def reply(self, status, body, length=None):
            self.send_response(status)
            self.send_header('Content-Length', str(len(body) if length is None else length))
            self.end_headers()
            self.wfile.write(body); self.wfile.flush()
        def do_GET(self):
            if self.path.startswith('/bytes/'):
                n = int(self.path[7:])
                return self.reply(200, bytes(i % 251 for i in range(n)))
            if self.path == '/late':
                # Until the client gives up (or 300 s): a late timer is slow, never a pass.
                for _ in range(3000):
                    ready, _, _ = select.select([self.connection], [], [], 0.1)
                    if ready and not self.connection.recv(1, socket.MSG_PEEK): return
                return self.reply(200, b'late')
            if self.path == '/drip':
                self.send_response(200); self.send_header('Content-Length', '1500'); self.end_headers()
                try:
                    for _ in range(1500):
                        self.wfile.write(b'x'); self.wfile.flush(); time.sleep(0.2)
                except OSError:
                    pass
                return
            if self.path == '/stall':
                self.reply(200, b'ab', length=10)
                for _ in range(3000):
                    ready, _, _ = select.select([self.connection], [], [], 0.1)
                    if ready and not self.connection.recv(1, socket.MSG_PEEK): return
                return
            self.reply(404, b'no such thing')
        def do_PUT(self):
            body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
            text = '%s %d %s' % (hashlib.sha256(body).hexdigest(), len(body), self.headers.get('X-Test', '-'))
            self.reply(201, text.encode())
        do_POST = do_PUT
        def do_CONNECT(self):
            self.send_response(200); self.end_headers(); self.wfile.flush()
            line = self.rfile.readline().decode().split()
            while self.rfile.readline() not in (b'\r\n', b'\n', b''): pass
            self.reply(200, ('proxied %s %s %s' % (self.path, line[0], line[1])).encode())
            self.close_connection = True
        def log_message(self, *a): pass
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
    s = S(('127.0.0.1', 0), H)
    if len(sys.argv) > 2:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        s.socket = context.wrap_socket(s.socket, server_side=True)
    print(s.server_address[1], flush=True)
    s.serve_forever()
    """#

    /// Starts the server; with `certificate` and `key` (PEM files) it
    /// speaks TLS.
    init(certificate: String? = nil, key: String? = nil) throws {
        server = try PythonServer(["-c", LoopbackServer.script] + [certificate, key].compactMap { $0 })
        guard let port = Int(server.firstLine.trimmingCharacters(in: .whitespaces)) else {
            server.stop()
            throw TestSupportError("the loopback server did not start: \(server.firstLine)")
        }
        self.port = port
        url = (certificate == nil ? "http" : "https") + "://127.0.0.1:\(port)"
    }

    func stop() { server.stop() }
}

/// A test CA and a server certificate it signed for 127.0.0.1, made with
/// `openssl`.
struct TestCertificates {
    let caCertificate: String
    let serverCertificate: String
    let serverKey: String

    init(in directory: TemporaryDirectory) throws {
        let ca = directory.path("ca.crt"), caKey = directory.path("ca.key")
        let csr = directory.path("server.csr"), extensions = directory.path("server.ext")
        serverCertificate = directory.path("server.crt")
        serverKey = directory.path("server.key")
        caCertificate = ca
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _ = try Tools.run(["openssl", "req", "-x509"] + ec + ["-keyout", caKey, "-out", ca, "-days", "2", "-subj", "/CN=kiln test CA"])
        _ = try Tools.run(["openssl", "req"] + ec + ["-keyout", serverKey, "-out", csr, "-subj", "/CN=127.0.0.1"])
        try directory.write("server.ext", """
        subjectAltName = IP:127.0.0.1
        basicConstraints = CA:FALSE
        keyUsage = digitalSignature
        extendedKeyUsage = serverAuth

        """)
        _ = try Tools.run([
            "openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", caKey, "-CAcreateserial",
            "-out", serverCertificate, "-days", "2", "-extfile", extensions,
        ])
    }
}
