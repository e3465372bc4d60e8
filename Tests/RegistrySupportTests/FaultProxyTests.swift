import Foundation
import Testing
import TestSupport

/// `FaultProxy` in front of a real registry: each fault is seen by a plain
/// Python `http.client` client exactly once (the rule's count), and the
/// next request passes through untouched; uploads and Range requests pass
/// through as they are.
@Suite struct FaultProxyTests {
    /// A registry holding one 100,000-byte blob in x/y, uploaded through
    /// the proxy (``upload()``), and the tiny image for skopeo.
    struct Fixture {
        let base: RegistryFixture
        let proxy: FaultProxy
        let blob: String
        let digest: String
        var registry: RegistryServer { base.registry }
        var blobPath: String { "/v2/x/y/blobs/\(digest)" }

        init() throws {
            base = try RegistryFixture()
            proxy = try FaultProxy(in: base.registry)
            var random = SplitMix64(seed: 42)
            let bytes = random.bytes(100_000)
            blob = try base.work.write("blob", bytes: bytes)
            digest = try Tools.sha256(bytes)
        }

        func stop() {
            proxy.stop()
            base.stop()
        }

        /// Uploads the blob through the proxy: POST, a chunked PATCH, PUT.
        func upload() throws -> [Outcome] {
            try send([
                Step("POST", "/v2/x/y/blobs/uploads/"),
                Step("PATCH", "{location}", bodyFile: blob, chunked: true),
                Step("PUT", "{location}&digest=\(digest)"),
            ])
        }

        /// Sends `steps` to the proxy, one connection each, in order.
        func send(_ steps: [Step]) throws -> [Outcome] {
            let encoded = String(decoding: try JSONEncoder().encode(steps), as: UTF8.self)
            let output = try Tools.python(FaultProxyTests.client, [String(proxy.port), encoded])
            return try JSONDecoder().decode([Outcome].self, from: Data(output))
        }
    }

    /// One request of the test client.
    struct Step: Encodable {
        let method: String
        /// `{location}` stands for the previous answer's `Location` (path and query).
        let path: String
        var headers: [String: String] = [:]
        var bodyFile: String?
        var chunked = false

        init(_ method: String, _ path: String, headers: [String: String] = [:], bodyFile: String? = nil, chunked: Bool = false) {
            self.method = method
            self.path = path
            self.headers = headers
            self.bodyFile = bodyFile
            self.chunked = chunked
        }
    }

    /// What the client saw: an answer, or the exception that ended it.
    struct Outcome: Decodable {
        let status: Int?
        let headers: [String: String]?
        let length: Int?
        let sha256: String?
        let head: String?
        let validJSON: Bool?
        let seconds: Double
        let error: String?
    }

    /// The test client: Python's `http.client`, reading bodies in pieces.
    static let client = #"""
    import hashlib, http.client, json, sys, time
    port, steps = int(sys.argv[1]), json.loads(sys.argv[2])
    results, location = [], ''
    def pieces(path):
        with open(path, 'rb') as file:
            while True:
                data = file.read(30000)
                if not data:
                    return
                yield data
    for step in steps:
        started = time.monotonic()
        path = step['path'].replace('{location}', location)
        body = None
        if step.get('bodyFile'):
            body = pieces(step['bodyFile']) if step['chunked'] else open(step['bodyFile'], 'rb').read()
        try:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
            c.request(step['method'], path, body=body, headers=step['headers'])
            r = c.getresponse()
            digest, length, kept = hashlib.sha256(), 0, b''
            while True:
                data = r.read(65536)
                if not data:
                    break
                digest.update(data)
                length += len(data)
                if len(kept) < 1000000:
                    kept += data
            valid = None
            if length < 1000000:
                try:
                    json.loads(kept); valid = True
                except ValueError:
                    valid = False
            headers = {k.lower(): v for k, v in r.getheaders()}
            location = headers.get('location', '').split('127.0.0.1:%d' % port, 1)[-1]
            results.append({'status': r.status, 'headers': headers, 'length': length, 'validJSON': valid,
                            'sha256': 'sha256:' + digest.hexdigest(), 'head': kept[:100].decode('utf-8', 'replace'),
                            'seconds': time.monotonic() - started})
        except Exception as error:
            results.append({'error': type(error).__name__, 'seconds': time.monotonic() - started})
    print(json.dumps(results))
    """#

    /// Uploads the blob, injects `fault` for one blob GET, and GETs twice.
    func faultedThenPassed(_ fault: FaultProxy.Fault) throws -> (Fixture, Outcome, Outcome) {
        let fixture = try Fixture()
        let upload = try fixture.upload()
        try #require(upload.last?.status == 201, "upload: \(upload)")
        try fixture.proxy.inject([FaultProxy.Rule("GET", "/blobs/sha256:", fault)])
        let outcomes = try fixture.send([Step("GET", fixture.blobPath), Step("GET", fixture.blobPath)])
        try #require(outcomes.count == 2)
        #expect(outcomes[1].status == 200 && outcomes[1].sha256 == fixture.digest, "the fault fired once only")
        #expect(fixture.proxy.hits(method: "GET", pathContains: "/blobs/", fault: fault.name) == 1)
        #expect(fixture.proxy.hits(method: "GET", pathContains: "/blobs/", fault: "pass") == 1)
        return (fixture, outcomes[0], outcomes[1])
    }

    static let tools = RegistryServerTests.tools

    @Test(.requires(tools))
    func uploadsRangesAndHeadsPassThrough() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let upload = try fixture.upload()
        #expect(upload.map(\.status) == [202, 202, 201], "\(upload)")
        // The registry's Location names the proxy, so the upload stays on it.
        #expect(upload[0].headers?["location"]?.hasPrefix(fixture.proxy.url + "/v2/x/y/blobs/uploads/") == true)
        #expect(upload[1].headers?["range"] == "0-99999")
        #expect(fixture.registry.requests(method: "PATCH", pathContains: "/v2/x/y/blobs/uploads/") == 1)

        let reads = try fixture.send([
            Step("GET", fixture.blobPath),
            Step("GET", fixture.blobPath, headers: ["Range": "bytes=10-19"]),
            Step("HEAD", fixture.blobPath),
        ])
        #expect(reads[0].status == 200 && reads[0].sha256 == fixture.digest)
        #expect(reads[1].status == 206 && reads[1].length == 10)
        #expect(reads[1].headers?["content-range"] == "bytes 10-19/100000")
        #expect(reads[2].status == 200 && reads[2].length == 0 && reads[2].headers?["content-length"] == "100000")
        #expect(fixture.proxy.hits() == 6 && fixture.proxy.hits(fault: "pass") == 6)
    }

    @Test(.requires(tools))
    func skopeoPushesThroughTheProxy() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        let push = try fixture.base.push(["--dest-tls-verify=false"], to: fixture.proxy.host)
        #expect(push.succeeded, "\(push.stderr)")
        #expect(fixture.proxy.hits(method: "PUT", pathContains: "/v2/x/y/manifests/t") == 1)
        #expect(fixture.registry.requests(method: "PUT", pathContains: "/v2/x/y/manifests/t") == 1)
        // Every request went through the proxy, but the start's GET /v2/.
        #expect(fixture.proxy.hits() == fixture.registry.requests() - 1)
    }

    @Test(.requires(tools))
    func dropAfterResetsTheConnectionMidBody() throws {
        let (fixture, first, _) = try faultedThenPassed(.dropAfter(bytes: 1000))
        defer { fixture.stop() }
        #expect(first.error == "ConnectionResetError", "\(first)")
    }

    @Test(.requires(tools))
    func truncateSendsAShortBody() throws {
        let (fixture, first, _) = try faultedThenPassed(.truncate(bytes: 1000))
        defer { fixture.stop() }
        // http.client's read(n) returns what came and then b'': the short
        // length against Content-Length is what a client must notice.
        #expect(first.status == 200 && first.error == nil)
        #expect(first.length == 1000 && first.headers?["content-length"] == "100000", "\(first)")
    }

    @Test(.requires(tools))
    func corruptFlipsAByte() throws {
        let (fixture, first, _) = try faultedThenPassed(.corrupt)
        defer { fixture.stop() }
        #expect(first.status == 200 && first.length == 100_000)
        #expect(first.headers?["docker-content-digest"] == fixture.digest)
        #expect(first.sha256 != fixture.digest)
    }

    @Test(.requires(tools))
    func status429CarriesRetryAfter() throws {
        let (fixture, first, _) = try faultedThenPassed(.status(429, retryAfter: 1))
        defer { fixture.stop() }
        #expect(first.status == 429)
        #expect(first.headers?["retry-after"] == "1")
        #expect(first.head?.contains("TOOMANYREQUESTS") == true)
    }

    @Test(.requires(tools))
    func status503FiresCountTimes() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        _ = try fixture.upload()
        try fixture.proxy.inject([
            FaultProxy.Rule("PUT", "/blobs/", .status(500)),
            FaultProxy.Rule("GET", "/blobs/sha256:", .status(503), count: 2),
        ])
        let outcomes = try fixture.send(Array(repeating: Step("GET", fixture.blobPath), count: 3))
        #expect(outcomes.map(\.status) == [503, 503, 200])
        #expect(outcomes[0].headers?["retry-after"] == nil)
        #expect(outcomes[0].head?.contains("UNAVAILABLE") == true)
        #expect(fixture.proxy.hits(fault: "status") == 2)
        // A new inject starts the counts afresh.
        try fixture.proxy.inject([FaultProxy.Rule(nil, "/blobs/", .status(503))])
        #expect(try fixture.send([Step("GET", fixture.blobPath)]).map(\.status) == [503])
        try fixture.proxy.inject([])
        #expect(try fixture.send([Step("GET", fixture.blobPath)]).map(\.status) == [200])
    }

    @Test(.requires(tools))
    func htmlAnswersAPage() throws {
        let (fixture, first, _) = try faultedThenPassed(.html)
        defer { fixture.stop() }
        #expect(first.status == 200)
        #expect(first.headers?["content-type"]?.hasPrefix("text/html") == true)
        #expect(first.head?.hasPrefix("<!DOCTYPE html>") == true)
    }

    @Test(.requires(tools))
    func hugeJSONStreamsAHundredMegabytes() throws {
        let (fixture, first, _) = try faultedThenPassed(.hugeJSON())
        defer { fixture.stop() }
        #expect(first.status == 200 && first.length == 100_000_000)
        #expect(first.headers?["content-length"] == "100000000")
        #expect(first.headers?["content-type"] == "application/vnd.oci.image.manifest.v1+json")
        #expect(first.head?.hasPrefix(#"{"schemaVersion":2,"#) == true)
    }

    @Test(.requires(tools))
    func hugeJSONChunkedIsValidJSONOfTheSize() throws {
        let (fixture, first, _) = try faultedThenPassed(.hugeJSON(bytes: 100_000, chunked: true))
        defer { fixture.stop() }
        #expect(first.status == 200 && first.length == 100_000 && first.validJSON == true)
        #expect(first.headers?["transfer-encoding"] == "chunked" && first.headers?["content-length"] == nil)
    }

    @Test(.requires(tools))
    func delayWaitsThenPasses() throws {
        let (fixture, first, second) = try faultedThenPassed(.delay(seconds: 0.6))
        defer { fixture.stop() }
        #expect(first.status == 200 && first.sha256 == fixture.digest)
        #expect(first.seconds >= 0.6 && second.seconds < 0.6)
    }

    @Test(.requires(tools))
    func dropUploadAfterResetsMidUploadAndTheRetryPasses() throws {
        let fixture = try Fixture()
        defer { fixture.stop() }
        try fixture.proxy.inject([FaultProxy.Rule("PATCH", "/blobs/uploads/", .dropUploadAfter(bytes: 1000))])
        let outcomes = try fixture.send([
            Step("POST", "/v2/x/y/blobs/uploads/"),
            Step("PATCH", "{location}", bodyFile: fixture.blob),
        ])
        #expect(outcomes[1].error == "ConnectionResetError" || outcomes[1].error == "BrokenPipeError", "\(outcomes)")
        #expect(fixture.registry.requests(method: "PATCH") == 0)
        let upload = try fixture.upload()
        #expect(upload.map(\.status) == [202, 202, 201], "\(upload)")
        #expect(fixture.proxy.hits(method: "PATCH", fault: "dropUploadAfter") == 1)
    }
}
