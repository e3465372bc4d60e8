import Foundation

/// A bearer-token issuer for a registry in `auth: token` mode, as Docker's
/// token specification describes it: a Python server on a free 127.0.0.1
/// port answering
/// - `GET /token?service=…&scope=…` (HTTP Basic with the configured user,
///   or anonymous when ``Policy/anonymousPull`` allows it; with
///   `offline_token=true` a `refresh_token` too), and
/// - `POST /token` with an OAuth2 form: `grant_type=password` (`username`,
///   `password`; `access_type=offline` for a `refresh_token`) or
///   `grant_type=refresh_token` (`refresh_token`),
///
/// with `{"token", "access_token", "expires_in", "issued_at"}`, and 401
/// (`WWW-Authenticate: Basic`) for wrong or missing credentials.
///
/// The token is a JWT signed RS256 with a key certified by a test CA; its
/// header carries the certificate as `x5c`, and the CA is the registry's
/// `rootcertbundle`, which is how distribution 2.8 trusts it. The user is
/// granted the actions each scope asks for (`pull`, `push`, `delete`, `*`),
/// an anonymous client only `pull`. The signature is made by `openssl dgst`,
/// so no Python crypto module is needed.
///
/// Every request is appended to a log (``requests()``), so a test can count
/// how often a client asked for a token.
public final class TokenIssuer: @unchecked Sendable {
    /// Who gets a token, and for how long.
    public struct Policy: Sendable, Hashable {
        /// The one user (HTTP Basic, or the password grant).
        public var user: String
        /// That user's password.
        public var password: String
        /// Seconds a token is good for: the `expires_in` answered, and when
        /// the registry starts refusing the token. distribution accepts a
        /// token until 60 s past its `exp`, so `exp` is issue time +
        /// `expiresIn` − 60: with `expiresIn: 2`, the registry answers 401
        /// to the token from 2 s after it was issued.
        public var expiresIn: Int
        /// Whether a client without credentials gets a token (granting
        /// `pull` only); when false it gets 401.
        public var anonymousPull: Bool

        /// A policy for `user` with `password`.
        public init(user: String, password: String, expiresIn: Int = 300, anonymousPull: Bool = false) {
            self.user = user
            self.password = password
            self.expiresIn = expiresIn
            self.anonymousPull = anonymousPull
        }
    }

    /// One request the issuer answered.
    public struct Request: Sendable, Hashable, Decodable {
        /// `GET` or `POST`.
        public let method: String
        /// The `scope` parameters as sent (a POST's is space-separated).
        public let scopes: [String]
        /// The `service` parameter.
        public let service: String
        /// The `grant_type` of a POST; nil for a GET.
        public let grantType: String?
        /// Who got the token: the user, nil when anonymous or refused.
        public let user: String?
        /// The status answered: 200, 401, 400, 404.
        public let status: Int

        enum CodingKeys: String, CodingKey {
            case method, scopes, service, user, status
            case grantType = "grant_type"
        }
    }

    /// `http://127.0.0.1:PORT/token`: the registry's `auth.token.realm`.
    public let realm: String
    /// The `aud` of its tokens: the registry's `auth.token.service`.
    public let service = "kiln-test-registry"
    /// The `iss` of its tokens: the registry's `auth.token.issuer`.
    public let issuer = "kiln-test-token-issuer"
    /// The PEM CA certificate the registry trusts tokens by (`rootcertbundle`).
    public let rootCertificateBundle: String
    /// Who gets a token, and for how long.
    public let policy: Policy

    private let server: PythonServer
    private let logPath: String
    private let stopped = StopFlag()

    /// Makes the signing CA and key in `directory` and starts the issuer.
    /// - Throws: ``TestSupportError`` when `openssl` fails or the server
    ///   does not start.
    public init(policy: Policy, in directory: String) throws {
        self.policy = policy
        let authority = try TestCertificateAuthority(name: "token", in: directory)
        let signer = try authority.issue("token-signer", rsa: true)
        rootCertificateBundle = authority.certificate
        logPath = directory + "/token-requests.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let configuration: [String: Any] = [
            "user": policy.user, "password": policy.password, "expiresIn": policy.expiresIn,
            "anonymousPull": policy.anonymousPull, "issuer": issuer, "service": service,
            "key": signer.key, "chain": [signer.certificate], "log": logPath,
        ]
        let configurationPath = directory + "/token-issuer.json"
        try Files.write(Array(try JSONSerialization.data(withJSONObject: configuration)), to: configurationPath, mode: 0o600)
        server = try PythonServer(["-c", Self.script, configurationPath])
        guard let port = Int(server.firstLine.trimmingCharacters(in: .whitespaces)) else {
            server.stop()
            throw TestSupportError("the token issuer did not start: \(server.firstLine)")
        }
        realm = "http://127.0.0.1:\(port)/token"
    }

    /// Every request answered so far, in order.
    public func requests() -> [Request] {
        let text = (try? Files.text(logPath)) ?? ""
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    deinit { stop() }

    /// Stops the server. Safe to call twice.
    public func stop() {
        if stopped.claim() { server.stop() }
    }

    static let script = #"""
    import base64, json, subprocess, sys, threading, time, urllib.parse, uuid
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    config = json.load(open(sys.argv[1]))
    lock = threading.Lock()
    refresh_tokens = {}

    def b64url(data):
        return base64.urlsafe_b64encode(data).rstrip(b'=').decode()

    def der(path):
        text = open(path).read()
        return ''.join(text.split('-----BEGIN CERTIFICATE-----')[1].split('-----END CERTIFICATE-----')[0].split())

    CHAIN = [der(path) for path in config['chain']]
    # distribution 2.8 accepts a token until 60 s after its exp (clock skew).
    LEEWAY = 60

    def scopes(texts):
        result = []
        for text in texts:
            for scope in text.split():
                head, _, actions = scope.rpartition(':')
                kind, _, name = head.partition(':')
                if kind and name:
                    result.append((kind, name, [a for a in actions.split(',') if a]))
        return result

    def grant(user, requested):
        access = []
        for kind, name, actions in requested:
            allowed = {'pull', 'push', 'delete', '*'} if user else {'pull'}
            if kind != 'repository' and not user:
                allowed = set()
            granted = [a for a in actions if a in allowed]
            if granted:
                access.append({'type': kind, 'name': name, 'actions': granted})
        return access

    def token(user, requested):
        now = int(time.time())
        header = {'typ': 'JWT', 'alg': 'RS256', 'x5c': CHAIN}
        claims = {'iss': config['issuer'], 'sub': user or '', 'aud': config['service'],
                  'exp': now + config['expiresIn'] - LEEWAY, 'nbf': now - 1, 'iat': now,
                  'jti': uuid.uuid4().hex, 'access': grant(user, requested)}
        signing_input = b64url(json.dumps(header).encode()) + '.' + b64url(json.dumps(claims).encode())
        signature = subprocess.run(['openssl', 'dgst', '-sha256', '-sign', config['key']],
                                   input=signing_input.encode(), capture_output=True, check=True).stdout
        return signing_input + '.' + b64url(signature), now

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def answer(self, status, body, log):
            # Logged first: a client that has its answer finds it counted.
            log['status'] = status
            with lock, open(config['log'], 'a') as file:
                file.write(json.dumps(log) + '\n')
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(data)))
            if status == 401:
                self.send_header('WWW-Authenticate', 'Basic realm="kiln test token issuer"')
            self.end_headers()
            self.wfile.write(data)

        def basic_user(self):
            header = self.headers.get('Authorization', '')
            if not header.startswith('Basic '):
                return None, False
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(':')
            except Exception:
                return None, True
            return (user, False) if (user, password) == (config['user'], config['password']) else (None, True)

        def issue(self, user, requested, offline, log):
            if user is None and not config['anonymousPull']:
                return self.answer(401, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'credentials required'}]}, log)
            signed, now = token(user, requested)
            body = {'token': signed, 'access_token': signed, 'expires_in': config['expiresIn'],
                    'issued_at': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(now))}
            if offline and user:
                refresh = uuid.uuid4().hex
                with lock:
                    refresh_tokens[refresh] = user
                body['refresh_token'] = refresh
            log['user'] = user
            self.answer(200, body, log)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            requested = scopes(query.get('scope', []))
            log = {'method': 'GET', 'scopes': query.get('scope', []), 'service': query.get('service', [''])[0]}
            if url.path != '/token':
                return self.answer(404, {'errors': []}, log)
            user, rejected = self.basic_user()
            if rejected:
                return self.answer(401, {'errors': [{'code': 'UNAUTHORIZED', 'message': 'wrong credentials'}]}, log)
            self.issue(user, requested, query.get('offline_token', [''])[0] == 'true', log)

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get('Content-Length', '0'))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            field = lambda name: form.get(name, [''])[0]
            requested = scopes(form.get('scope', []))
            log = {'method': 'POST', 'scopes': form.get('scope', []), 'service': field('service'), 'grant_type': field('grant_type')}
            if url.path != '/token':
                return self.answer(404, {'errors': []}, log)
            if field('grant_type') == 'password':
                if (field('username'), field('password')) != (config['user'], config['password']):
                    return self.answer(401, {'error': 'invalid_grant'}, log)
                return self.issue(config['user'], requested, field('access_type') == 'offline', log)
            if field('grant_type') == 'refresh_token':
                with lock:
                    user = refresh_tokens.get(field('refresh_token'))
                if user is None:
                    return self.answer(401, {'error': 'invalid_grant'}, log)
                return self.issue(user, requested, True, log)
            self.answer(400, {'error': 'unsupported_grant_type'}, log)

        def log_message(self, *arguments):
            pass

    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """#
}
