import Foundation
import KilnHTTP
import Synchronization
import TestSupport
import Testing

/// The transport against real loopback peers (python3's http.server,
/// openssl's certificates).
@Suite(.requires(.tools("python3", "openssl", "sha256sum")))
struct TransportTests {
    /// A read timeout no test reaches: in a full run, other suites' blocking
    /// work can keep this test's task off the cooperative pool for tens of
    /// seconds, and a body nobody reads meanwhile would trip the default
    /// 30 s read timeout. Only the read-timeout test sets its own.
    static let patient = Duration.seconds(600)

    /// Runs `body` with a fresh transport and shuts it down afterwards.
    @discardableResult
    func withTransport<T>(
        _ configuration: AsyncHTTPClientTransport.Configuration = .init(readTimeout: TransportTests.patient),
        _ body: (AsyncHTTPClientTransport) async throws -> T
    ) async throws -> T {
        let transport = try AsyncHTTPClientTransport(configuration: configuration)
        do {
            let result = try await body(transport)
            try await transport.shutdown()
            return result
        } catch {
            try? await transport.shutdown()
            throw error
        }
    }

    static func hex(_ digest: [UInt8]) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    @Test func downloadHashesWhileStreamingAndReportsProgress() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory(prefix: "kiln-http")
        defer { directory.remove() }
        let size = 3_000_000
        let reports = Mutex<[(Int64, Int64)]>([])
        let outcome = try await withTransport { transport in
            await transport.download(URL(string: server.url + "/bytes/\(size)")!, to: directory.path("out")) { received, expected in
                reports.withLock { $0.append((received, expected)) }
            }
        }
        guard case .body(let written, let sha256) = outcome else {
            Issue.record("expected a body, got \(outcome)")
            return
        }
        let expected = try Tools.sha256(file: directory.path("out"))
        #expect(written == Int64(size))
        #expect("sha256:" + Self.hex(sha256) == expected)
        #expect(try Files.bytes(directory.path("out")).count == size)
        let seen = reports.withLock { $0 }
        #expect(seen.count > 1)
        #expect(seen.last?.0 == Int64(size))
        #expect(seen.allSatisfy { $0.1 == Int64(size) })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.0 < $1.0 })
    }

    @Test func otherStatusesAreOutcomesNotErrors() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory(prefix: "kiln-http")
        defer { directory.remove() }
        let outcome = try await withTransport { transport in
            await transport.download(URL(string: server.url + "/nothing")!, to: directory.path("out"))
        }
        guard case .status(404) = outcome else {
            Issue.record("expected 404, got \(outcome)")
            return
        }
        #expect(try Files.bytes(directory.path("out")).isEmpty)
    }

    @Test func connectionRefused() async throws {
        // Bound but not listening: nothing accepts the connection.
        let port = try Tools.run(["python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let error = try await withTransport { transport in
            await #expect(throws: HTTPTransportError.self) {
                try await transport.send(HTTPRequest(url: URL(string: "http://127.0.0.1:\(port)/")!))
            }
        }
        #expect(error == HTTPTransportError(.cannotConnect, "cannot connect to the host"))
    }

    @Test func unwritableTargetFails() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let outcome = try await withTransport { transport in
            await transport.download(URL(string: server.url + "/bytes/1")!, to: "/nonexistent-kiln/out")
        }
        guard case .failed(let error) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        #expect(error == HTTPTransportError(.file, "cannot create /nonexistent-kiln/out: No such file or directory"))
    }

    /// A server that sends part of a body and falls silent fails after the
    /// read timeout, not the request's.
    @Test func silentPeerTimesOut() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory(prefix: "kiln-http")
        defer { directory.remove() }
        let outcome = try await withTransport(.init(readTimeout: .milliseconds(500))) { transport in
            await transport.download(URL(string: server.url + "/stall")!, to: directory.path("out"))
        }
        guard case .failed(let error) = outcome else {
            Issue.record("expected a failure, got \(outcome)")
            return
        }
        // The read timeout's own message: not the request's timeout (30
        // minutes), nor "the connection was lost" when the server gives up.
        // (No wall-clock bound: other suites' blocking work can hold the
        // task's resumption for seconds on a loaded machine.)
        #expect(error == HTTPTransportError(.timedOut, "timed out waiting for the server"))
    }

    /// The request's timeout covers the wait for the head and the body.
    /// (async-http-client cancels through tasks on the cooperative pool,
    /// which other suites' blocking work can delay by seconds; the server
    /// holds the head until the client gives up and drips the body for
    /// minutes, so a late deadline makes the test slow, never wrong.)
    @Test func requestTimeout() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        try await withTransport { transport in
            await #expect(throws: HTTPTransportError(.timedOut, "timed out")) {
                try await transport.send(HTTPRequest(url: URL(string: server.url + "/late")!, timeout: .milliseconds(300)))
            }
            let dripping = try await transport.send(HTTPRequest(url: URL(string: server.url + "/drip")!, timeout: .seconds(1)))
            #expect(dripping.status == 200)
            await #expect(throws: HTTPTransportError(.timedOut, "timed out (the transfer took longer than 1.0 seconds)")) {
                try await dripping.body.collect(upTo: 10_000)
            }
        }
    }

    @Test func uploadsStreamFromAFileAndBytesFromMemory() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory(prefix: "kiln-http")
        defer { directory.remove() }
        let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let file = try directory.write("blob", bytes: content)
        let expected = try Tools.sha256(file: file).dropFirst("sha256:".count)
        try await withTransport { transport in
            let fromFile = try await transport.send(HTTPRequest(
                method: "PUT", url: URL(string: server.url + "/echo")!, headers: ["X-Test": "file"], body: .file(path: file)))
            #expect(fromFile.status == 201)
            #expect(String(decoding: try await fromFile.body.collect(upTo: 1000), as: UTF8.self) == "\(expected) 200000 file")
            let fromMemory = try await transport.send(HTTPRequest(
                method: "POST", url: URL(string: server.url + "/echo")!, headers: ["X-Test": "bytes"], body: .bytes(content)))
            #expect(fromMemory.status == 201)
            #expect(fromMemory.expectedLength == 77)
            #expect(String(decoding: try await fromMemory.body.collect(upTo: 1000), as: UTF8.self) == "\(expected) 200000 bytes")
            await #expect(throws: HTTPTransportError(.file, "\(directory.path("absent")): No such file or directory")) {
                try await transport.send(HTTPRequest(method: "PUT", url: URL(string: server.url + "/echo")!, body: .file(path: directory.path("absent"))))
            }
            let small = try await transport.send(HTTPRequest(url: URL(string: server.url + "/bytes/2000")!))
            await #expect(throws: HTTPTransportError(.tooLarge, "the body is larger than 1000 bytes")) {
                try await small.body.collect(upTo: 1000)
            }
        }
    }

    /// A range of a file goes up as exactly those bytes, read from disk in
    /// chunks; a range past the file's end fails before anything is sent.
    @Test func uploadsAFileRange() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let directory = try TemporaryDirectory(prefix: "kiln-http")
        defer { directory.remove() }
        let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ $0 >> 9) }
        let file = try directory.write("blob", bytes: content)
        let slice = try directory.write("slice", bytes: Array(content[70_001..<170_001]))
        let expected = try Tools.sha256(file: slice).dropFirst("sha256:".count)
        let echo = URL(string: server.url + "/echo")!
        try await withTransport { transport in
            let response = try await transport.send(HTTPRequest(
                method: "PUT", url: echo, headers: ["X-Test": "range"], body: .fileRange(path: file, offset: 70_001, length: 100_000)))
            #expect(String(decoding: try await response.body.collect(upTo: 1000), as: UTF8.self) == "\(expected) 100000 range")
            let empty = try await transport.send(HTTPRequest(
                method: "PUT", url: echo, headers: ["X-Test": "empty"], body: .fileRange(path: file, offset: 200_000, length: 0)))
            #expect(String(decoding: try await empty.body.collect(upTo: 1000), as: UTF8.self)
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 0 empty")
            await #expect(throws: HTTPTransportError(.file, "\(file): bytes 150000 to 200001 are past its end (200000 bytes)")) {
                try await transport.send(HTTPRequest(method: "PUT", url: echo, body: .fileRange(path: file, offset: 150_000, length: 50_001)))
            }
        }
    }

    /// Requests go through the proxy (a `CONNECT` tunnel, as
    /// async-http-client does for every URL) unless no_proxy says
    /// otherwise; the proxy here answers them itself.
    @Test func proxySelection() async throws {
        let server = try LoopbackServer()
        defer { server.stop() }
        let proxy = try ProxySettings.Proxy(parsing: "127.0.0.1:\(server.port)", variable: "http_proxy")
        let target = URL(string: "http://registry.invalid/v2/")!
        try await withTransport(.init(proxy: ProxySettings(http: proxy), readTimeout: Self.patient)) { transport in
            let response = try await transport.send(HTTPRequest(url: target))
            #expect(response.status == 200)
            #expect(String(decoding: try await response.body.collect(upTo: 1000), as: UTF8.self) == "proxied registry.invalid:80 GET /v2/")
        }
        try await withTransport(.init(proxy: ProxySettings(http: proxy, noProxy: ProxySettings.parseNoProxy(".invalid")), readTimeout: Self.patient)) { transport in
            // Direct: the name does not resolve.
            await #expect(throws: HTTPTransportError(.cannotResolve, "cannot resolve the host name")) {
                try await transport.send(HTTPRequest(url: target))
            }
        }
    }

    @Test func extraTrustRootsPerHost() async throws {
        let directory = try TemporaryDirectory(prefix: "kiln-http-tls")
        defer { directory.remove() }
        let certificates = try TestCertificates(in: directory)
        let server = try LoopbackServer(certificate: certificates.serverCertificate, key: certificates.serverKey)
        defer { server.stop() }
        let url = URL(string: server.url + "/bytes/100")!
        // Trusted for this host and port, by a --cert-dir style directory.
        let certDirectory = try directory.directory("certs.d")
        try FileManager.default.copyItem(atPath: certificates.caCertificate, toPath: certDirectory + "/ca.crt")
        try directory.write("certs.d/notes.txt", "not a certificate")
        let files = try TrustRoots.certificateFiles(in: certDirectory)
        #expect(files == [certDirectory + "/ca.crt"])
        for key in ["127.0.0.1:\(server.port)", "127.0.0.1"] {
            try await withTransport(.init(trustRoots: TrustRoots(files: [key: files]), readTimeout: Self.patient)) { transport in
                let response = try await transport.send(HTTPRequest(url: url))
                #expect(response.status == 200, "roots for \(key)")
                #expect(try await response.body.collect(upTo: 1000).count == 100)
            }
        }
        // Not trusted: no extra roots, or roots for another host or port.
        for roots in [TrustRoots(), TrustRoots(files: ["localhost": files]), TrustRoots(files: ["127.0.0.1:1": files])] {
            try await withTransport(.init(trustRoots: roots, readTimeout: Self.patient)) { transport in
                let error = await #expect(throws: HTTPTransportError.self) {
                    try await transport.send(HTTPRequest(url: url))
                }
                #expect(error?.kind == .tls, "\(String(describing: error))")
                #expect(error?.description.hasPrefix("TLS handshake failed: ") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func badTrustRootsAreRefusedUpFront() throws {
        let directory = try TemporaryDirectory(prefix: "kiln-http")
        defer { directory.remove() }
        let empty = try directory.write("empty.crt", "")
        let missing = directory.path("missing.crt")
        for (files, message) in [
            ([empty], "\(empty): not a PEM certificate file"),
            ([missing], "\(missing): cannot read the certificate file"),
            ([], ": no certificate in the trust roots for registry.example"),
        ] {
            #expect(throws: HTTPTransportError(.invalidRequest, message)) {
                try AsyncHTTPClientTransport(configuration: .init(trustRoots: TrustRoots(files: ["registry.example": files])))
            }
        }
        #expect(throws: HTTPTransportError(.file, "\(directory.path("nodir")): cannot list the certificate directory")) {
            try TrustRoots.certificateFiles(in: directory.path("nodir"))
        }
    }

    @Test func shutdown() async throws {
        let transport = try AsyncHTTPClientTransport(configuration: .init())
        try await transport.shutdown()
        await #expect(throws: HTTPTransportError(.shutDown, "the HTTP transport was shut down")) {
            try await transport.send(HTTPRequest(url: URL(string: "http://127.0.0.1:1/")!))
        }
        await #expect(throws: HTTPTransportError(.invalidRequest, "the shared HTTP transport cannot be shut down")) {
            try await AsyncHTTPClientTransport.shared.shutdown()
        }
        await #expect(throws: HTTPTransportError(.invalidRequest, "ftp://127.0.0.1/x: not an http:// or https:// URL")) {
            try await AsyncHTTPClientTransport.shared.send(HTTPRequest(url: URL(string: "ftp://127.0.0.1/x")!))
        }
    }
}
