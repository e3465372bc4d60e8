import Foundation
import Glibc

/// A real OCI registry for the tests: Debian's `docker-registry`
/// (distribution 2.8) serving a config file of its own on a free
/// 127.0.0.1 port, with filesystem storage in a temporary directory,
/// deletes enabled, and its access log kept so a test can count requests.
///
/// Debian's default `/etc/docker/registry/config.yml` is never used: it
/// turns on authentication and listens on every address.
///
/// ```swift
/// let registry = try RegistryServer(mode: .basic(user: "kiln", password: "secret"))
/// defer { registry.stop() }
/// // push to "\(registry.host)/x/y:t" …
/// #expect(registry.requests(method: "PUT", pathContains: "/v2/x/y/blobs/uploads/") == 1)
/// ```
///
/// Tests using it are gated with `.requires(.tools("docker-registry", "openssl"))`
/// (`openssl` for the TLS and token modes).
public final class RegistryServer: @unchecked Sendable {
    /// How the registry is reached and who it lets in.
    public enum Mode: Sendable, Hashable {
        /// Plain HTTP, anyone may pull and push.
        case plain
        /// HTTPS with a certificate for `127.0.0.1` and `localhost` signed by
        /// a test CA (``caCertificatePath``, ``certDirectory``); anyone may
        /// pull and push.
        case tls
        /// Plain HTTP; every request needs HTTP Basic `user:password` (401
        /// with `WWW-Authenticate: Basic` otherwise).
        case basic(user: String, password: String)
        /// ``tls`` and ``basic(user:password:)`` together.
        case basicTLS(user: String, password: String)
        /// Plain HTTP; every request needs a bearer token from a
        /// ``TokenIssuer`` started with the registry (``tokenIssuer``), which
        /// gives `user:password` what it asks for, an anonymous client `pull`
        /// only when `anonymousPull` is set, and tokens the registry refuses
        /// `expiresIn` seconds after they were issued.
        case token(user: String, password: String, expiresIn: Int = 300, anonymousPull: Bool = false)
        /// ``tls`` and ``token(user:password:expiresIn:anonymousPull:)``
        /// together (the issuer itself stays plain HTTP).
        case tokenTLS(user: String, password: String, expiresIn: Int = 300, anonymousPull: Bool = false)

        var usesTLS: Bool {
            switch self {
            case .plain, .basic, .token: false
            case .tls, .basicTLS, .tokenTLS: true
            }
        }
    }

    /// The mode it was started in.
    public let mode: Mode
    /// `127.0.0.1:PORT`: the registry part of an image reference.
    public let host: String
    /// The port it listens on.
    public let port: Int
    /// `http://127.0.0.1:PORT`, or `https://…` in the TLS modes.
    public let url: String
    /// In the TLS modes, the PEM certificate of the CA that signed the
    /// registry's certificate: what a client must trust.
    public let caCertificatePath: String?
    /// In the TLS modes, a directory holding only `ca.crt` (the same CA), in
    /// the layout of `skopeo --cert-dir` and `/etc/containers/certs.d/HOST/`.
    public let certDirectory: String?
    /// Where the registry stores blobs and manifests
    /// (`docker/registry/v2/…` below it).
    public let storagePath: String
    /// The access log: one Apache combined-format line a request, written by
    /// the registry as each response completes (see ``accessLog()``).
    public let accessLogPath: String
    /// The registry's own log (level info): why it refused something.
    public let logPath: String
    /// In the token modes, the issuer the registry sends clients to (its
    /// `WWW-Authenticate: Bearer realm=…`).
    public let tokenIssuer: TokenIssuer?

    private let directory: TemporaryDirectory
    private let process: Process
    private let stopped = StopFlag()

    /// Starts the registry and waits (10 s at most) until `GET /v2/` answers
    /// 200, or 401 in the modes with authentication.
    /// - Throws: ``TestSupportError`` with the registry's log when it does
    ///   not start or does not answer.
    public init(mode: Mode = .plain) throws {
        self.mode = mode
        directory = try TemporaryDirectory(prefix: "kiln-registry")
        storagePath = try directory.directory("storage")
        accessLogPath = directory.path("access.log")
        logPath = directory.path("registry.log")

        var tlsSection = ""
        if mode.usesTLS {
            let authority = try TestCertificateAuthority(name: "registry", in: try directory.directory("tls", mode: 0o700))
            let server = try authority.issue("registry", subjectAltNames: ["IP:127.0.0.1", "DNS:localhost"])
            let certs = try directory.directory("certs.d")
            try FileManager.default.copyItem(atPath: authority.certificate, toPath: certs + "/ca.crt")
            caCertificatePath = authority.certificate
            certDirectory = certs
            tlsSection = """
              tls:
                certificate: \(Self.quoted(server.certificate))
                key: \(Self.quoted(server.key))

            """
        } else {
            caCertificatePath = nil
            certDirectory = nil
        }

        var authSection = ""
        var tokenIssuer: TokenIssuer?
        switch mode {
        case .plain, .tls:
            break
        case .token(let user, let password, let expiresIn, let anonymousPull),
             .tokenTLS(let user, let password, let expiresIn, let anonymousPull):
            let policy = TokenIssuer.Policy(user: user, password: password, expiresIn: expiresIn, anonymousPull: anonymousPull)
            let issuer = try TokenIssuer(policy: policy, in: try directory.directory("token", mode: 0o700))
            tokenIssuer = issuer
            authSection = """
            auth:
              token:
                realm: \(Self.quoted(issuer.realm))
                service: \(Self.quoted(issuer.service))
                issuer: \(Self.quoted(issuer.issuer))
                rootcertbundle: \(Self.quoted(issuer.rootCertificateBundle))

            """
        case .basic(let user, let password), .basicTLS(let user, let password):
            let file = try directory.write("htpasswd", "\(user):\(try Bcrypt.hash(password))\n", mode: 0o600)
            authSection = """
            auth:
              htpasswd:
                realm: kiln-test-registry
                path: \(Self.quoted(file))

            """
        }
        self.tokenIssuer = tokenIssuer

        // The port is free when chosen but may be taken before the registry
        // binds it: then try another.
        var attempt = 0
        while true {
            attempt += 1
            let port = try Loopback.freePort()
            try directory.write("config.yml", Self.configuration(
                port: port, storage: storagePath, tls: tlsSection, auth: authSection))
            let process = try Self.launch(config: directory.path("config.yml"), accessLog: accessLogPath, log: logPath)
            // Its own word that it listens, not a connect: another server
            // may hold the port this one failed to bind.
            let logPath = logPath
            let listening = Loopback.wait(seconds: 10) {
                !process.isRunning || ((try? Files.text(logPath)) ?? "").contains("listening on 127.0.0.1:\(port)")
            }
            if listening && process.isRunning {
                self.process = process
                self.port = port
                break
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let log = (try? Files.text(logPath)) ?? ""
            if attempt < 3 && log.contains("address already in use") { continue }
            tokenIssuer?.stop()
            directory.remove()
            throw TestSupportError("docker-registry did not start on 127.0.0.1:\(port):\n\(log)")
        }
        host = "127.0.0.1:\(port)"
        url = (mode.usesTLS ? "https://" : "http://") + host
        try checkAnswers()
    }

    deinit { stop() }

    /// Kills the registry (SIGKILL: its state is thrown away anyway) and
    /// removes its directory: storage, logs, certificates. Safe to call twice.
    public func stop() {
        guard stopped.claim() else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        tokenIssuer?.stop()
        directory.remove()
    }

    /// How many requests the token issuer has answered (0 outside the
    /// token modes); ``TokenIssuer/requests()`` tells what each asked.
    public func tokenRequests() -> Int {
        tokenIssuer?.requests().count ?? 0
    }

    /// The requests the registry has answered so far, in order, from its
    /// access log. The registry writes a line just after the response's last
    /// byte, so this waits until the log has not grown for 50 ms (a second at
    /// most) before reading it: a client that has just seen its answer finds
    /// its request counted.
    public func accessLog() -> [AccessLogEntry] {
        let logSize = { (try? FileManager.default.attributesOfItem(atPath: self.accessLogPath)[.size] as? Int) ?? 0 }
        var size = logSize()
        _ = Loopback.wait(seconds: 1) {
            usleep(50_000)
            let now = logSize()
            defer { size = now }
            return now == size
        }
        let text = (try? Files.text(accessLogPath)) ?? ""
        return text.split(separator: "\n").compactMap { AccessLogEntry(line: String($0)) }
    }

    /// How many requests with `method` (any when nil) whose path contains
    /// `pathContains` the registry has answered, e.g. `requests(method:
    /// "PATCH", pathContains: "/v2/x/y/blobs/uploads/")`.
    public func requests(method: String? = nil, pathContains: String = "") -> Int {
        accessLog().filter { (method == nil || $0.method == method) && (pathContains.isEmpty || $0.path.contains(pathContains)) }.count
    }

    /// Asks `GET /v2/` with Python's `http.client`, trusting the test CA, so
    /// a registry that listens but cannot answer (a bad certificate, a bad
    /// config) fails here and not in the test.
    private func checkAnswers() throws {
        let probe = """
        import http.client, ssl, sys
        if len(sys.argv) > 2:
            c = http.client.HTTPSConnection('127.0.0.1', int(sys.argv[1]), timeout=10,
                                            context=ssl.create_default_context(cafile=sys.argv[2]))
        else:
            c = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]), timeout=10)
        c.request('GET', '/v2/')
        print(c.getresponse().status)
        """
        let status: String
        do {
            status = String(decoding: try Tools.python(probe, [String(port)] + [caCertificatePath].compactMap { $0 }),
                            as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            stop()
            throw TestSupportError("docker-registry on \(url) does not answer GET /v2/: \(error)")
        }
        guard status == "200" || status == "401" else {
            let log = (try? Files.text(logPath)) ?? ""
            stop()
            throw TestSupportError("docker-registry on \(url) answered GET /v2/ with \(status):\n\(log)")
        }
    }

    private static func launch(config: String, accessLog: String, log: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: accessLog, contents: nil)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Tools.path("docker-registry") ?? "/usr/bin/docker-registry")
        process.arguments = ["serve", config]
        // REGISTRY_* variables override the config file: none may leak in.
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("REGISTRY_") }
        // distribution 2.8 writes the access log to stdout, its own log to stderr.
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: accessLog))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw TestSupportError("cannot start docker-registry: \(error)")
        }
        return process
    }

    /// The whole config: no cache (a delete is seen at once), no upload
    /// purging or storage health checks (no background work during a test).
    private static func configuration(port: Int, storage: String, tls: String, auth: String) -> String {
        """
        version: 0.1
        log:
          level: info
          formatter: text
          accesslog:
            disabled: false
        storage:
          filesystem:
            rootdirectory: \(quoted(storage))
          delete:
            enabled: true
          maintenance:
            uploadpurging:
              enabled: false
        http:
          addr: 127.0.0.1:\(port)
          secret: kiln-test-registry-secret
        \(tls)health:
          storagedriver:
            enabled: false
        \(auth)
        """
    }

    /// `text` as a YAML double-quoted scalar (JSON's string syntax is YAML's).
    static func quoted(_ text: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
        return String(String(decoding: data ?? Data(), as: UTF8.self).dropFirst().dropLast())
    }
}

/// One line of the registry's access log (Apache combined format:
/// `127.0.0.1 - - [date] "PUT /v2/x/y/blobs/uploads/… HTTP/1.1" 201 0 "" "agent"`).
public struct AccessLogEntry: Sendable, Hashable, CustomStringConvertible {
    /// `GET`, `HEAD`, `PUT`, `PATCH`, `POST`, `DELETE`.
    public let method: String
    /// The request target: path and query, as the client sent it.
    public let path: String
    /// The response's status code.
    public let status: Int
    /// The response body's size in bytes, as the registry counted it.
    public let bytes: Int
    /// The client's `User-Agent` (empty when it sent none).
    public let userAgent: String

    /// Parses one access log line; nil for a line of another shape.
    public init?(line: String) {
        let quoted = line.split(separator: "\"", omittingEmptySubsequences: false)
        guard quoted.count >= 7 else { return nil }
        let request = quoted[1].split(separator: " ")
        let numbers = quoted[2].split(separator: " ")
        guard request.count >= 2, numbers.count >= 2, let status = Int(numbers[0]) else { return nil }
        method = String(request[0])
        path = String(request[1])
        self.status = status
        bytes = Int(numbers[1]) ?? 0
        userAgent = String(quoted[5])
    }

    /// `METHOD PATH STATUS`.
    public var description: String { "\(method) \(path) \(status)" }
}
