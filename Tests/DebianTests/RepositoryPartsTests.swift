import Foundation
import KilnCore
import Plan
import Testing
import TestSupport
@testable import Debian

@Suite struct RepositoryPartsTests {
    @Test func releaseFile() throws {
        let text = """
        Origin: Debian
        Architectures: all amd64 arm64
        Components: main contrib
        Acquire-By-Hash: yes
        No-Support-for-Architecture-all: Packages
        MD5Sum:
         0123 1 ignored
        SHA256:
         \(String(repeating: "A", count: 64)) 1234 main/binary-amd64/Packages.xz
         \(String(repeating: "b", count: 64)) 0 main/binary-amd64/Packages

        """
        let release = try ReleaseFile(text: text, url: "u")
        #expect(release.architectures == ["all", "amd64", "arm64"])
        #expect(release.components == ["main", "contrib"])
        #expect(release.acquireByHash)
        #expect(release.architectureAllInEveryIndex)
        #expect(release.files["main/binary-amd64/Packages.xz"] == .init(sha256: String(repeating: "a", count: 64), size: 1234))
        #expect(release.files.count == 2)
    }

    @Test(arguments: [
        ("", "u: the Release file is empty"),
        ("Origin: x\n", "u: no SHA256 field (kiln checks indexes by SHA-256 only)"),
        ("SHA256:\n abc 12 x\n", "u: malformed SHA256 line \"abc 12 x\""),
        ("# comment\n", "u: line 1: expected \"Name: value\", found \"# comment\""),
    ])
    func releaseErrors(text: String, message: String) {
        #expect { try ReleaseFile(text: text, url: "u") } throws: { ($0 as? RepositoryError)?.description == message }
    }

    @Test func clearsignedTextUndoesDashEscaping() {
        let message = "junk before\n-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n- -----not a header\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\nSHA256: injected\n"
        #expect(Armor.clearsignedText(message) == "Origin: x\n-----not a header\n")
        #expect(Armor.clearsignedText("Origin: x\n") == nil)
    }

    @Test func armorDecodes() {
        // "hello" in base64, with a header line and a checksum line.
        let armored = "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test\n\naGVs\nbG8=\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"
        #expect(Armor.decode(armored) == Array("hello".utf8))
        #expect(Armor.isArmored(Array("\n-----BEGIN PGP PUBLIC KEY BLOCK-----".utf8)))
        #expect(!Armor.isArmored([0x99, 0x01]))
        #expect(Armor.decode("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\naGVs\n") == nil)
    }

    @Test(arguments: [(0, "0 B"), (999, "999 B"), (1500, "1.5 kB"), (158_128, "158.1 kB"), (2_500_000, "2.5 MB"), (8_951_296, "9.0 MB")])
    func sizes(bytes: Int64, text: String) {
        #expect(DownloadProgress.size(bytes) == text)
    }

    @Test(arguments: [
        (Platform(os: "linux", architecture: "amd64"), "amd64"), (Platform(os: "linux", architecture: "arm64", variant: "v8"), "arm64"),
        (Platform(os: "linux", architecture: "arm", variant: "v7"), "armhf"), (Platform(os: "linux", architecture: "arm", variant: "v6"), "armel"),
        (Platform(os: "linux", architecture: "386"), "i386"), (Platform(os: "linux", architecture: "ppc64le"), "ppc64el"),
        (Platform(os: "linux", architecture: "s390x"), "s390x"), (Platform(os: "linux", architecture: "riscv64"), "riscv64"),
    ])
    func architectures(platform: Platform, name: String) throws {
        #expect(try DebianArchitecture.name(for: platform) == name)
    }

    @Test func unsupportedPlatform() {
        #expect { try DebianArchitecture.name(for: Platform(os: "windows", architecture: "amd64")) } throws: {
            ($0 as? UnsupportedPlatform)?.description == "platform windows/amd64 has no Debian architecture (kiln knows linux/amd64, arm64, arm/v5-v7, 386, ppc64le, mips64le, s390x, riscv64)"
        }
    }

    @Test func unsupportedScheme() async throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-fetch")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let fetcher = Fetcher(cacheDirectory: directory, log: { _ in })
        await #expect {
            try await fetcher.fetch("ftp://x.invalid/a", to: directory + "/a")
        } throws: { ($0 as? RepositoryError)?.description == "ftp://x.invalid/a: unsupported URI scheme (kiln fetches http://, https:// and file://)" }
    }

    /// A loopback port nothing listens on: every attempt is refused, and
    /// the error says how often it was tried.
    @Test(.requires(.tools("python3")))
    func connectionRefusedAfterRetries() async throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-fetch")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        // The port stays bound (and never listens) while the test runs, so
        // connections are refused and no other test's server can take it.
        let holder = try PythonServer(["-c", "import socket, time; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1], flush=True); time.sleep(600)"])
        defer { holder.stop() }
        let port = holder.firstLine.trimmingCharacters(in: .whitespacesAndNewlines)
        let fetcher = Fetcher(cacheDirectory: directory, log: { _ in }, attempts: 2, backoff: 0.01)
        let url = "http://127.0.0.1:\(port)/x"
        await #expect {
            try await fetcher.verifiedFile(url: url, sha256: String(repeating: "0", count: 64), size: 1)
        } throws: { ($0 as? RepositoryError)?.description == "GET \(url): cannot connect to the host (after 2 attempts)" }
    }

    /// A server that answers 503 to everything: retried, then reported with
    /// the status.
    @Test(.requires(.tools("python3")))
    func serverErrorsAreRetriedThenReported() async throws {
        let temporaryDirectory = try TemporaryDirectory(prefix: "kiln-fetch")
        defer { temporaryDirectory.remove() }
        let directory = temporaryDirectory.path
        let server = try HTTPServer(script: """
        import http.server, sys
        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(503); self.end_headers()
            def log_message(self, *a): pass
        s = http.server.HTTPServer(('127.0.0.1', 0), H)
        print('Serving HTTP on 127.0.0.1 port %d (x) ...' % s.server_address[1], flush=True)
        s.serve_forever()
        """)
        defer { server.stop() }
        let fetcher = Fetcher(cacheDirectory: directory, log: { _ in }, attempts: 3, backoff: 0.01)
        await #expect {
            try await fetcher.verifiedFile(url: server.url + "/x.deb", sha256: String(repeating: "0", count: 64), size: 1)
        } throws: { ($0 as? RepositoryError)?.description == "GET \(server.url)/x.deb: HTTP 503" }
    }
}
