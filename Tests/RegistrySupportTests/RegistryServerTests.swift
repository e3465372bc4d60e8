import Foundation
import Testing
import TestSupport

/// `RegistryServer` is a real registry in each mode: skopeo pushes to it and
/// reads back what it pushed where it should, and is refused where it
/// should; the access log counts the requests.
@Suite struct RegistryServerTests {
    static let tools = Requirement.tools("docker-registry", "skopeo", "openssl")

    @Test(.requires(tools))
    func aPlainRegistryTakesAPushServesItBackAndCountsTheRequests() throws {
        let fixture = try RegistryFixture()
        defer { fixture.stop() }
        let registry = fixture.registry, image = fixture.image
        #expect(registry.url == "http://\(registry.host)")
        #expect(registry.caCertificatePath == nil && registry.certDirectory == nil && registry.tokenIssuer == nil)

        try fixture.expectRoundTrip(push: ["--dest-tls-verify=false"], inspect: ["--tls-verify=false"])

        // One upload a blob (the layer, the config), one manifest PUT.
        #expect(registry.requests(method: "POST", pathContains: "/v2/x/y/blobs/uploads/") == 2)
        #expect(registry.requests(method: "PUT", pathContains: "/v2/x/y/blobs/uploads/") == 2)
        #expect(registry.requests(method: "PUT", pathContains: "/v2/x/y/manifests/t") == 1)
        #expect(registry.requests() == registry.accessLog().count)
        let manifestPut = registry.accessLog().first { $0.method == "PUT" && $0.path.hasSuffix("/manifests/t") }
        #expect(manifestPut?.status == 201)
        #expect(manifestPut?.userAgent.contains("skopeo") == true)
        for blob in image.blobDigests {
            let hex = blob.dropFirst("sha256:".count)
            let stored = registry.storagePath + "/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
            #expect(try Tools.sha256(file: stored) == blob)
        }

        // Deletes are enabled.
        let delete = try fixture.skopeo(["delete", "--tls-verify=false", "docker://\(registry.host)/x/y@\(image.manifestDigest)"])
        #expect(delete.succeeded, "\(delete.stderr)")
        #expect(registry.requests(method: "DELETE", pathContains: "/v2/x/y/manifests/\(image.manifestDigest)") == 1)
    }

    @Test(.requires(tools))
    func aTLSRegistryIsTrustedThroughItsCertDirectoryOnly() throws {
        let fixture = try RegistryFixture(.tls)
        defer { fixture.stop() }
        let registry = fixture.registry
        let certDirectory = try #require(registry.certDirectory)
        #expect(registry.url == "https://\(registry.host)")
        #expect(try Files.entries(certDirectory) == ["ca.crt"])
        #expect(try Files.text(certDirectory + "/ca.crt") == Files.text(try #require(registry.caCertificatePath)))

        let untrusted = try fixture.push([])
        #expect(!untrusted.succeeded)
        #expect(untrusted.stderr.contains("certificate signed by unknown authority"), "\(untrusted.stderr)")
        try fixture.expectRoundTrip(push: ["--dest-cert-dir", certDirectory], inspect: ["--cert-dir", certDirectory])
    }

    @Test(.requires(tools))
    func aBasicRegistryLetsInItsUserOnly() throws {
        let fixture = try RegistryFixture(.basic(user: "kiln", password: "s3cret:with colon"))
        defer { fixture.stop() }
        let registry = fixture.registry

        let anonymous = try fixture.push(["--dest-tls-verify=false"])
        #expect(!anonymous.succeeded)
        #expect(anonymous.stderr.contains("authentication required") || anonymous.stderr.contains("401"), "\(anonymous.stderr)")
        let wrong = try fixture.push(["--dest-tls-verify=false", "--dest-creds", "kiln:guess"])
        #expect(!wrong.succeeded)
        #expect(registry.requests(method: "PUT", pathContains: "/manifests/") == 0)
        #expect(registry.accessLog().allSatisfy { $0.status == 401 })

        try fixture.expectRoundTrip(push: ["--dest-tls-verify=false", "--dest-creds", "kiln:s3cret:with colon"],
                                    inspect: ["--tls-verify=false", "--creds", "kiln:s3cret:with colon"])
        #expect(registry.requests(method: "PUT", pathContains: "/manifests/") == 1)
    }

    @Test(.requires(tools))
    func aBasicTLSRegistryNeedsBothTheCAAndTheUser() throws {
        let fixture = try RegistryFixture(.basicTLS(user: "kiln", password: "pw"))
        defer { fixture.stop() }
        let certDirectory = try #require(fixture.registry.certDirectory)
        #expect(!(try fixture.push(["--dest-cert-dir", certDirectory])).succeeded)
        #expect(!(try fixture.push(["--dest-creds", "kiln:pw"])).succeeded)
        try fixture.expectRoundTrip(push: ["--dest-cert-dir", certDirectory, "--dest-creds", "kiln:pw"],
                                    inspect: ["--cert-dir", certDirectory, "--creds", "kiln:pw"])
    }

    @Test func accessLogLinesParseAndOthersDoNot() throws {
        let line = #"127.0.0.1 - - [06/Dec/2026:14:31:29 +0000] "PATCH /v2/x/y/blobs/uploads/abc?_state=q HTTP/1.1" 202 0 "" "skopeo/1.9""#
        let entry = try #require(AccessLogEntry(line: line))
        #expect(entry.method == "PATCH")
        #expect(entry.path == "/v2/x/y/blobs/uploads/abc?_state=q")
        #expect(entry.status == 202)
        #expect(entry.bytes == 0)
        #expect(entry.userAgent == "skopeo/1.9")
        #expect(entry.description == "PATCH /v2/x/y/blobs/uploads/abc?_state=q 202")
        #expect(AccessLogEntry(line: #"time="2026-12-06T14:31:28Z" level=info msg="listening""#) == nil)
        #expect(AccessLogEntry(line: "") == nil)
    }
}
